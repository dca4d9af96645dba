// Package noproxy decides which proxy, if any, a server is reached
// through, the way curl decides it: the proxy URL given or the proxy
// variables of the environment (choose.go), and whether the server is in
// the NO_PROXY list (its lib/noproxy.c), so that one environment means
// the same to keepftp and curl. The Client and doctor both ask it.
package noproxy

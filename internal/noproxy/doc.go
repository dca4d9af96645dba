// Package noproxy decides whether a server is reached directly rather than
// through the proxy: it matches a host against a NO_PROXY list the way
// curl does (its lib/noproxy.c), so that one environment means the same to
// keepftp and curl.
package noproxy

package main

import (
	"fmt"
	"net/url"

	"github.com/keepftp/keepftp"
)

// checkURL parses a URL of the command line and completes its login,
// before anything connects. A bad URL, port, user, password or netrc entry
// is a usageError (exit 2) that names the argument (as where, or the URL
// with its password hidden) and what is wrong, never the password.
func checkURL(l *logins, where, raw string) (keepftp.Target, error) {
	if where == "" {
		where = redactURL(raw)
	}
	t, err := keepftp.ParseURL(raw)
	if err != nil {
		return t, usageError{fmt.Sprintf("%s: %v", where, err)}
	}
	if err := l.fill(&t); err != nil {
		return t, usageError{fmt.Sprintf("%s: %v", where, err)}
	}
	return t, nil
}

// redactURL shows a URL from the command line without its password, in its
// escaped form (so %0D%0A stays as typed).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "URL" // it does not parse: the password cannot be told apart
	}
	return u.Redacted()
}

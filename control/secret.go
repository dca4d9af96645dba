package control

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Masking the password in text. A hostile or careless server can echo the
// password it was sent ("530 Login incorrect for password S3cretPW"), and
// that text would reach logs, errors and everything printed from them. The
// Conn knows the password, so it masks it where server text enters: each
// reply's text as it is read, the protocol log, and the errors that quote
// a reply. The reply's exact text stays available inside this package for
// parsing (a 257 path or a 213 size is data, not text to show).

// masked replaces the password, as "PASS ****" does in the log.
const masked = "****"

// minMasked is the shortest password masked in text: a shorter one
// would hide ordinary words and numbers (a password "ftp" in every "ftp"),
// and is no secret worth the name.
const minMasked = 4

// secret holds the forms in which a password can appear in text: as it is,
// percent-encoded (as in a URL) with upper or lower hex digits, and as Go
// quotes it (%q in an error message). Longest first, so that a form is
// never half-replaced by a shorter one.
type secret struct{ forms []string }

// newSecret returns the secret for password, or nil when there is nothing
// to mask (see minMasked).
func newSecret(password string) *secret {
	if len(password) < minMasked {
		return nil
	}
	forms := []string{password, url.PathEscape(password), url.QueryEscape(password),
		strings.TrimPrefix(url.UserPassword("", password).String(), ":")}
	if q := strconv.Quote(password); len(q) > 2 {
		forms = append(forms, q[1:len(q)-1])
	}
	for _, f := range forms[1:] {
		forms = append(forms, lowerHex(f))
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return &secret{forms: slices.Compact(forms)}
}

// lowerHex writes the hex digits of s's percent-escapes in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lower(b[i+1])
			b[i+2] = lower(b[i+2])
		}
	}
	return string(b)
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'F' {
		return b + 'a' - 'A'
	}
	return b
}

// mask returns text with every form of the password replaced by masked.
func (s *secret) mask(text string) string {
	if s == nil {
		return text
	}
	for _, f := range s.forms {
		if strings.Contains(text, f) {
			text = strings.ReplaceAll(text, f, masked)
		}
	}
	return text
}

// maskErr returns err, or when its text holds the password, an error with
// that text masked which still wraps err (errors.Is and As see through it).
func (s *secret) maskErr(err error) error {
	if s == nil || err == nil {
		return err
	}
	if text := err.Error(); s.mask(text) != text {
		return maskedError{text: s.mask(text), err: err} // proxy.go
	}
	return err
}

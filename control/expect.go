package control

import (
	"fmt"
	"slices"
	"strings"
)

// ErrDesync reports a reply that cannot belong to the command it would be
// matched with: a class that command cannot get (a 1xx or a 226 to SIZE, a
// 220 to USER), a reply when no command is waiting, or a 2xx to a
// transfer command before its 1xx. Every later reply would be matched
// with the wrong command, so the connection is closed: a fresh one is the
// only sure way back into step. It wraps ErrMalformedReply.
var ErrDesync = fmt.Errorf("%w: reply out of step with the commands", ErrMalformedReply)

// positive lists, per verb, the only completion and intermediate replies
// (2xx, 3xx) the command can get (RFC 959 5.4, RFC 2389, RFC 2428, RFC
// 3659, RFC 4217), as every real server answers them. Verbs not listed
// may get any 2xx or 3xx but 225 and 226.
var positive = map[string][]int{
	"AUTH": {234, 334},
	"USER": {230, 331, 332},
	"PASS": {202, 230, 332},
	"ACCT": {202, 230},
	"PBSZ": {200},
	"PROT": {200},
	"TYPE": {200},
	"NOOP": {200},
	"FEAT": {211},
	"SIZE": {213},
	"MDTM": {213},
	"HASH": {213},
	"MLST": {250},
	"PWD":  {257},
	"XPWD": {257},
	"MKD":  {257},
	"XMKD": {257},
	"EPSV": {229},
	"PASV": {227},
	"EPRT": {200},
	"PORT": {200},
	"REST": {350},
}

// canAnswer reports whether a reply of code can be the answer to a
// lockstep command verb (not a transfer command). Refusals (4xx, 5xx)
// can answer anything; a 1xx or a 225/226 (data connection closed)
// belongs to a transfer only.
func canAnswer(verb string, code int) bool {
	switch {
	case code >= 400:
		return true
	case code < 200, code == 225, code == 226:
		return false
	}
	if codes, ok := positive[strings.ToUpper(verb)]; ok {
		return slices.Contains(codes, code)
	}
	return true
}

// desyncErr is the error for rep, which cannot answer what it would be
// matched with ("" for nothing: no command was waiting).
func desyncErr(rep Reply, what string) error {
	if what == "" {
		return fmt.Errorf("%w: unsolicited reply %d %s (no command was waiting)", ErrDesync, rep.Code, clip(firstLine(rep.Msg)))
	}
	return fmt.Errorf("%w: %d %s cannot answer %s", ErrDesync, rep.Code, clip(firstLine(rep.Msg)), what)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

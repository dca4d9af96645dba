package control

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Command lines: a command is built from a verb and an argument, both
// checked so that nothing but one command line reaches the wire (CheckArg,
// newCmd), and shown with a secret argument masked (shown).

// ErrInvalidArgument reports a command verb or argument that cannot be
// sent: an argument holding CR, LF or NUL would end the command line early
// and smuggle a second command to the server (a path "x\r\nDELE y" must
// never become a DELE), and a verb must be a plain word. Nothing is written
// when it is returned; the connection stays usable.
var ErrInvalidArgument = errors.New("invalid command argument")

// maxVerb bounds a verb's length. FTP verbs are 3 or 4 letters (RFC 959);
// the longest in use are the X hash commands (XSHA256, XSHA512).
const maxVerb = 8

// CheckArg reports whether value can be sent as (part of) a command
// argument, as what (e.g. "path", "user"): an error wrapping
// ErrInvalidArgument names what and shows value quoted, control bytes
// escaped. Callers may check arguments before connecting; every command
// is checked again when it is built.
func CheckArg(what, value string) error {
	if i := strings.IndexAny(value, "\r\n\x00"); i >= 0 {
		return fmt.Errorf("%w: %s %s holds %s", ErrInvalidArgument, what, strconv.Quote(value), strconv.Quote(value[i:i+1]))
	}
	return nil
}

// checkSecret is CheckArg for a value that must never be shown (a
// password): the error names what, not the value.
func checkSecret(what, value string) error {
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("%w: %s holds CR, LF or NUL", ErrInvalidArgument, what)
	}
	return nil
}

// checkVerb accepts a verb of 1 to maxVerb ASCII letters and digits that
// starts with a letter (digits for XSHA256 and its kin).
func checkVerb(verb string) error {
	ok := len(verb) > 0 && len(verb) <= maxVerb && isLetter(verb[0])
	for i := 0; ok && i < len(verb); i++ {
		ok = isLetter(verb[i]) || '0' <= verb[i] && verb[i] <= '9'
	}
	if !ok {
		return fmt.Errorf("%w: verb %s is not a command word", ErrInvalidArgument, strconv.Quote(verb))
	}
	return nil
}

func isLetter(b byte) bool { return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' }

// command builds the command line for verb and arg ("" for none), without
// the CRLF, or refuses it with ErrInvalidArgument. It is the only way a
// command line is made: every line written to the server passes here.
func command(verb, arg string) (string, error) {
	if err := checkVerb(verb); err != nil {
		return "", err
	}
	if arg == "" {
		return verb, nil
	}
	what := "argument of " + strings.ToUpper(verb)
	if isSecretVerb(verb) {
		if err := checkSecret(what, arg); err != nil {
			return "", err
		}
	} else if err := CheckArg(what, arg); err != nil {
		return "", err
	}
	return verb + " " + arg, nil
}

// isSecretVerb reports a verb whose argument is a secret (PASS, ACCT).
func isSecretVerb(verb string) bool {
	return strings.EqualFold(verb, "PASS") || strings.EqualFold(verb, "ACCT")
}

// shown is the command as logs and errors show it: a secret argument is
// masked.
func shown(verb, arg string) string {
	switch {
	case isSecretVerb(verb):
		return strings.ToUpper(verb) + " ****"
	case arg == "":
		return verb
	}
	return verb + " " + arg
}

// cmdLine is a command ready to write.
type cmdLine struct {
	verb string
	line string // what is written, without the CRLF
	show string // what logs and errors show: secrets masked
}

// newCmd builds a command line from verb and arg ("" for none).
func newCmd(verb, arg string) (cmdLine, error) {
	line, err := command(verb, arg)
	if err != nil {
		return cmdLine{}, err
	}
	return cmdLine{verb: strings.ToUpper(verb), line: line, show: shown(verb, arg)}, nil
}

// fixedCmd is a command of ours with a constant, known-good text.
func fixedCmd(verb, arg string) cmdLine {
	cl, err := newCmd(verb, arg)
	if err != nil {
		panic(err)
	}
	return cl
}

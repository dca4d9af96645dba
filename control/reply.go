package control

import "strings"

// Reply is one complete FTP reply. A multi-line reply's lines are joined
// with "\n" in Msg, without the code prefix on the first and last line.
type Reply struct {
	Code int
	// Msg is the reply's text, with the connection's password masked
	// (secret.go): text to show, log or quote.
	Msg string

	raw string  // the text as sent, when masking changed it: for parsing only
	sec *secret // the password masked in Msg, when it was there
}

// data is the reply's text as the server sent it, for parsers: a path, a
// size, a port or a digest is data, and masking must not change it.
func (r Reply) data() string {
	if r.sec != nil {
		return r.raw
	}
	return r.Msg
}

// hide masks the password in err, an error made from the reply's data (a
// parse error quoting it).
func (r Reply) hide(err error) error { return r.sec.maskErr(err) }

// Class is the reply's first digit: 1 preliminary, 2 completion,
// 3 intermediate, 4 transient failure, 5 permanent failure.
func (r Reply) Class() int { return r.Code / 100 }

// Preliminary reports a 1xx reply: more replies will follow.
func (r Reply) Preliminary() bool { return r.Code >= 100 && r.Code < 200 }

// OK reports a 2xx reply.
func (r Reply) OK() bool { return r.Code >= 200 && r.Code < 300 }

// Lines returns the reply's lines, each trimmed of surrounding space.
func (r Reply) Lines() []string {
	ls := strings.Split(r.Msg, "\n")
	for i := range ls {
		ls[i] = strings.TrimSpace(ls[i])
	}
	return ls
}

// err turns a reply into a *ReplyError for cmd.
func (r Reply) err(cmd string) error {
	return &ReplyError{Cmd: cmd, Code: r.Code, Msg: r.Msg}
}

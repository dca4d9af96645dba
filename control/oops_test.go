package control

import (
	"errors"
	"testing"
)

// vsftpd's "500 OOPS:" past the login ends the session: it is a lost
// connection, not a refusal of the command (nothing learned from it, such
// as "no EPSV"); at the login it stays the refusal it is.
func TestVsftpdOOPSEndsTheSession(t *testing.T) {
	r := Reply{Code: 500, Msg: "OOPS: vsf_sysutil_bind"}
	for _, cmd := range []string{"EPSV", "PASV", "RETR /a", "STOR /b", "SIZE /c"} {
		err := r.err(cmd)
		if !errors.Is(err, ErrConnLost) || IsPermanent(err) {
			t.Errorf("%s: %v: want ErrConnLost, not a permanent refusal", cmd, err)
		}
	}
	for _, cmd := range []string{"PASS ****", "USER ftp", ""} {
		if err := r.err(cmd); !IsPermanent(err) {
			t.Errorf("%q: %v: want a permanent refusal", cmd, err)
		}
	}
	if err := (Reply{Code: 500, Msg: "Unknown command."}).err("EPSV"); !IsPermanent(err) {
		t.Errorf("a plain 500: %v: want a permanent refusal", err)
	}
}

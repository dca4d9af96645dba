package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepftp/keepftp"
)

const netrcSample = `machine other.example login bob password bobpw
macdef init
  cd /pub
  binary

machine ftp.example
  login alice
  password alice-pw
default login anon password anonpw
`

func TestParseNetrc(t *testing.T) {
	if e, ok := parseNetrc(netrcSample, "ftp.example"); !ok || e.login != "alice" || e.password != "alice-pw" {
		t.Errorf("ftp.example: %+v %v", e, ok)
	}
	if e, ok := parseNetrc(netrcSample, "other.example"); !ok || e.login != "bob" || e.password != "bobpw" {
		t.Errorf("other.example: %+v %v", e, ok)
	}
	if e, ok := parseNetrc(netrcSample, "unknown"); !ok || e.login != "anon" {
		t.Errorf("default: %+v %v", e, ok)
	}
	if _, ok := parseNetrc("machine a login b", "c"); ok {
		t.Error("no default, no match: want none")
	}
}

// FuzzParseNetrc: any file, any host: no panic, no entry invented, and a
// login or password is always one whole token of the file (never spanning
// whitespace, so never a CR or LF). Seeds: testdata/fuzz/FuzzParseNetrc.
func FuzzParseNetrc(f *testing.F) {
	f.Add(netrcSample, "ftp.example")
	f.Add("machine", "x")
	f.Add("default login", "")
	f.Fuzz(func(t *testing.T, data, host string) {
		e, ok := parseNetrc(data, host)
		if !ok && (e.login != "" || e.password != "") {
			t.Errorf("no entry but %+v", e)
		}
		for _, v := range []string{e.login, e.password} {
			if strings.ContainsAny(v, " \t\r\n") {
				t.Errorf("a token with whitespace: %q", v)
			}
			if v != "" && !strings.Contains(data, v) {
				t.Errorf("%q is not in the file", v)
			}
		}
	})
}

func TestFillCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	os.WriteFile(netrc, []byte("machine h login carol password carolpw\n"), 0o600)
	env := map[string]string{"HOME": dir}
	l := &logins{netrcFile: netrc, env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tg := keepftp.Target{Addr: "h:21", Path: "/f"}
	if err := l.complete(&tg); err != nil || tg.User != "carol" || tg.Password != "carolpw" {
		t.Errorf("netrc: %+v %v", tg, err)
	}
	env["KEEPFTP_PASSWORD"] = "envpw"
	tg = keepftp.Target{Addr: "h:21", User: "dave"}
	if err := l.complete(&tg); err != nil || tg.Password != "envpw" {
		t.Errorf("env: %+v %v", tg, err)
	}
	// Without --netrc-file, the run's HOME says where ~/.netrc is.
	os.WriteFile(filepath.Join(dir, ".netrc"), []byte("machine h login erin password erinpw\n"), 0o600)
	delete(env, "KEEPFTP_PASSWORD")
	l.netrcFile = ""
	tg = keepftp.Target{Addr: "h:21"}
	if err := l.complete(&tg); err != nil || tg.User != "erin" || tg.Password != "erinpw" {
		t.Errorf("~/.netrc: %+v %v", tg, err)
	}
}

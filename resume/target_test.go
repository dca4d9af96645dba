package resume

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/control"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]Target{
		"ftp://h/f":                   {Addr: "h:21", Path: "/f"},
		"ftp://u:p%40ss@h:2121/a/b c": {Addr: "h:2121", User: "u", Password: "p@ss", Path: "/a/b c"},
		"ftps://h/x":                  {Addr: "h:990", Path: "/x", TLSMode: control.TLSImplicit},
		"ftpes://[::1]/x":             {Addr: "[::1]:21", Path: "/x", TLSMode: control.TLSExplicit},
		"ftp://h":                     {Addr: "h:21", Path: "/"},
	} {
		got, err := ParseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"http://h/f", "ftp:///f", "ftp://u:secret@h:99999999/%zz", "ftp://h:0/f", "ftp://u:secret@h:99999/f",
		"ftp://h:-1/f", "f", "", "ftp://u:secret@h/up/x%0D%0ADELE%20/up/victim", "ftp://u:secret@h/a%00b", "ftp://u:secret@h/a%0Ab",
		"ftp://u%0D%0ADELE%20x:secret@h/f", "ftp://u:sec%0Aret@h/f", "ftp://u:secret@h/dir/*%0D%0A", "ftp://u:secret@h\r\n/f"} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		} else if !errors.Is(err, ErrBadURL) {
			t.Errorf("ParseURL(%q): %v, want ErrBadURL", bad, err)
		} else if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec\nret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if s := (Target{Addr: "h:21", User: "u", Password: "secret", Path: "/f"}).String(); strings.Contains(s, "secret") {
		t.Errorf("String shows the password: %s", s)
	}
}

// FuzzParseURL: whatever the input, ParseURL either refuses it with
// ErrBadURL or returns a target that can go on the wire: no CR, LF or NUL
// in any part, a port in 1-65535, and a String that never shows the
// password. Seeds: testdata/fuzz/FuzzParseURL.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"ftp://h/f", "ftp://u:p%40ss@h:2121/a/b c", "ftpes://[::1]/x", "ftp://u:p@h/up/x%0D%0ADELE%20/up/victim", "ftp://h:99999/f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("error %v is not ErrBadURL", err)
			}
			return
		}
		for _, v := range []string{tg.Addr, tg.User, tg.Password, tg.Path} {
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("%q: a part holds CR, LF or NUL: %+v", raw, tg)
			}
		}
		host, port, err := net.SplitHostPort(tg.Addr)
		if err != nil || host == "" {
			t.Fatalf("%q: address %q: %v", raw, tg.Addr, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("%q: port %q", raw, port)
		}
		if tg.Password != "" && strings.Contains(tg.String(), ":"+tg.Password+"@") {
			t.Fatalf("%q: String shows the password: %s", raw, tg.String())
		}
	})
}

package resume

import (
	"strings"
	"testing"

	"github.com/keepftp/keepftp/control"
)

func TestParseURL(t *testing.T) {
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
	for _, bad := range []string{"http://h/f", "ftp:///f", "ftp://u:secret@h:99999999/%zz"} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if s := (Target{Addr: "h:21", User: "u", Password: "secret", Path: "/f"}).String(); strings.Contains(s, "secret") {
		t.Errorf("String shows the password: %s", s)
	}
}

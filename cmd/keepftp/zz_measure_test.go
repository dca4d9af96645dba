package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/keepftp/keepftp/internal/ftptest"
)

func TestZZMeasureLs(t *testing.T) {
	bin := os.Getenv("KF_BIN")
	if bin == "" {
		t.Skip()
	}
	for _, tc := range []struct {
		name string
		mlsd bool
		size int
	}{{"mlsd-70MiB", true, 70 << 20}, {"mlsd-60MiB", true, 60 << 20}, {"list-60MiB", false, 60 << 20}} {
		var b bytes.Buffer
		for i := 0; b.Len() < tc.size; i++ {
			if tc.mlsd {
				fmt.Fprintf(&b, "type=file;size=%d;modify=20240101000000;unique=%x; file-%08d.dat\r\n", i, i, i)
			} else {
				fmt.Fprintf(&b, "-rw-r--r-- 1 ftp ftp %d Jan  1  2024 file-%08d.dat\r\n", i, i)
			}
		}
		data := b.Bytes()
		f := ftptest.StartFake(t)
		f.MLST = tc.mlsd
		f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
			if verb == "MLSD" || verb == "LIST" {
				s.SendData(data, "")
				return true
			}
			return false
		}
		cmd := exec.Command("/usr/bin/time", "-v", bin, "ls", "ftp://"+f.Addr()+"/d")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		rss := ""
		for _, l := range strings.Split(errb.String(), "\n") {
			if strings.Contains(l, "Maximum resident") || strings.Contains(l, "Elapsed") || strings.Contains(l, "keepftp:") || strings.Contains(l, "Exit status") {
				rss += strings.TrimSpace(l) + "; "
			}
		}
		t.Logf("%s: %v, %d lines out; %s", tc.name, err, strings.Count(out.String(), "\n"), rss)
	}
}

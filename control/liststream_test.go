package control

import (
	"errors"
	"github.com/keepftp/keepftp/internal/ftptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestListFuncStreams: each line's entry reaches fn as the line arrives,
// before the listing ends; a bad line and a line too long to hold reach
// it as errors that name them, between the good ones, and the listing
// still succeeds. List gives the same entries with the bad lines' error.
func TestListFuncStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		firsts := []chan struct{}{make(chan struct{}), make(chan struct{})}
		lines := []string{
			"-rw-r--r-- 1 0 0 12 Jan  2  2006 one\r\n",
			"<html>not a listing</html>\r\n",
			"-rw-r--r-- 1 0 0 12 Jan  2  2006 " + strings.Repeat("x", maxListLine) + "\r\n",
			"-rw-r--r-- 1 0 0 12 Jan  2  2006 two\r\n",
		}
		go func() {
			for _, first := range firsts {
				d := openList(fs, "LIST /pub")
				d.Write([]byte(lines[0]))
				<-first // the client has the first entry while the data still flows
				for _, l := range lines[1:] {
					d.Write([]byte(l))
				}
				d.Close()
				fs.Send("226 done")
			}
		}()
		var got []string
		err := c.ListFunc(t.Context(), "/pub", func(e Entry, err error) error {
			switch {
			case err == nil:
				got = append(got, e.Name)
				if e.Name == "one" {
					close(firsts[0])
				}
			case errors.Is(err, ErrBadListing):
				got = append(got, err.Error()[:min(len(err.Error()), 17)])
			default:
				t.Errorf("fn got %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ListFunc: %v", err)
		}
		want := []string{"one", `LIST /pub: line 2`, `LIST /pub: line 3`, "two"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("fn saw %q, want %q", got, want)
		}
		close(firsts[1]) // List hands nothing over before the end
		es, err := c.List(t.Context(), "/pub")
		if len(es) != 2 || !errors.Is(err, ErrBadListing) || !strings.Contains(err.Error(), "longer than") {
			t.Errorf("List = %d entries, %v; want 2 and the bad lines named", len(es), err)
		}
	})
}

// TestListFuncStop: an error from fn stops the listing (ABOR) and is what
// ListFunc returns; the connection stays usable.
func TestListFuncStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /pub")
			go d.Write([]byte(strings.Repeat(vsftpdListing, 1000))) // fails when the client closes
			fs.Expect("ABOR")
			fs.Send("426 Transfer aborted.", "226 ABOR successful.")
			fs.Serve("PWD", `257 "/"`)
			fs.Serve("NOOP", "200 NOOP ok.")
		}()
		errEnough := errors.New("enough")
		n := 0
		err := c.ListFunc(t.Context(), "/pub", func(Entry, error) error {
			n++
			return errEnough
		})
		if err != errEnough || n != 1 {
			t.Errorf("ListFunc = %v after %d entries, want fn's error after 1", err, n)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("next command: %v", err)
		}
	})
}

package control

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
)

func TestCommandBuilder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		verb, arg string
		want      string // "" = refused
	}{
		{"NOOP", "", "NOOP"},
		{"RETR", "/a b/ü.txt", "RETR /a b/ü.txt"},
		{"XSHA256", "/f", "XSHA256 /f"},
		{"OPTS", "HASH SHA-256", "OPTS HASH SHA-256"},
		{"RETR", "x\r\nDELE /victim", ""},
		{"RETR", "x\nDELE /victim", ""},
		{"RETR", "x\rDELE /victim", ""},
		{"RETR", "x\x00y", ""},
		{"PASS", "se\ncret", ""},
		{"", "x", ""},
		{"RE TR", "x", ""},
		{"RETR\r\n", "", ""},
		{"DELE\x00", "", ""},
		{"1RETR", "", ""},
		{"R-TR", "", ""},
		{"TOOLONGVERB", "", ""},
	} {
		got, err := command(tc.verb, tc.arg)
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("command(%q, %q) = %q, %v; want ErrInvalidArgument", tc.verb, tc.arg, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("command(%q, %q) = %q, %v; want %q", tc.verb, tc.arg, got, err, tc.want)
		}
	}
}

func TestCheckArgNamesWhatAndEscapes(t *testing.T) {
	t.Parallel()
	err := CheckArg("path", "x\r\nDELE /v")
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("err = %v, want ErrInvalidArgument", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "path") || !strings.Contains(msg, strconv.Quote("x\r\nDELE /v")) {
		t.Errorf("error %q does not name the path and show it escaped", msg)
	}
	if strings.ContainsAny(msg, "\r\n\x00") {
		t.Errorf("error %q holds raw control bytes", msg)
	}
	if err := CheckArg("path", "/ok/ü"); err != nil {
		t.Errorf("CheckArg of a plain path: %v", err)
	}
}

// TestInjectionNeverReachesTheServer gives every command that takes a path
// a path with CR, LF or NUL, over real TCP: each is refused with
// ErrInvalidArgument, nothing of it reaches the server, and the connection
// stays usable.
func TestInjectionNeverReachesTheServer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string // commands after login
	quit := make(chan struct{})
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		fs.Login()
		for {
			cmd, err := fs.TryReadCmd()
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, cmd)
			mu.Unlock()
			switch cmd {
			case "NOOP":
				fs.Send("200 ok")
			case "QUIT":
				close(quit)
				return
			default:
				fs.Send("500 unexpected")
			}
		}
	})
	ctx := t.Context()
	c, err := Dial(ctx, addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, bad := range []string{"x\r\nDELE /victim", "x\nDELE /victim", "x\rDELE /victim", "x\x00DELE /victim"} {
		calls := map[string]func() error{
			"Size":    func() error { _, err := c.Size(ctx, bad); return err },
			"ModTime": func() error { _, err := c.ModTime(ctx, bad); return err },
			"Mlst":    func() error { _, err := c.Mlst(ctx, bad); return err },
			"Mkdir":   func() error { return c.Mkdir(ctx, bad) },
			"Delete":  func() error { return c.Delete(ctx, bad) },
			"RmDir":   func() error { return c.RemoveDir(ctx, bad) },
			"Cwd":     func() error { return c.ChangeDir(ctx, bad) },
			"Hash":    func() error { _, err := c.Hash(ctx, SHA256, bad); return err },
			"List":    func() error { _, err := c.List(ctx, bad); return err },
			"Cmd":     func() error { _, err := c.Cmd(ctx, 2, "DELE", bad); return err },
			"RETR":    func() error { _, err := c.StartTransfer(ctx, "RETR", bad, 0); return err },
			"STOR":    func() error { _, err := c.StartTransfer(ctx, "STOR", bad, 10); return err },
			"verb":    func() error { _, err := c.Cmd(ctx, 2, bad, ""); return err },
		}
		for name, call := range calls {
			err := call()
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s(%q): err = %v, want ErrInvalidArgument", name, bad, err)
				continue
			}
			if !strings.Contains(err.Error(), strconv.Quote(bad)) {
				t.Errorf("%s(%q): error %q does not show the value escaped", name, bad, err)
			}
		}
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatalf("the connection is no longer usable: %v", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	select { // Quit does not wait for the server
	case <-quit:
	case <-ctx.Done():
		t.Fatal("the server never got QUIT")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "|") != "NOOP|QUIT" {
		t.Errorf("server saw %q, want only NOOP and QUIT", seen)
	}
}

// TestBadCredentialsRefusedBeforeDialling: a user name or password with CR,
// LF or NUL is refused before any connection is made, the error names the
// field, and the password's value never shows.
func TestBadCredentialsRefusedBeforeDialling(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	sessions := 0
	addr := ftptest.ServeTCP(t, func(fs *ftptest.Server) {
		mu.Lock()
		sessions++
		mu.Unlock()
		fs.Login()
		fs.Serve("QUIT", "221 bye")
	})
	for _, tc := range []struct{ user, pass, what string }{
		{"alice\r\nDELE /victim", "pw", "user"},
		{"alice\x00", "pw", "user"},
		{"alice", "pw\r\nDELE /victim", "password"},
		{"alice", "pw\nSITE x", "password"},
		{"alice", "pw\x00", "password"},
	} {
		_, err := Dial(t.Context(), addr, Config{User: tc.user, Password: tc.pass, Timeout: 5 * time.Second})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Dial(%q, %q): err = %v, want ErrInvalidArgument", tc.user, tc.pass, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.what) {
			t.Errorf("Dial(%q, %q): error %q does not name the %s", tc.user, tc.pass, msg, tc.what)
		}
		if strings.Contains(msg, "pw") || strings.Contains(msg, "DELE") && tc.what == "password" {
			t.Errorf("Dial: error %q shows the password", msg)
		}
	}
	// A good dial now: had any bad one connected, its session would have
	// been accepted first.
	c, err := Dial(t.Context(), addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Errorf("Quit: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if sessions != 1 {
		t.Errorf("server saw %d sessions, want 1 (the good one)", sessions)
	}
}

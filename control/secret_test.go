package control

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// echoPass is a password with characters that change form when
// percent-encoded or quoted.
const echoPass = `S3cret"PW/+&x`

// TestEchoedPasswordMasked: a server that echoes the password, as it is,
// percent-encoded or quoted, in its greeting, login reply, error replies,
// malformed replies, an unsolicited 421 and a line that is no reply at
// all, gets it shown in no log line and no error; the data a parser takes
// from a reply (a path) is still exact.
func TestEchoedPasswordMasked(t *testing.T) {
	forms := []string{echoPass, "S3cret%22PW%2F%2B%26x", "S3cret%22PW%2f%2b%26x", `S3cret\"PW/+&x`}
	check := func(t *testing.T, what string, texts []string) {
		t.Helper()
		for _, s := range texts {
			if strings.Contains(s, "S3cret") {
				t.Errorf("%s shows the password: %q", what, s)
			}
		}
	}
	var mu sync.Mutex
	var log []string
	logf := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf(f, a...))
	}
	login := func(fs *ftptest.Server) {
		fs.Send("220 welcome back, " + forms[1])
		fs.Serve("USER alice", "331 password please")
		fs.Serve("PASS "+echoPass, "230 logged in as alice with password "+echoPass)
		fs.Serve("FEAT", "211-Features:", " SIZE", " MDTM", "211 End")
		fs.Serve("TYPE I", "200 binary, "+forms[3])
	}
	dial := func(t *testing.T) (*ftptest.Server, *Conn) {
		fs, dial := ftptest.New(t)
		done := make(chan struct{})
		go func() { login(fs); close(done) }()
		c, err := Dial(t.Context(), "127.0.0.1:21", Config{User: "alice", Password: echoPass, Timeout: time.Minute, DialContext: dial, Logf: logf})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		<-done
		t.Cleanup(func() { c.Close() })
		return fs, c
	}

	t.Run("refused login", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fs, dial := ftptest.New(t)
			go func() {
				fs.Send("220 hi")
				fs.Serve("USER alice", "331 pw")
				fs.Serve("PASS "+echoPass, "530 Login incorrect for password "+echoPass)
			}()
			_, err := Dial(t.Context(), "127.0.0.1:21", Config{User: "alice", Password: echoPass, Timeout: time.Minute, DialContext: dial, Logf: logf})
			if !IsCode(err, 530) {
				t.Fatalf("err = %v, want 530", err)
			}
			var re *ReplyError
			errors.As(err, &re)
			check(t, "the error", []string{err.Error(), re.Msg, re.Cmd})
		})
	})
	t.Run("session", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fs, c := dial(t)
			check(t, "the greeting", []string{c.Greeting()})
			ctx := t.Context()
			var errs []error
			go fs.Serve("SIZE a", "550 a: no such file, "+forms[2])
			_, err := c.Size(ctx, "a")
			errs = append(errs, err)
			go fs.Serve("SIZE b", "213 "+echoPass)
			_, err = c.Size(ctx, "b")
			errs = append(errs, err)
			go fs.Serve("MDTM b", "213 "+forms[1])
			_, err = c.ModTime(ctx, "b")
			errs = append(errs, err)
			go fs.Serve("PWD", `257 "/home/`+forms[1]+`" is where you are`)
			dir, err := c.Pwd(ctx)
			if err != nil || dir != "/home/"+forms[1] {
				t.Errorf("PWD = %q, %v; want the exact path from the reply", dir, err)
			}
			go fs.Serve("NOOP", "200 "+echoPass)
			if err := c.Noop(ctx); err != nil {
				t.Errorf("NOOP: %v", err)
			}
			// A reply no command waits for, and then a line that is no reply.
			go fs.Send("299 hello " + echoPass)
			<-c.Done()
			errs = append(errs, c.Err())
			for _, err := range errs {
				if err == nil {
					t.Fatal("a refused or malformed reply gave no error")
				}
				check(t, "an error", []string{err.Error()})
			}
			if !errors.Is(errs[1], ErrMalformedReply) {
				t.Errorf("malformed SIZE: %v, want ErrMalformedReply still seen through the mask", errs[1])
			}
		})
	})
	t.Run("not a reply", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fs, c := dial(t)
			go fs.Send(strings.Repeat("x", 70) + echoPass + " is no reply line")
			<-c.Done()
			check(t, "the connection's error", []string{c.Err().Error()})
		})
	})
	t.Run("closing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fs, c := dial(t)
			fs.Send("421 closing, " + echoPass)
			fs.Ctrl.Close()
			<-c.Done()
			_, err := c.Cmd(context.Background(), 0, "NOOP", "")
			check(t, "the connection's error", []string{c.Err().Error(), fmt.Sprint(err)})
		})
	})
	t.Run("over TLS", func(t *testing.T) {
		serverTLS, roots, err := testserver.SelfSignedTLS()
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(nc)
			fmt.Fprint(nc, "220 hi\r\n")
			r.ReadString('\n') // AUTH TLS
			fmt.Fprint(nc, "234 go ahead\r\n")
			tc := tls.Server(nc, serverTLS)
			if tc.Handshake() != nil {
				return
			}
			r = bufio.NewReader(tc)
			r.ReadString('\n') // USER
			fmt.Fprint(tc, "331 password please\r\n")
			pass, _ := r.ReadString('\n')
			fmt.Fprintf(tc, "530 Login incorrect for password %s\r\n", strings.TrimSpace(strings.TrimPrefix(pass, "PASS ")))
			r.ReadString('\n') // QUIT, or the end
		}()
		_, err = Dial(t.Context(), ln.Addr().String(), Config{User: "alice", Password: echoPass, Timeout: 10 * time.Second,
			TLSMode: TLSExplicit, TLS: &tls.Config{RootCAs: roots}, Logf: logf})
		if !IsCode(err, 530) {
			t.Fatalf("err = %v, want the 530", err)
		}
		check(t, "the error", []string{err.Error()})
	})
	mu.Lock()
	defer mu.Unlock()
	if len(log) < 10 {
		t.Fatalf("only %d log lines: the protocol log was not on", len(log))
	}
	check(t, "the protocol log", log)
}

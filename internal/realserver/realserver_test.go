package realserver

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ---- a raw FTP client, enough to see exactly what the servers send ----

type reply struct {
	code int
	msg  string
	at   int64 // data bytes the client had read when the reply arrived
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.code, firstLine(r.msg)) }

type client struct {
	t    testing.TB
	s    *Server
	conn net.Conn
	r    *textproto.Reader
}

func dial(t testing.TB, s *Server) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	c := &client{t: t, s: s, conn: conn, r: textproto.NewReader(bufio.NewReader(conn))}
	t.Cleanup(func() { conn.Close() })
	c.expect(220)
	return c
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.s.Kind, fmt.Sprintf(format, args...), err)
	}
}

func (c *client) read() (reply, error) {
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	code, msg, err := c.r.ReadResponse(0)
	return reply{code: code, msg: msg}, err
}

// expect reads one reply and fails unless its code is one of codes.
func (c *client) expect(codes ...int) reply {
	c.t.Helper()
	r, err := c.read()
	if err != nil {
		c.t.Fatalf("%s: reading reply: %v\n%s", c.s.Kind, err, c.s.Logs())
	}
	for _, code := range codes {
		if r.code == code {
			return r
		}
	}
	c.t.Fatalf("%s: got reply %q, want %v", c.s.Kind, r, codes)
	return r
}

func (c *client) cmd(line string, codes ...int) reply {
	c.t.Helper()
	c.send("%s", line)
	return c.expect(codes...)
}

func (c *client) login() {
	c.t.Helper()
	user, pass := c.s.Login()
	if r := c.cmd("USER "+user, 230, 331); r.code == 331 {
		c.cmd("PASS "+pass, 230)
	}
	c.cmd("TYPE I", 200)
}

var epsvRe = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// epsv opens a data connection with EPSV.
func (c *client) epsv() net.Conn {
	c.t.Helper()
	r := c.cmd("EPSV", 229)
	m := epsvRe.FindStringSubmatch(r.msg)
	if m == nil {
		c.t.Fatalf("%s: cannot parse EPSV reply %q", c.s.Kind, r.msg)
	}
	host, _, _ := net.SplitHostPort(c.s.Addr)
	return c.dialData(net.JoinHostPort(host, m[1]))
}

var pasvRe = regexp.MustCompile(`(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)`)

// pasv opens a data connection with PASV (IPv4 only).
func (c *client) pasv() net.Conn {
	c.t.Helper()
	r := c.cmd("PASV", 227)
	m := pasvRe.FindStringSubmatch(r.msg)
	if m == nil {
		c.t.Fatalf("%s: cannot parse PASV reply %q", c.s.Kind, r.msg)
	}
	p1, _ := strconv.Atoi(m[5])
	p2, _ := strconv.Atoi(m[6])
	host := strings.Join(m[1:5], ".")
	if host != "127.0.0.1" {
		c.t.Errorf("%s: PASV gave host %s, want 127.0.0.1", c.s.Kind, host)
	}
	return c.dialData(net.JoinHostPort(host, strconv.Itoa(p1*256+p2)))
}

func (c *client) dialData(addr string) net.Conn {
	c.t.Helper()
	port, _ := strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if port < c.s.PassivePorts[0] || port > c.s.PassivePorts[1] {
		c.t.Errorf("%s: passive port %d outside %v", c.s.Kind, port, c.s.PassivePorts)
	}
	d, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		c.t.Fatalf("%s: data dial %s: %v", c.s.Kind, addr, err)
	}
	c.t.Cleanup(func() { d.Close() })
	return d
}

// retr downloads remote over data (opened before).
func (c *client) retr(data net.Conn, remote string) []byte {
	c.t.Helper()
	c.send("RETR %s", remote)
	c.expect(125, 150)
	data.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(data)
	if err != nil {
		c.t.Fatalf("%s: reading data: %v", c.s.Kind, err)
	}
	data.Close() // proftpd holds its 226 until the client closes
	c.expect(226, 250)
	return got
}

func (c *client) stor(data net.Conn, remote string, content []byte) {
	c.t.Helper()
	c.send("STOR %s", remote)
	c.expect(125, 150)
	data.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := data.Write(content); err != nil {
		c.t.Fatalf("%s: writing data: %v", c.s.Kind, err)
	}
	data.Close()
	c.expect(226, 250)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func forEachKind(t *testing.T, f func(t *testing.T, kind Kind)) {
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}

// ---- tests ----

func TestRetrStor(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind Kind) {
		s := Start(t, kind, Options{})
		if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
			t.Errorf("Addr = %q, want 127.0.0.1:port", s.Addr)
		}
		fixture := randomBytes(300_000, 1)
		if err := s.WriteFile("/dir/fixture.bin", fixture); err != nil {
			t.Fatal(err)
		}
		c := dial(t, s)
		c.login()

		// RETR over EPSV.
		got := c.retr(c.epsv(), "/dir/fixture.bin")
		if !bytes.Equal(got, fixture) {
			t.Fatalf("RETR over EPSV: got %d bytes, want the %d-byte fixture", len(got), len(fixture))
		}
		// RETR over PASV.
		got = c.retr(c.pasv(), "/dir/fixture.bin")
		if !bytes.Equal(got, fixture) {
			t.Fatalf("RETR over PASV: got %d bytes, want the %d-byte fixture", len(got), len(fixture))
		}

		// STOR into UploadDir, over EPSV and PASV, read back from disk.
		for i, open := range []func() net.Conn{c.epsv, c.pasv} {
			up := randomBytes(200_000+i, uint64(10+i))
			remote := path.Join(s.UploadDir, fmt.Sprintf("up%d.bin", i))
			c.stor(open(), remote, up)
			back, err := s.ReadFile(remote)
			if err != nil {
				t.Fatalf("ReadFile(%s) after STOR: %v", remote, err)
			}
			if !bytes.Equal(back, up) {
				t.Fatalf("STOR %s: file has %d bytes, want the %d sent", remote, len(back), len(up))
			}
			// The uploaded file can be downloaded again.
			if got := c.retr(c.epsv(), remote); !bytes.Equal(got, up) {
				t.Fatalf("RETR of uploaded %s: got %d bytes, want %d", remote, len(got), len(up))
			}
		}
		c.cmd("QUIT", 221)
		if !strings.Contains(s.Logs(), "--- output of") {
			t.Errorf("Logs() = %q", s.Logs())
		}
	})
}

// expectedNoop is what the servers did with a NOOP during RETR (the table
// "NOOP during RETR" in docs/servers.md).
var expectedNoop = map[Kind]struct {
	code       int
	before226  bool
	whatItSays string
}{
	Vsftpd:    {200, false, "no reply until the end; then 226, then 200"},
	Proftpd:   {200, false, "same as vsftpd"},
	PureFTPd:  {500, true, "answered at once with 500 Unknown command, then 226"},
	Pyftpdlib: {200, true, "answered at once with 200, then 226"},
}

// TestNoopDuringRetr sends one NOOP during a 20 MiB download that the client
// reads slowly, and checks where its reply lands against expectedNoop.
func TestNoopDuringRetr(t *testing.T) {
	t.Parallel()
	const size = 20 << 20
	big := randomBytes(size, 7)
	forEachKind(t, func(t *testing.T, kind Kind) {
		s := Start(t, kind, Options{})
		if err := s.WriteFile("/big.bin", big); err != nil {
			t.Fatal(err)
		}
		c := dial(t, s)
		c.login()
		data := c.epsv()
		c.send("RETR /big.bin")
		c.expect(125, 150)

		// From here a goroutine reads the control connection, noting how
		// many data bytes had been read when each reply came.
		var nread atomic.Int64
		replies := make(chan reply, 16)
		readErr := make(chan error, 1)
		go func() {
			for {
				r, err := c.read()
				if err != nil {
					readErr <- err
					close(replies)
					return
				}
				r.at = nread.Load()
				replies <- r
			}
		}()

		// Read the data at about 10 MiB/s; NOOP once 1 MiB is in.
		h := sha256.New()
		buf := make([]byte, 256<<10)
		sentNoop := false
		data.SetReadDeadline(time.Now().Add(60 * time.Second))
		startRead := time.Now()
		for {
			n, err := data.Read(buf)
			h.Write(buf[:n])
			total := nread.Add(int64(n))
			if !sentNoop && total >= 1<<20 {
				c.send("NOOP")
				sentNoop = true
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading data after %d bytes: %v", total, err)
			}
			if want := time.Duration(total) * time.Second / (10 << 20); time.Since(startRead) < want {
				time.Sleep(want - time.Since(startRead))
			}
		}
		data.Close()
		readTime := time.Since(startRead)
		if nread.Load() != size {
			t.Fatalf("read %d bytes, want %d", nread.Load(), size)
		}
		want := sha256.Sum256(big)
		if !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatal("downloaded data differs from the fixture")
		}

		// Collect the transfer's final reply and the NOOP's.
		var got []reply
		timeout := time.After(30 * time.Second)
		for len(got) < 2 {
			select {
			case r, ok := <-replies:
				if !ok {
					t.Fatalf("control connection: %v after replies %v", <-readErr, got)
				}
				got = append(got, r)
			case <-timeout:
				t.Fatalf("only replies %v within 30 s", got)
			}
		}
		// Resynchronise as keepftp does: PWD, and discard up to its 257.
		c.send("PWD")
		for resync := false; !resync; {
			select {
			case r, ok := <-replies:
				if !ok {
					t.Fatalf("control connection: %v while waiting for 257", <-readErr)
				}
				if r.code == 257 {
					resync = true
				} else {
					t.Errorf("extra reply before PWD's 257: %v", r)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no 257 for PWD within 10 s")
			}
		}

		i226 := -1
		var noop reply
		for i, r := range got {
			if r.code == 226 && i226 < 0 {
				i226 = i
			} else {
				noop = r
			}
		}
		if i226 < 0 {
			t.Fatalf("no 226 among %v", got)
		}
		before := i226 == 1
		order := "after"
		if before {
			order = "before"
		}
		t.Logf("%s: NOOP sent after 1 MiB of %d MiB read in %v: replies %q then %q; "+
			"NOOP's reply %d came %s the 226 (at %d bytes read; 226 at %d bytes)",
			kind, size>>20, readTime.Round(time.Millisecond), got[0], got[1],
			noop.code, order, noop.at, got[i226].at)

		exp := expectedNoop[kind]
		if noop.code != exp.code || before != exp.before226 {
			t.Errorf("%s: NOOP reply %d %s 226; observed before: %s", kind, noop.code, order, exp.whatItSays)
		}
		if exp.before226 && noop.at >= size {
			t.Errorf("%s: NOOP answered only after all data was read (at %d bytes), it was answered at once before", kind, noop.at)
		}
		c.send("QUIT")
	})
}

func TestIPv6EPSV(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, kind Kind) {
		if err := Check(kind, Options{IPv6: true}); errors.Is(err, ErrNoIPv6) {
			t.Skipf("skipping IPv6: %v", err)
		}
		s := Start(t, kind, Options{IPv6: true})
		if !strings.HasPrefix(s.Addr, "[::1]:") {
			t.Errorf("Addr = %q, want [::1]:port", s.Addr)
		}
		fixture := randomBytes(100_000, 3)
		if err := s.WriteFile("/v6.bin", fixture); err != nil {
			t.Fatal(err)
		}
		c := dial(t, s)
		c.login()
		if got := c.retr(c.epsv(), "/v6.bin"); !bytes.Equal(got, fixture) {
			t.Fatalf("RETR over IPv6 EPSV: got %d bytes, want %d", len(got), len(fixture))
		}
		up := randomBytes(50_000, 4)
		remote := path.Join(s.UploadDir, "v6up.bin")
		c.stor(c.epsv(), remote, up)
		if back, err := s.ReadFile(remote); err != nil || !bytes.Equal(back, up) {
			t.Fatalf("STOR over IPv6: ReadFile: %d bytes, %v; want %d bytes", len(back), err, len(up))
		}
		c.cmd("QUIT", 221)
	})
}

func TestProftpdDigest(t *testing.T) {
	t.Parallel()
	s := Start(t, Proftpd, Options{Digest: true})
	fixture := randomBytes(123_456, 5)
	if err := s.WriteFile("/hash.bin", fixture); err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	c.login()
	feat := c.cmd("FEAT", 211)
	if !strings.Contains(feat.msg, "HASH") {
		t.Fatalf("FEAT lacks HASH with Digest on:\n%s", feat.msg)
	}
	c.cmd("OPTS HASH SHA-256", 200)
	r := c.cmd("HASH /hash.bin", 213)
	sum := sha256.Sum256(fixture)
	if !strings.Contains(strings.ToLower(r.msg), hex.EncodeToString(sum[:])) {
		t.Fatalf("HASH reply %q lacks the SHA-256 %x", r.msg, sum)
	}
	t.Logf("HASH reply: 213 %s", r.msg)

	// Without Digest, no HASH.
	plain := Start(t, Proftpd, Options{})
	c2 := dial(t, plain)
	c2.login()
	if feat := c2.cmd("FEAT", 211); strings.Contains(feat.msg, "HASH") {
		t.Errorf("FEAT has HASH without Digest:\n%s", feat.msg)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	for _, kind := range []Kind{Vsftpd, Proftpd} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := Start(t, kind, Options{IdleTimeout: 2 * time.Second})
			c := dial(t, s)
			c.login()
			start := time.Now()
			c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			code, msg, err := c.r.ReadResponse(0)
			waited := time.Since(start)
			switch {
			case err == nil && code == 421:
				t.Logf("%s: %d %s after %v idle", kind, code, msg, waited.Round(100*time.Millisecond))
			case errors.Is(err, io.EOF):
				t.Logf("%s: closed without 421 after %v idle", kind, waited.Round(100*time.Millisecond))
			default:
				t.Fatalf("%s: after %v idle: %d %q %v, want 421 or a close", kind, waited, code, msg, err)
			}
			if waited < time.Second || waited > 10*time.Second {
				t.Errorf("%s: idle timeout of 2 s fired after %v", kind, waited)
			}
		})
	}
}

func TestCheckNotInstalled(t *testing.T) {
	t.Setenv("KEEPFTP_SERVERS_DIR", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	err := Check(Vsftpd, Options{})
	if _, statErr := locateAt("/usr/sbin/vsftpd"); statErr == nil {
		t.Skip("vsftpd installed in /usr/sbin too: cannot hide it")
	}
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("Check with nothing installed = %v, want ErrNotInstalled naming %q", err, InstallHint)
	}
}

func locateAt(p string) (string, error) {
	if findFirst(p) == "" {
		return "", errors.New("absent")
	}
	return p, nil
}

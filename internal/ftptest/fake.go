package ftptest

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake is a small FTP server over real TCP on loopback, with files in
// memory, for tests of hostile or broken servers: a test's Hook can answer
// any command its own way (a wrong SIZE, a garbage MDTM, a listing with
// hostile names, a cut) and leave the rest to the defaults. It counts the
// commands it receives and the round trips they took.
type Fake struct {
	t   testing.TB
	ln  net.Listener
	net *Net // nil: real TCP on loopback

	// MLST makes FEAT announce MLST (and so MLSD listings).
	MLST bool
	// Hash makes FEAT announce HASH SHA-256 (selected with OPTS HASH).
	Hash bool
	// SetTime lists the ways the Fake takes a file's time: "MFMT" (listed
	// in FEAT), "MDTM" (MDTM YYYYMMDDhhmmss path) and "SITE UTIME"; none
	// by default.
	SetTime []string
	// NoRenameOver makes RNTO onto an existing file fail with 553, as
	// some servers do.
	NoRenameOver bool
	// Hook, if set, sees every command first; it returns true when it
	// answered it.
	Hook func(s *FakeSession, verb, arg string) bool
	// FinalDelay holds a download's final reply this long after its data
	// ended, as vsftpd and proftpd hold theirs until the client has closed
	// the data connection (a round trip): set it to the Net's RTT.
	FinalDelay time.Duration
	// TLS, if set, makes the Fake take AUTH TLS (explicit FTPS), PBSZ and
	// PROT P, after which data connections are TLS too (handshake after
	// the 150).
	TLS *tls.Config
	// Greeting, if set, gives each session's greeting: its reply lines
	// ("220-...", "220 ready"). The default is "220 fake server".
	Greeting func() []string
	// MLST, Hash, TLS, Hook and Greeting are set before the first call of Addr: the Fake
	// starts accepting connections then, so that what the test set
	// happens before any session reads it (for the race detector too: a
	// client in another process gives no happens-before edge).

	start   sync.Once
	mu      sync.Mutex
	files   map[string]FakeFile
	counts  map[string]int
	log     []string      // every command, in the order read ("VERB arg")
	mark    int           // len(log) at the last ResetCounts
	arrived chan struct{} // closed when a command arrives (WaitCount), then made anew
	trips   int
	wg      sync.WaitGroup
	conns   map[net.Conn]struct{}
	closed  bool
}

// FakeFile is one file of a Fake.
type FakeFile struct {
	Data    []byte
	ModTime time.Time
	Dir     bool
}

// FakeSession is one control connection of a Fake.
type FakeSession struct {
	f    *Fake
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	pasv net.Listener
	prot bool  // PROT P: data connections are TLS
	Rest int64 // the offset of the last REST, 0 after a transfer
	rnfr string
}

// StartFake starts a Fake for t and closes it when t ends.
func StartFake(t testing.TB) *Fake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{t: t, ln: ln, files: map[string]FakeFile{}, counts: map[string]int{}, conns: map[net.Conn]struct{}{}}
	t.Cleanup(f.Close)
	return f
}

// StartFakeOn starts a Fake on a Net (inside a synctest bubble, like the
// Net) and closes it when t ends: its control and data connections cross
// the Net, whose round-trip time they take.
func StartFakeOn(t testing.TB, n *Net) *Fake {
	f := &Fake{t: t, ln: n.Listen(), net: n, files: map[string]FakeFile{}, counts: map[string]int{}, conns: map[net.Conn]struct{}{}}
	t.Cleanup(f.Close)
	return f
}

// listen opens a passive data listener.
func (f *Fake) listen() (net.Listener, error) {
	if f.net != nil {
		return f.net.Listen(), nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Addr is the control address.
func (f *Fake) Addr() string {
	f.start.Do(func() {
		f.wg.Add(1)
		go f.accept()
	})
	return f.ln.Addr().String()
}

// WriteFile adds or replaces a file (its directories appear in listings).
func (f *Fake) WriteFile(name string, data []byte, mod time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[name] = FakeFile{Data: data, ModTime: mod.UTC()}
	for d := path.Dir(name); d != "/" && d != "."; d = path.Dir(d) {
		if _, ok := f.files[d]; !ok {
			f.files[d] = FakeFile{Dir: true, ModTime: mod.UTC()}
		}
	}
}

// File returns a file.
func (f *Fake) File(name string) (FakeFile, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, ok := f.files[name]
	return ff, ok
}

// Count returns how many commands with this verb arrived ("" for all).
func (f *Fake) Count(verb string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if verb == "" {
		n := 0
		for _, c := range f.counts {
			n += c
		}
		return n
	}
	return f.counts[verb]
}

// Log returns every command received so far, in the order read, as
// "VERB arg" (sessions interleaved): the server's log.
func (f *Fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// WaitCount waits, at most d, until verb has arrived n times, and reports
// whether it has: for a client that does not wait for an answer (QUIT).
func (f *Fake) WaitCount(verb string, n int, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		f.mu.Lock()
		got, ch := f.counts[verb], f.arrived
		if ch == nil {
			f.arrived = make(chan struct{})
			ch = f.arrived
		}
		f.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// notifyLocked wakes WaitCount. Called with f.mu held.
func (f *Fake) notifyLocked() {
	if f.arrived != nil {
		close(f.arrived)
		f.arrived = nil
	}
}

// RoundTrips returns how many times a command arrived while no earlier
// command was waiting to be read: commands written together (pipelined)
// count once.
func (f *Fake) RoundTrips() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trips
}

// ResetCounts zeroes the counters.
func (f *Fake) ResetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = map[string]int{}
	f.trips = 0
	f.mark = len(f.log)
}

// CountPrefix returns how many commands since the last ResetCounts start
// with prefix ("OPTS HASH", "SIZE /a"), as Log shows them.
func (f *Fake) CountPrefix(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log[f.mark:] {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// Close stops the server and ends every connection.
func (f *Fake) Close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.ln.Close()
	f.wg.Wait()
}

func (f *Fake) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *Fake) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			s := &FakeSession{f: f, c: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
			s.serve()
			c.Close()
			if s.pasv != nil {
				s.pasv.Close()
			}
		}()
	}
}

// Reply writes reply lines, each ended with CRLF; the error says whether
// the client is still there.
func (s *FakeSession) Reply(lines ...string) error {
	for _, l := range lines {
		fmt.Fprintf(s.w, "%s\r\n", l)
	}
	return s.w.Flush()
}

// Close ends the control connection.
func (s *FakeSession) Close() { s.c.Close() }

// WaitCommand reports whether a command arrives within d (one may have
// already): for a hook that answers what the client writes while it holds
// a transfer open.
func (s *FakeSession) WaitCommand(d time.Duration) bool {
	s.c.SetReadDeadline(time.Now().Add(d))
	_, err := s.r.Peek(1)
	return err == nil
}

// Pending returns how many bytes of commands the session has read and
// not yet answered: commands written together with the one being
// answered.
func (s *FakeSession) Pending() int { return s.r.Buffered() }

// DiscardPending forgets the commands the session has read but not yet
// answered, and returns how many bytes they held: a hook plays a server
// that reads a buffer and answers only its first line, losing commands
// written together.
func (s *FakeSession) DiscardPending() int {
	n, _ := s.r.Discard(s.r.Buffered())
	return n
}

// Hang reads and drops what the client sends on the control connection
// until it closes it (or the Fake closes): a server that never answers
// again.
func (s *FakeSession) Hang() {
	s.c.SetReadDeadline(time.Time{})
	io.Copy(io.Discard, s.r)
}

// Data accepts the data connection of the last EPSV (bounded by 10 s).
func (s *FakeSession) Data() (net.Conn, error) {
	if s.pasv == nil {
		return nil, fmt.Errorf("no EPSV")
	}
	s.pasv.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := s.pasv.Accept()
	s.pasv.Close()
	s.pasv = nil
	if err == nil && !s.f.track(c) {
		return nil, net.ErrClosed
	}
	return c, err
}

// SendData sends data on the data connection after a 150, then 226 (or
// final, when not empty).
func (s *FakeSession) SendData(data []byte, final string) {
	d, err := s.Data()
	if err != nil {
		s.Reply("425 no data connection")
		return
	}
	s.Reply("150 here it comes")
	if d = s.Secure(d); d != nil {
		d.Write(data)
		d.Close()
	}
	if final == "" {
		final = "226 done"
	}
	time.Sleep(s.f.FinalDelay)
	s.Reply(final)
}

// ReadCommand reads the next command ("VERB", "arg"), for a hook that
// answers commands written while it holds a transfer open; it is logged
// and counted like any other. Bounded by 10 s.
func (s *FakeSession) ReadCommand() (verb, arg string, err error) {
	s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := s.r.ReadString('\n')
	if err != nil {
		return "", "", err
	}
	verb, arg, _ = strings.Cut(strings.TrimRight(line, "\r\n"), " ")
	verb = strings.ToUpper(verb)
	s.f.mu.Lock()
	s.f.counts[verb]++
	s.f.notifyLocked()
	s.f.log = append(s.f.log, strings.TrimSpace(verb+" "+arg))
	s.f.mu.Unlock()
	return verb, arg, nil
}

// Secure runs the server's TLS handshake on a data connection after PROT
// P (bounded by 10 s) and returns the TLS connection, or nil if the
// handshake failed (the connection is then closed); without PROT P it
// returns d as it is.
func (s *FakeSession) Secure(d net.Conn) net.Conn {
	if !s.prot {
		return d
	}
	tc := tls.Server(d, s.f.TLS)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		d.Close()
		return nil
	}
	tc.SetDeadline(time.Time{})
	return tc
}

func (s *FakeSession) serve() {
	greeting := []string{"220 fake server"}
	if s.f.Greeting != nil {
		greeting = s.f.Greeting()
	}
	s.Reply(greeting...)
	for {
		if s.r.Buffered() == 0 {
			s.c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, err := s.r.Peek(1); err != nil {
				return
			}
			s.f.mu.Lock()
			s.f.trips++
			s.f.mu.Unlock()
		}
		line, err := s.r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.f.mu.Lock()
		s.f.counts[verb]++
		s.f.notifyLocked()
		if verb == "PASS" {
			s.f.log = append(s.f.log, "PASS ****")
		} else {
			s.f.log = append(s.f.log, strings.TrimSpace(verb+" "+arg))
		}
		hook := s.f.Hook
		s.f.mu.Unlock()
		if hook != nil && hook(s, verb, arg) {
			continue
		}
		if !s.standard(verb, arg) {
			return
		}
	}
}

// standard answers a command as a plain server would; false ends the
// session.
func (s *FakeSession) standard(verb, arg string) bool {
	f := s.f
	switch verb {
	case "AUTH":
		if f.TLS == nil || !strings.EqualFold(arg, "TLS") {
			s.Reply("502 no TLS here")
			break
		}
		if s.r.Buffered() > 0 {
			s.Reply("503 commands after AUTH TLS before the handshake")
			return false
		}
		s.Reply("234 go ahead")
		tc := tls.Server(s.c, f.TLS)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return false
		}
		tc.SetDeadline(time.Time{})
		s.c, s.r, s.w = tc, bufio.NewReader(tc), bufio.NewWriter(tc)
	case "PBSZ":
		s.Reply("200 PBSZ=0")
	case "PROT":
		if f.TLS == nil || arg != "P" && arg != "C" {
			s.Reply("504 no such level")
			break
		}
		s.prot = arg == "P"
		s.Reply("200 protection set")
	case "USER":
		s.Reply("331 password please")
	case "PASS":
		s.Reply("230 logged in")
	case "FEAT":
		lines := []string{"211-Features:", " SIZE", " MDTM", " REST STREAM"}
		if f.MLST {
			lines = append(lines, " MLST type*;size*;modify*;unique*;")
		}
		if f.Hash {
			lines = append(lines, " HASH SHA-256*")
		}
		if slices.Contains(f.SetTime, "MFMT") {
			lines = append(lines, " MFMT")
		}
		s.Reply(append(lines, "211 End")...)
	case "TYPE":
		s.Reply("200 binary")
	case "PWD":
		s.Reply(`257 "/" is current`)
	case "CWD":
		if ff, ok := f.File(arg); arg == "/" || ok && ff.Dir {
			s.Reply("250 ok")
		} else {
			s.Reply("550 no such directory")
		}
	case "NOOP":
		s.Reply("200 ok")
	case "QUIT":
		s.Reply("221 bye")
		return false
	case "EPSV":
		if s.pasv != nil {
			s.pasv.Close()
		}
		ln, err := f.listen()
		if err != nil {
			s.Reply("425 no port")
			break
		}
		s.pasv = ln
		s.Reply(fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)", ln.Addr().(*net.TCPAddr).Port))
	case "REST":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			s.Reply("501 bad offset")
			break
		}
		s.Rest = n
		s.Reply("350 restarting")
	case "RETR":
		ff, ok := f.File(arg)
		rest := s.Rest
		s.Rest = 0
		if !ok || ff.Dir {
			s.Reply("550 no such file")
			break
		}
		s.SendData(ff.Data[min(rest, int64(len(ff.Data))):], "")
	case "STOR", "APPE":
		rest := s.Rest
		s.Rest = 0
		d, err := s.Data()
		if err != nil {
			s.Reply("425 no data connection")
			break
		}
		s.Reply("150 send it")
		var data []byte
		if d = s.Secure(d); d != nil {
			d.SetReadDeadline(time.Now().Add(time.Minute))
			data, err = io.ReadAll(d)
			d.Close()
		} else {
			err = fmt.Errorf("TLS handshake failed")
		}
		if err != nil {
			s.Reply("426 transfer aborted")
			break
		}
		old, _ := f.File(arg)
		switch {
		case verb == "APPE":
			data = append(old.Data, data...)
		case rest > 0:
			data = append(old.Data[:min(rest, int64(len(old.Data)))], data...)
		}
		f.WriteFile(arg, data, time.Now())
		s.Reply("226 stored")
	case "DELE":
		f.mu.Lock()
		ff, ok := f.files[arg]
		if ok && !ff.Dir {
			delete(f.files, arg)
		}
		f.mu.Unlock()
		if ok && !ff.Dir {
			s.Reply("250 deleted")
		} else {
			s.Reply("550 no such file")
		}
	case "RMD":
		f.mu.Lock()
		ff, ok := f.files[arg]
		empty := true
		for name := range f.files {
			if strings.HasPrefix(name, arg+"/") {
				empty = false
				break
			}
		}
		if ok && ff.Dir && empty {
			delete(f.files, arg)
		}
		f.mu.Unlock()
		switch {
		case !ok || !ff.Dir:
			s.Reply("550 no such directory")
		case !empty:
			s.Reply("550 directory not empty")
		default:
			s.Reply("250 directory removed")
		}
	case "OPTS":
		if strings.EqualFold(arg, "HASH SHA-256") && f.Hash {
			s.Reply("200 SHA-256")
		} else {
			s.Reply("501 no such option")
		}
	case "HASH":
		ff, ok := f.File(arg)
		if !ok || ff.Dir || !f.Hash {
			s.Reply("550 no such file")
			break
		}
		s.Reply(fmt.Sprintf("213 SHA-256 0-%d %x %s", len(ff.Data), sha256.Sum256(ff.Data), arg))
	case "SIZE":
		if ff, ok := f.File(arg); ok && !ff.Dir {
			s.Reply(fmt.Sprintf("213 %d", len(ff.Data)))
		} else {
			s.Reply("550 no such file")
		}
	case "MDTM":
		if stamp, p, ok := timeArg(arg); ok && slices.Contains(f.SetTime, "MDTM") {
			s.setTime(p, stamp, "213 File modification time set.")
			break
		}
		if ff, ok := f.File(arg); ok && !ff.Dir {
			s.Reply("213 " + ff.ModTime.Format("20060102150405"))
		} else {
			s.Reply("550 no such file")
		}
	case "MLST":
		ff, ok := f.File(arg)
		if !ok || !f.MLST {
			s.Reply("550 no such file")
			break
		}
		s.Reply("250-Listing "+arg, " "+mlsxFacts(arg, ff)+" "+arg, "250 End")
	case "MLSD", "LIST":
		dir := arg
		if opts, rest, ok := strings.Cut(dir, " "); ok && strings.HasPrefix(opts, "-") {
			dir = rest // "LIST -a /dir"
		}
		if dir == "" || strings.HasPrefix(dir, "-") {
			dir = "/"
		}
		dir = path.Clean(dir) // "/e/" is "/e"
		if ff, ok := f.File(dir); dir != "/" && (!ok || !ff.Dir) {
			s.Reply("550 no such directory")
			break
		}
		s.SendData([]byte(f.listing(dir, verb == "MLSD")), "")
	case "MFMT":
		stamp, p, ok := timeArg(arg)
		switch {
		case !slices.Contains(f.SetTime, "MFMT"):
			s.Reply("502 not implemented")
		case !ok:
			s.Reply("501 bad arguments")
		default:
			s.setTime(p, stamp, "213 Modify="+stamp.Format("20060102150405")+"; "+p)
		}
	case "SITE":
		sub, rest, _ := strings.Cut(arg, " ")
		stamp, p, ok := timeArg(rest)
		switch {
		case !strings.EqualFold(sub, "UTIME") || !slices.Contains(f.SetTime, "SITE UTIME"):
			s.Reply("500 unknown SITE command")
		case !ok:
			s.Reply("501 bad arguments")
		default:
			s.setTime(p, stamp, "200 UTIME OK")
		}
	case "RNFR":
		if _, ok := f.File(arg); !ok {
			s.Reply("550 no such file")
			break
		}
		s.rnfr = arg
		s.Reply("350 ready for RNTO")
	case "RNTO":
		from := s.rnfr
		s.rnfr = ""
		if from == "" {
			s.Reply("503 RNFR first")
			break
		}
		if err := f.rename(from, arg); err != nil {
			s.Reply("553 " + err.Error())
			break
		}
		s.Reply("250 renamed")
	case "MKD":
		f.mu.Lock()
		_, exists := f.files[arg]
		if !exists {
			f.files[arg] = FakeFile{Dir: true, ModTime: time.Now().UTC()}
		}
		f.mu.Unlock()
		if exists {
			s.Reply("550 exists")
			break
		}
		s.Reply(fmt.Sprintf("257 %q created", arg))
	default:
		s.Reply("502 not implemented")
	}
	if verb != "RNFR" {
		s.rnfr = "" // RNTO must follow RNFR at once
	}
	return true
}

// timeArg splits "YYYYMMDDhhmmss path".
func timeArg(arg string) (time.Time, string, bool) {
	stamp, p, ok := strings.Cut(arg, " ")
	if !ok || len(stamp) != 14 {
		return time.Time{}, "", false
	}
	t, err := time.Parse("20060102150405", stamp)
	return t, p, err == nil
}

// setTime sets a file's time and answers ok.
func (s *FakeSession) setTime(p string, t time.Time, ok string) {
	f := s.f
	f.mu.Lock()
	ff, found := f.files[p]
	if found && !ff.Dir {
		ff.ModTime = t.UTC()
		f.files[p] = ff
	}
	f.mu.Unlock()
	if !found || ff.Dir {
		s.Reply("550 no such file")
		return
	}
	s.Reply(ok)
}

// rename moves a file, replacing an existing one unless NoRenameOver.
func (f *Fake) rename(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, ok := f.files[from]
	if !ok {
		return fmt.Errorf("%s is gone", from)
	}
	if old, exists := f.files[to]; exists && (f.NoRenameOver || old.Dir) {
		return fmt.Errorf("%s exists", to)
	}
	delete(f.files, from)
	f.files[to] = ff
	return nil
}

// Rename moves a file as RNFR and RNTO would (for hooks).
func (f *Fake) Rename(from, to string) error { return f.rename(from, to) }

// Remove deletes a file (as another client of the server would).
func (f *Fake) Remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, name)
}

// Names returns the names of every file (not directory), sorted.
func (f *Fake) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for n, ff := range f.files {
		if !ff.Dir {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func mlsxFacts(name string, ff FakeFile) string {
	typ := "file"
	if ff.Dir {
		typ = "dir"
	}
	return fmt.Sprintf("type=%s;size=%d;modify=%s;unique=%x;", typ, len(ff.Data), ff.ModTime.Format("20060102150405"), name)
}

// listing is dir's listing in MLSD or "ls -l" form.
func (f *Fake) listing(dir string, mlsd bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for name := range f.files {
		if path.Dir(name) == dir && name != dir {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		ff := f.files[name]
		base := path.Base(name)
		if mlsd {
			fmt.Fprintf(&b, "%s %s\r\n", mlsxFacts(name, ff), base)
			continue
		}
		mode := "-rw-r--r--"
		if ff.Dir {
			mode = "drwxr-xr-x"
		}
		fmt.Fprintf(&b, "%s 1 ftp ftp %d %s %s\r\n", mode, len(ff.Data), ff.ModTime.Format("Jan _2  2006"), base)
	}
	return b.String()
}

// DiscardData reads a data connection to its end (for hooks that need it).
func DiscardData(c net.Conn) { io.Copy(io.Discard, c); c.Close() }

// SendDataThen sends data on the data connection after a 150, closes its
// sending side and waits (at most 10 s) until the client has read it all
// and closed the connection, then writes final: so the final reply cannot
// overtake the data.
func (s *FakeSession) SendDataThen(data []byte, final ...string) {
	d, err := s.Data()
	if err != nil {
		s.Reply("425 no data connection")
		return
	}
	s.Reply("150 here it comes")
	if d = s.Secure(d); d == nil {
		s.Reply("425 TLS handshake failed")
		return
	}
	d.Write(data)
	if cw, ok := d.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	d.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, d)
	d.Close()
	s.Reply(final...)
}

package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// Conn.List against the embedded server and scripted servers.

type wantEntry struct {
	typ  EntryType
	size int64 // -2: do not check
}

func startListServer(t *testing.T) *testserver.Server {
	t.Helper()
	srv, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for name, data := range map[string]string{
		"/tree/a.txt":                 "abc",
		"/tree/with spaces.txt":       "hello world",
		"/tree/..foo":                 "dotdot",
		"/tree/ lead":                 "l",
		"/tree/trail ":                "tt",
		"/tree/semi; type=dir; x":     "semi",
		"/tree/a -> b":                "arrow",
		"/tree/Jan  2 15:04 fake":     "date",
		"/tree/empty":                 "",
		"/tree/sub/inner.bin":         "inner data",
		"/tree/sub/deeper/nested.txt": "n",
	} {
		if err := srv.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

var wantTree = map[string]wantEntry{
	"a.txt":             {File, 3},
	"with spaces.txt":   {File, 11},
	"..foo":             {File, 6},
	" lead":             {File, 1},
	"trail ":            {File, 2},
	"semi; type=dir; x": {File, 4},
	"a -> b":            {File, 5},
	"Jan  2 15:04 fake": {File, 4},
	"empty":             {File, 0},
	"sub":               {Dir, -2},
}

func checkEntries(t *testing.T, what string, got []Entry, want map[string]wantEntry, mlsd bool) {
	t.Helper()
	var names []string
	for _, e := range got {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	if len(got) != len(want) {
		t.Errorf("%s: %d entries %q, want %d", what, len(got), names, len(want))
	}
	seen := map[string]bool{}
	for _, e := range got {
		w, ok := want[e.Name]
		switch {
		case !ok:
			t.Errorf("%s: unexpected entry %q", what, e.Name)
			continue
		case seen[e.Name]:
			t.Errorf("%s: %q listed twice", what, e.Name)
		case e.Type != w.typ:
			t.Errorf("%s: %q is a %v, want a %v", what, e.Name, e.Type, w.typ)
		case w.size != -2 && e.Size != w.size:
			t.Errorf("%s: %q has size %d, want %d", what, e.Name, e.Size, w.size)
		}
		seen[e.Name] = true
		// MLSD times are exact UTC; LIST ones are the server's wall
		// clock (here the local one), labelled UTC.
		slack := time.Minute
		if !mlsd {
			slack = 26 * time.Hour
		}
		if d := time.Since(e.ModTime); d < -slack || d > slack {
			t.Errorf("%s: %q modified at %v", what, e.Name, e.ModTime)
		}
		if mlsd != (e.Facts != nil) {
			t.Errorf("%s: %q has facts %v", what, e.Name, e.Facts)
		}
	}
}

func TestListTestServer(t *testing.T) {
	t.Parallel()
	srv := startListServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, srv.Addr(), Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Features().Has("MLST") {
		t.Fatalf("testserver does not announce MLST: %v", c.Features())
	}

	es, err := c.List(ctx, "/tree")
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, "List /tree (MLSD)", es, wantTree, true)

	// The same through LIST, as for a server without MLSD. ftpserverlib
	// prints Go's FileMode.String and "Mon _2 15:04".
	var l listing
	if err := c.list(ctx, "LIST", "/tree", l.add); err != nil {
		t.Fatal(err)
	}
	es, err = l.result()
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, "LIST /tree", es, wantTree, false)

	es, err = c.List(ctx, "/tree/sub")
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, "List /tree/sub", es, map[string]wantEntry{"inner.bin": {File, 10}, "deeper": {Dir, -2}}, true)

	// "" lists the current directory (the root).
	es, err = c.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, `List ""`, es, map[string]wantEntry{"tree": {Dir, -2}}, true)

	// An empty directory.
	if err := srv.Fs().MkdirAll("/void", 0o755); err != nil {
		t.Fatal(err)
	}
	if es, err := c.List(ctx, "/void"); err != nil || len(es) != 0 {
		t.Errorf("List /void = %+v, %v; want nothing", es, err)
	}

	// A missing directory is the server's 550, not a LIST fallback.
	_, err = c.List(ctx, "/missing")
	if !IsCode(err, 550) {
		t.Errorf("List /missing: %v, want a 550", err)
	}

	// The connection is still good.
	if size, err := c.Size(ctx, "/tree/a.txt"); err != nil || size != 3 {
		t.Errorf("Size after the listings = %d, %v", size, err)
	}
}

// ---- Conn.List against a scripted server ----

// dialPlain logs in to a scripted server whose FEAT has no MLST (vsftpd).
func dialPlain(t *testing.T, fs *ftptest.Server, cfg Config) *Conn {
	t.Helper()
	loggedIn := make(chan struct{})
	go func() {
		fs.Send("220 (vsFTPd 3.0.3)")
		fs.Serve("USER anonymous", "331 Please specify the password.")
		fs.Serve("PASS keepftp@", "230 Login successful.")
		fs.Serve("FEAT", "211-Features:", " EPRT", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE", " TVFS", "211 End")
		fs.Serve("OPTS UTF8 ON", "200 Always in UTF8 mode.")
		fs.Serve("TYPE I", "200 Switching to Binary mode.")
		close(loggedIn)
	}()
	c, err := Dial(t.Context(), "127.0.0.1:21", cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	<-loggedIn
	t.Cleanup(func() { c.Close() })
	return c
}

// openList plays EPSV and the listing command up to the 150 and returns
// the data connection.
func openList(fs *ftptest.Server, cmd string) net.Conn {
	fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
	d := <-fs.Data
	fs.Serve(cmd, "150 Here comes the directory listing.")
	return d
}

const vsftpdListing = "drwxr-xr-x    2 1000     1000         4096 Mar 01 10:00 dir\r\n" +
	"-rw-r--r--    1 1000     1000           12 Feb 03  2019 name with spaces\r\n" +
	"lrwxrwxrwx    1 1000     1000            4 Mar 01 10:00 link -> name\r\n"

func checkVsftpdListing(t *testing.T, es []Entry) {
	t.Helper()
	want := []Entry{
		{Name: "dir", Type: Dir, Size: 4096},
		{Name: "name with spaces", Type: File, Size: 12, ModTime: utc(2019, 2, 3, 0, 0)},
		{Name: "link", Type: Link, Size: 4, Target: "name"},
	}
	if len(es) != len(want) {
		t.Fatalf("entries %+v, want %+v", es, want)
	}
	for i := range want {
		if !want[i].ModTime.IsZero() {
			continue
		}
		want[i].ModTime = es[i].ModTime // "Mar 01 10:00" depends on the clock
	}
	for i := range want {
		if !sameEntry(es[i], want[i]) {
			t.Errorf("entry %d = %+v, want %+v", i, es[i], want[i])
		}
	}
}

func TestListFallsBackToLIST(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
			<-fs.Data // closed by the client on the refusal
			fs.Serve("MLSD /pub", "500 Unknown command.")
			d := openList(fs, "LIST /pub")
			d.Write([]byte(vsftpdListing))
			d.Close()
			fs.Send("226 Directory send OK.")
			fs.Serve("SIZE /pub/name with spaces", "213 12")
		}()
		es, err := c.List(t.Context(), "/pub")
		if err != nil {
			t.Fatal(err)
		}
		checkVsftpdListing(t, es)
		if n, err := c.Size(t.Context(), "/pub/name with spaces"); err != nil || n != 12 {
			t.Errorf("next command: %d, %v", n, err)
		}
	})
}

func TestListWithoutMLSTUsesLIST(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST") // List "" lists the current directory
			d.Write([]byte("total 3\r\n" + vsftpdListing))
			d.Close()
			fs.Send("226 Directory send OK.")
		}()
		es, err := c.List(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		checkVsftpdListing(t, es)
	})
}

// TestListMLSDRefusals: only a refusal of the command itself (500, 502,
// 504) leads to LIST; a 550 or 501 is about the directory and is returned
// (pure-ftpd answers LIST of a missing directory with an empty 226).
func TestListMLSDRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reply    string
		fallback bool
	}{
		{"500 Unknown command.", true},
		{"502 Command not implemented.", true},
		{"504 Not implemented for that parameter.", true},
		{"501 No such directory.", false},
		{"550 Can't check for file existence", false},
		{"450 Try later.", false},
	} {
		t.Run(tc.reply[:3], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs, dial := ftptest.New(t)
				c := dialFake(t, fs, Config{Timeout: time.Minute, DialContext: dial})
				go func() {
					fs.Serve("EPSV", "229 Entering Extended Passive Mode (|||40000|)")
					<-fs.Data
					fs.Serve("MLSD /x", tc.reply)
					if tc.fallback {
						d := openList(fs, "LIST /x")
						d.Close()
						fs.Send("226 Directory send OK.")
					}
					fs.Serve("NOOP", "200 NOOP ok.")
				}()
				es, err := c.List(t.Context(), "/x")
				code, _ := strconv.Atoi(tc.reply[:3])
				if tc.fallback && (err != nil || len(es) != 0) {
					t.Errorf("List = %+v, %v; want an empty LIST listing", es, err)
				}
				if !tc.fallback && !IsCode(err, code) {
					t.Errorf("List error %v, want the %d", err, code)
				}
				if err := c.Noop(t.Context()); err != nil {
					t.Errorf("next command: %v", err)
				}
			})
		})
	}
}

// TestListGarbageLine: a hostile or unknown line fails the listing with an
// error naming it; the connection stays usable.
func TestListGarbageLine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /pub")
			d.Write([]byte(vsftpdListing + "\x1b[2J GARBAGE \x00 line\r\n"))
			d.Close()
			fs.Send("226 Directory send OK.")
			fs.Serve("NOOP", "200 NOOP ok.")
		}()
		es, err := c.List(t.Context(), "/pub")
		if err == nil {
			t.Fatalf("garbage accepted: %+v", es)
		}
		if !errors.Is(err, ErrBadListing) || !strings.Contains(err.Error(), `line 4`) ||
			!strings.Contains(err.Error(), strconv.Quote("\x1b[2J GARBAGE \x00 line")) {
			t.Errorf("error %q does not name the line", err)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("next command: %v", err)
		}
	})
}

func TestListFinalReplyNotOK(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /pub")
			d.Write([]byte(vsftpdListing))
			d.Close()
			fs.Send("451 Local error in processing.")
			fs.Serve("NOOP", "200 NOOP ok.")
		}()
		if _, err := c.List(t.Context(), "/pub"); !IsCode(err, 451) {
			t.Errorf("List: %v, want the 451", err)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("next command: %v", err)
		}
	})
}

// TestListNoFinalReply: the data ends but the 226 never comes: peer down
// one timeout later, and the connection is closed.
func TestListNoFinalReply(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /pub")
			d.Write([]byte(vsftpdListing))
			d.Close()
		}()
		start := time.Now()
		_, err := c.List(t.Context(), "/pub")
		if !errors.Is(err, ErrPeerDown) {
			t.Errorf("List: %v, want ErrPeerDown", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("gave up after %v, want the timeout", d)
		}
		if c.Err() == nil {
			t.Error("connection still open")
		}
	})
}

// TestListDataStall: the data connection goes silent: peer down one
// timeout later, and the connection is closed.
func TestListDataStall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /pub")
			d.Write([]byte(vsftpdListing[:20]))
			time.Sleep(30 * time.Second)
			d.Write([]byte(vsftpdListing[20:40])) // moves the deadline
		}()
		start := time.Now()
		_, err := c.List(t.Context(), "/pub")
		if !errors.Is(err, ErrPeerDown) {
			t.Errorf("List: %v, want ErrPeerDown", err)
		}
		if d := time.Since(start); d != 90*time.Second {
			t.Errorf("gave up after %v, want 30 s + the timeout", d)
		}
		if c.Err() == nil {
			t.Error("connection still open")
		}
	})
}

// TestListTooLarge: a listing over the limit is aborted; the connection
// stays usable when the server answers the ABOR.
func TestListTooLarge(t *testing.T) {
	old := listingLimit
	listingLimit = 1000
	defer func() { listingLimit = old }()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /big")
			go d.Write([]byte(strings.Repeat(vsftpdListing, 100))) // fails when the client closes
			fs.Expect("ABOR")
			fs.Send("426 Transfer aborted.", "226 ABOR successful.")
			fs.Serve("PWD", `257 "/"`)
			fs.Serve("NOOP", "200 NOOP ok.")
		}()
		_, err := c.List(t.Context(), "/big")
		if !errors.Is(err, ErrBadListing) || !strings.Contains(err.Error(), "1000 bytes") {
			t.Errorf("List: %v, want a listing too large", err)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("next command: %v", err)
		}
	})
}

func TestListLostConnection(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		go func() {
			d := openList(fs, "LIST /pub")
			d.Write([]byte(vsftpdListing))
			d.Close()
			fs.Ctrl.Close()
		}()
		_, err := c.List(t.Context(), "/pub")
		if !errors.Is(err, ErrConnLost) {
			t.Errorf("List: %v, want ErrConnLost", err)
		}
	})
}

func TestListCanceled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			openList(fs, "LIST /pub") // then silence
			time.Sleep(10 * time.Second)
			cancel()
			fs.Expect("ABOR")
			fs.Send("426 Transfer aborted.", "226 ABOR successful.")
			fs.Serve("PWD", `257 "/"`)
			fs.Serve("NOOP", "200 NOOP ok.")
		}()
		_, err := c.List(ctx, "/pub")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("List: %v, want context.Canceled", err)
		}
		if err := c.Noop(t.Context()); err != nil {
			t.Errorf("next command: %v", err)
		}
	})
}

// TestListCanceledSilentServer: a listing cancelled (Ctrl-C) while the
// server stalls, and which never answers the ABOR either, returns one
// abortGrace after the cancel, not after the timeout: the command line's
// grace after a signal is 1.5 s. (It waited 5 s.)
func TestListCanceledSilentServer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs, dial := ftptest.New(t)
		c := dialPlain(t, fs, Config{Timeout: time.Minute, DialContext: dial})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			openList(fs, "LIST /pub") // then silence
			time.Sleep(10 * time.Second)
			cancel()
			fs.Expect("ABOR") // and no answer
		}()
		start := time.Now()
		_, err := c.List(ctx, "/pub")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("List: %v, want context.Canceled", err)
		}
		if d := time.Since(start); d != 10*time.Second+abortGrace {
			t.Errorf("returned %v after the start, want the cancel at 10 s + %v", d, abortGrace)
		}
	})
}

func ExampleEntry() {
	e, ok, err := ParseListLine("lrwxrwxrwx 1 0 0 9 Jan  2  2006 link -> plain.txt", time.Now())
	fmt.Println(e.Name, e.Type, e.Size, e.ModTime.Format(time.DateOnly), e.Target, ok, err)
	e, ok, err = ParseMLSDLine("type=file;size=12;modify=20240101120000; name with spaces")
	fmt.Printf("%q %v %d %v %v %v\n", e.Name, e.Type, e.Size, e.ModTime, ok, err)
	_, ok, err = ParseMLSDLine("type=cdir; /pub")
	fmt.Println(ok, err)
	// Output:
	// link link 9 2006-01-02 plain.txt true <nil>
	// "name with spaces" file 12 2024-01-01 12:00:00 +0000 UTC true <nil>
	// false <nil>
}

package control

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keepftp/keepftp/internal/ftptest"
	"github.com/keepftp/keepftp/testserver"
)

// The login written in one go, measured in virtual time over a network
// with a 100 ms round trip (ftptest.Net: a TCP connection costs one round
// trip, every byte half of one each way): Dial takes the connection and
// one round trip (the login written before the greeting came; the
// greeting and the login's replies come together); under AUTH TLS, the
// connection, the greeting with AUTH TLS's answer, the TLS handshake and
// the login. With LazyLogin, Dial returns after the connection (and TLS),
// and the first command's round trip carries the login: a SIZE right
// after Dial costs one. In lockstep (the old login) they are 6 and 10.
func TestLoginRoundTrips(t *testing.T) {
	serverTLS, roots, err := testserver.SelfSignedTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certTime := time.Now() // the bubble's clock starts in 2000
	serverTLS.Time = func() time.Time { return certTime }
	for _, tc := range []struct {
		name              string
		tls, lazy, lock   bool
		dialTrips, trips  int // Dial's, and Dial's with a SIZE after it
		serverTripsInDial int // as the Fake counts them: writes that found it waiting
	}{
		{"plain", false, false, false, 2, 3, 1},
		{"plain, lazy", false, true, false, 1, 2, 0},
		{"plain, lockstep", false, false, true, 6, 7, 4},
		{"AUTH TLS", true, false, false, 4, 5, 2},
		{"AUTH TLS, lazy", true, true, false, 3, 4, 1},
		{"AUTH TLS, lockstep", true, false, true, 10, 11, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const rtt = 100 * time.Millisecond
				vnet := ftptest.NewNet(t, rtt)
				f := ftptest.StartFakeOn(t, vnet)
				f.WriteFile("/f", []byte("12345"), time.Unix(1e9, 0))
				cfg := Config{Timeout: 10 * time.Second, DialContext: vnet.Dial, LazyLogin: tc.lazy, Lockstep: tc.lock}
				if tc.tls {
					f.TLS = serverTLS
					cfg.TLSMode = TLSExplicit
					cfg.TLS = &tls.Config{RootCAs: roots, Time: func() time.Time { return certTime }}
				}
				start := time.Now()
				c, err := Dial(t.Context(), f.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				dialed := time.Since(start)
				serverTrips := f.RoundTrips()
				n, err := c.Size(t.Context(), "/f")
				took := time.Since(start)
				if err != nil || n != 5 {
					t.Fatalf("SIZE after Dial: %d, %v", n, err)
				}
				c.Close()
				t.Logf("Dial %.1f round trips, with SIZE %.1f; the server counted %d in Dial; its log %q", float64(dialed)/float64(rtt), float64(took)/float64(rtt), serverTrips, f.Log())
				if dialed != time.Duration(tc.dialTrips)*rtt || took != time.Duration(tc.trips)*rtt {
					t.Errorf("Dial took %v and SIZE after it %v, want %d and %d round trips of %v", dialed, took-dialed, tc.dialTrips, tc.trips-tc.dialTrips, rtt)
				}
				if serverTrips != tc.serverTripsInDial {
					t.Errorf("the server counted %d round trips in Dial, want %d", serverTrips, tc.serverTripsInDial)
				}
				if works, known := c.Pipelining(); works == tc.lock || known == tc.lock {
					t.Errorf("Pipelining() = %v, %v; want %v, %v (lockstep from the start shows nothing)", works, known, !tc.lock, !tc.lock)
				}
			})
		})
	}
}

// A server that answers only the first line of what it reads (here: USER,
// then it forgets the rest) loses the login written in one go: after its
// greeting, the replies stop. Dial sees no reply within the timeout
// (ErrPipelining), dials again in lockstep, and gets in; Pipelining says
// so, for the policy to remember (Config.Lockstep). With LazyLogin the
// first command fails with ErrPipelining instead, and the connection
// says the same. In virtual time: the timeout costs nothing.
func TestLoginLostInPipelineFallsBackToLockstep(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		name := "eager"
		if lazy {
			name = "lazy"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				vnet := ftptest.NewNet(t, 100*time.Millisecond)
				f := ftptest.StartFakeOn(t, vnet)
				f.WriteFile("/f", []byte("12345"), time.Unix(1e9, 0))
				f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
					if verb == "USER" {
						s.Reply("331 password please")
						s.DiscardPending()
						return true
					}
					return false
				}
				cfg := Config{Timeout: 10 * time.Second, DialContext: vnet.Dial, LazyLogin: lazy}
				c, err := Dial(t.Context(), f.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				n, err := c.Size(t.Context(), "/f")
				if lazy {
					if !errors.Is(err, ErrPipelining) || !errors.Is(err, ErrPeerDown) {
						t.Fatalf("SIZE on a lazy connection whose login was lost: %d, %v; want ErrPipelining", n, err)
					}
					if works, known := c.Pipelining(); works || !known {
						t.Errorf("Pipelining() = %v, %v; want false, true", works, known)
					}
					if !errors.Is(c.Err(), ErrPipelining) {
						t.Errorf("Conn.Err() = %v, want ErrPipelining", c.Err())
					}
					return
				}
				if err != nil || n != 5 {
					t.Fatalf("SIZE after the lockstep login: %d, %v", n, err)
				}
				if works, known := c.Pipelining(); works || !known {
					t.Errorf("Pipelining() = %v, %v; want false, true", works, known)
				}
				if got := f.Count("USER"); got != 2 {
					t.Errorf("%d USER, want 2 (the lost login, then the lockstep one); log %q", got, f.Log())
				}
			})
		})
	}
}

// The login's replies are judged as in lockstep: a refused password fails
// Dial, or with LazyLogin the first command, with the server's 530 as a
// session refusal (and no ErrPipelining: the server answered in order);
// a USER accepted alone (230) makes PASS's answer not count.
func TestLoginVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		user     string // USER's reply
		pass     string // PASS's reply
		wantCode int    // 0: logged in
	}{
		{"password refused", "331 password please", "530 Login incorrect.", 530},
		{"user refused", "530 no such user", "503 login with USER first", 530},
		{"user alone", "230 Login successful.", "503 Already logged in.", 0},
		{"421 at USER", "421 Too many users", "421 Too many users", 421},
	} {
		for _, lazy := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "", true: ", lazy"}[lazy], func(t *testing.T) {
				// In virtual time: over bare loopback a loaded run's greeting
				// came before the client wrote SIZE (2 of 5 runs of the package
				// under -race -count=5), which says nothing about the login.
				synctest.Test(t, func(t *testing.T) { testLoginVerdict(t, tc.user, tc.pass, tc.wantCode, lazy) })
			})
		}
	}
}

// testLoginVerdict is one case of TestLoginVerdicts, inside a bubble.
func testLoginVerdict(t *testing.T, user, pass string, wantCode int, lazy bool) {
	vnet := ftptest.NewNet(t, 10*time.Millisecond)
	f := ftptest.StartFakeOn(t, vnet)
	f.WriteFile("/f", []byte("12345"), time.Unix(1e9, 0))
	f.Hook = func(s *ftptest.FakeSession, verb, arg string) bool {
		switch verb {
		case "USER":
			s.Reply(user)
		case "PASS":
			s.Reply(pass)
		default:
			return false
		}
		return true
	}
	var mu sync.Mutex
	var log []string
	logf := func(format string, args ...any) {
		mu.Lock()
		log = append(log, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	c, err := Dial(t.Context(), f.Addr(), Config{Timeout: 5 * time.Second, LazyLogin: lazy, Logf: logf, DialContext: vnet.Dial})
	if err == nil {
		defer c.Close()
		_, err = c.Size(t.Context(), "/f")
	}
	switch {
	case wantCode == 0 && err != nil:
		t.Fatalf("login: %v", err)
	case wantCode == 0:
		return
	case errors.Is(err, ErrPipelining):
		t.Fatalf("err = %v: a refusal is not a pipelining failure", err)
	}
	re, refused := SessionRefused(err)
	if !refused || re.Code != wantCode {
		t.Fatalf("err = %v, want a session refusal %d", err, wantCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if i := slices.Index(log, "> SIZE /f"); lazy && (i < 0 || slices.ContainsFunc(log[:i], func(l string) bool { return strings.HasPrefix(l, "<") })) {
		t.Errorf("SIZE was not written with the lazy login, before any reply: %q", log)
	}
}

// GroupFirst: crypto/tls ranks groups in its own order, so a list that
// leads with a group leaves out those ranked above it, and keeps within
// the user's list.
func TestGroupFirst(t *testing.T) {
	for _, tc := range []struct {
		prefs []tls.CurveID
		group tls.CurveID
		want  []tls.CurveID
	}{
		{nil, 0, nil},
		{nil, tls.X25519MLKEM768, nil},
		{nil, tls.CurveP256, []tls.CurveID{tls.CurveP256, tls.CurveP384, tls.CurveP521}},
		{nil, tls.X25519, []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}},
		{[]tls.CurveID{tls.CurveP521, tls.CurveP256, tls.X25519}, tls.CurveP256, []tls.CurveID{tls.CurveP256, tls.CurveP521}},
		{[]tls.CurveID{tls.X25519}, tls.CurveP256, []tls.CurveID{tls.X25519}}, // the user left P-256 out
		{nil, tls.CurveID(0x1234), nil},
	} {
		if got := GroupFirst(tc.prefs, tc.group); !slices.Equal(got, tc.want) {
			t.Errorf("GroupFirst(%v, %v) = %v, want %v", tc.prefs, tc.group, got, tc.want)
		}
	}
}

package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// Native fuzz targets for every parser of server input in this package.
// Each target checks properties on arbitrary input (never panics, and what
// is accepted is self-consistent) and a round trip on input built the way
// a conforming server would send it. Seed corpora live in
// testdata/fuzz/<target>; run one target with e.g.
//
//	go test -run '^$' -fuzz '^FuzzParsePASV$' -fuzztime 20s ./control

// fuzzStrip returns s without the bytes in cut.
func fuzzStrip(s, cut string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(cut, r) {
			return -1
		}
		return r
	}, s)
}

// fuzzOneLine makes s usable as the text of one reply line.
func fuzzOneLine(s string) string { return fuzzStrip(s, "\r\n") }

// fuzzReadOne parses one reply from raw bytes, as the reader goroutine does.
func fuzzReadOne(t *testing.T, raw string) Reply {
	t.Helper()
	rep, err := newReplyReader(strings.NewReader(raw)).next()
	if err != nil {
		t.Fatalf("readReply(%q): %v", raw, err)
	}
	return rep
}

func FuzzParsePASV(f *testing.F) {
	f.Add("Entering Passive Mode (127,0,0,1,4,1)", byte(127), byte(0), byte(0), byte(1), byte(4), byte(1))
	f.Add("Entering Passive Mode (0,0,0,0,195,80)", byte(0), byte(0), byte(0), byte(0), byte(195), byte(80))
	f.Add("Entering Passive Mode 10,0,0,1,255,255", byte(255), byte(255), byte(255), byte(255), byte(255), byte(255))
	f.Add("Entering Passive Mode (256,0,0,1,4,1)", byte(1), byte(2), byte(3), byte(4), byte(5), byte(6))
	f.Add("Entering Passive Mode (-1,0,0,1,4,1)", byte(0), byte(0), byte(0), byte(0), byte(0), byte(0))
	f.Add("=127,0,0,1,4,1", byte(9), byte(8), byte(7), byte(6), byte(0), byte(1))
	f.Add("Entrée en mode passif (१२७,0,0,1,4,1)", byte(192), byte(168), byte(1), byte(1), byte(0), byte(21))
	f.Fuzz(func(t *testing.T, msg string, h1, h2, h3, h4, p1, p2 byte) {
		// Arbitrary input: an accepted address is IPv4 and survives being
		// formatted and parsed again.
		if ap, err := parsePASV(msg); err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Errorf("parsePASV(%q) error %v is not ErrMalformedReply", msg, err)
			}
		} else {
			if !ap.Addr().Is4() {
				t.Errorf("parsePASV(%q) = %v, not IPv4", msg, ap)
			}
			again, err := parsePASV(fuzzFormatPASV(ap, "Entering Passive Mode "))
			if err != nil || again != ap {
				t.Errorf("parsePASV(%q) = %v, which parses back as %v, %v", msg, ap, again, err)
			}
		}

		// Round trip: a 227 reply with any digit-free text around the six
		// numbers, read as the reader goroutine reads it.
		want := netip.AddrPortFrom(netip.AddrFrom4([4]byte{h1, h2, h3, h4}), uint16(p1)<<8|uint16(p2))
		text := fuzzStrip(fuzzOneLine(msg), "0123456789")
		rep := fuzzReadOne(t, "227 "+fuzzFormatPASV(want, text)+"\r\n")
		if rep.Code != 227 {
			t.Fatalf("code %d, want 227", rep.Code)
		}
		got, err := parsePASV(rep.Msg)
		if err != nil || got != want {
			t.Errorf("parsePASV(%q) = %v, %v; want %v", rep.Msg, got, err, want)
		}
	})
}

func fuzzFormatPASV(ap netip.AddrPort, text string) string {
	a := ap.Addr().As4()
	return fmt.Sprintf("%s(%d,%d,%d,%d,%d,%d).", text, a[0], a[1], a[2], a[3], ap.Port()>>8, ap.Port()&0xff)
}

func FuzzParseEPSV(f *testing.F) {
	f.Add("Entering Extended Passive Mode (|||6446|)", uint16(6446), byte('|'), "Entering Extended Passive Mode ", "")
	f.Add("Entering Extended Passive Mode (!!!1!)", uint16(1), byte('!'), "EPSV ok ", " now")
	f.Add("Entering Extended Passive Mode (|||65535|)", uint16(65535), byte('~'), "", "")
	f.Add("Entering Extended Passive Mode (|||65536|)", uint16(21), byte('('), "x", "y")
	f.Add("Entering Extended Passive Mode (|||0|)", uint16(20), byte(')'), "", "")
	f.Add("Entering Extended Passive Mode (|||-1|)", uint16(2121), byte('-'), "", "")
	f.Add("Entering Extended Passive Mode (||||)", uint16(1), byte('a'), "", "")
	f.Add("Entering Extended Passive Mode (|1.2.3.4||6446|)", uint16(6446), byte('|'), "", "")
	f.Add("Entering Extended Passive Mode |||6446|", uint16(6446), byte('|'), "", "")
	f.Add("Entering Extended Passive Mode (|||99999999999999999999999|)", uint16(9), byte('|'), "", "")
	f.Add("(", uint16(9), byte('|'), "", "")
	f.Add(")(|||21|", uint16(9), byte('|'), "", "")
	f.Add("Mode passif étendu (ǀǀǀ6446ǀ)", uint16(6446), byte('|'), "Mode passif étendu ", ".")
	f.Fuzz(func(t *testing.T, msg string, port uint16, delim byte, before, after string) {
		// Arbitrary input: an accepted port is not 0 and survives being
		// formatted and parsed again.
		if p, err := parseEPSV(msg); err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Errorf("parseEPSV(%q) error %v is not ErrMalformedReply", msg, err)
			}
		} else {
			if p == 0 {
				t.Errorf("parseEPSV(%q) = port 0", msg)
			}
			if again, err := parseEPSV(fuzzFormatEPSV(p, '|', "", "")); err != nil || again != p {
				t.Errorf("parseEPSV(%q) = %d, which parses back as %d, %v", msg, p, again, err)
			}
		}

		// Round trip: any port 1..65535 with any delimiter in printable
		// ASCII but digits (RFC 2428: 33..126), any text before the "(" and
		// after the ")".
		if port == 0 {
			port = 1
		}
		d := 33 + delim%(127-33)
		if d >= '0' && d <= '9' {
			d = '|'
		}
		raw := "229 " + fuzzFormatEPSV(port, d, fuzzStrip(fuzzOneLine(before), "("), fuzzStrip(fuzzOneLine(after), ")")) + "\r\n"
		rep := fuzzReadOne(t, raw)
		if rep.Code != 229 {
			t.Fatalf("code %d, want 229", rep.Code)
		}
		got, err := parseEPSV(rep.Msg)
		if err != nil || got != port {
			t.Errorf("parseEPSV(%q) = %d, %v; want %d", rep.Msg, got, err, port)
		}
	})
}

func fuzzFormatEPSV(port uint16, d byte, before, after string) string {
	ds := string(d)
	return before + "(" + ds + ds + ds + strconv.Itoa(int(port)) + ds + ")" + after
}

func FuzzParseSize(f *testing.F) {
	f.Add("1234", int64(1234))
	f.Add("0", int64(0))
	f.Add("  42 bytes", int64(42))
	f.Add("9223372036854775807", int64(9223372036854775807))
	f.Add("9223372036854775808", int64(-1))
	f.Add("-1", int64(-1))
	f.Add("+17", int64(17))
	f.Add("0x10", int64(16))
	f.Add("1,234", int64(1234))
	f.Add("", int64(0))
	f.Add("١٢٣", int64(123))
	f.Add("File size: 1234", int64(1234))
	f.Fuzz(func(t *testing.T, msg string, n int64) {
		// Arbitrary input: an accepted size is not negative and is what the
		// first word says.
		if got, err := parseSize(msg); err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Errorf("parseSize(%q) error %v is not ErrMalformedReply", msg, err)
			}
		} else {
			if got < 0 {
				t.Errorf("parseSize(%q) = %d < 0", msg, got)
			}
			if first, _ := strconv.ParseInt(strings.Fields(msg)[0], 10, 64); first != got {
				t.Errorf("parseSize(%q) = %d, first word says %d", msg, got, first)
			}
		}

		// Round trip of every size, with text after it; negative sizes are
		// refused.
		text := fuzzOneLine(msg)
		rep := fuzzReadOne(t, "213 "+strconv.FormatInt(n, 10)+" "+text+"\r\n")
		got, err := parseSize(rep.Msg)
		switch {
		case n < 0 && err == nil:
			t.Errorf("parseSize(%q) = %d, want an error", rep.Msg, got)
		case n >= 0 && (err != nil || got != n):
			t.Errorf("parseSize(%q) = %d, %v; want %d", rep.Msg, got, err, n)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	f.Add("20240102150405", uint16(2024), byte(1), byte(2), byte(15), byte(4), byte(5), uint32(0), byte(0))
	f.Add("20240229235959.123", uint16(2024), byte(2), byte(29), byte(23), byte(59), byte(59), uint32(123000000), byte(3))
	f.Add(" 19991231235959.999999999 ", uint16(1999), byte(12), byte(31), byte(23), byte(59), byte(59), uint32(999999999), byte(9))
	f.Add("20230229000000", uint16(1000), byte(1), byte(1), byte(0), byte(0), byte(0), uint32(0), byte(1))
	f.Add("20241301000000", uint16(9999), byte(12), byte(31), byte(23), byte(59), byte(59), uint32(1), byte(9))
	f.Add("20240102150460", uint16(1970), byte(1), byte(1), byte(0), byte(0), byte(0), uint32(0), byte(6))
	f.Add("20240102150405.", uint16(2024), byte(1), byte(2), byte(3), byte(4), byte(5), uint32(6), byte(2))
	f.Add("20240102150405.1234567890", uint16(2024), byte(1), byte(2), byte(3), byte(4), byte(5), uint32(6), byte(2))
	f.Add("20240102150405,5", uint16(2024), byte(1), byte(2), byte(3), byte(4), byte(5), uint32(6), byte(2))
	f.Add("-0010102150405", uint16(10), byte(1), byte(2), byte(3), byte(4), byte(5), uint32(6), byte(2))
	f.Add("99999999999999999999", uint16(0), byte(0), byte(0), byte(0), byte(0), byte(0), uint32(0), byte(0))
	f.Add("2024-01-02 15:04:05", uint16(2024), byte(1), byte(2), byte(15), byte(4), byte(5), uint32(0), byte(0))
	f.Add("２０２４０１０２１５０４０５", uint16(2024), byte(1), byte(2), byte(15), byte(4), byte(5), uint32(0), byte(0))
	f.Fuzz(func(t *testing.T, s string, year uint16, month, day, hour, minute, sec byte, nsec uint32, digits byte) {
		// Arbitrary input: an accepted time is UTC, within four-digit years,
		// and survives being formatted and parsed again.
		if tm, err := ParseTime(s); err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Errorf("ParseTime(%q) error %v is not ErrMalformedReply", s, err)
			}
		} else {
			if tm.Location() != time.UTC {
				t.Errorf("ParseTime(%q) location %v, want UTC", s, tm.Location())
			}
			if tm.Year() < 0 || tm.Year() > 9999 {
				t.Errorf("ParseTime(%q) year %d", s, tm.Year())
			}
			again, err := ParseTime(tm.Format("20060102150405.000000000"))
			if err != nil || !again.Equal(tm) {
				t.Errorf("ParseTime(%q) = %v, which parses back as %v, %v", s, tm, again, err)
			}
		}

		// Round trip of every time in years 1000..9999, whole seconds and
		// with 1..9 fractional digits (truncated to what the digits carry).
		want := time.Date(1000+int(year)%9000, time.Month(1+int(month)%12), 1+int(day)%31,
			int(hour)%24, int(minute)%60, int(sec)%60, int(nsec%1e9), time.UTC)
		if want.Year() < 1000 || want.Year() > 9999 {
			return // normalised out of range (cannot happen with these moduli)
		}
		whole := want.Truncate(time.Second)
		fracText, fracWant := fuzzFracFormat(want, 1+int(digits)%9)
		for _, tc := range []struct {
			text string
			want time.Time
		}{
			{whole.Format("20060102150405"), whole},
			{"  " + whole.Format("20060102150405") + " ", whole},
			{fracText, fracWant},
		} {
			got, err := ParseTime(tc.text)
			if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
			}
		}
	})
}

// fuzzFracFormat formats t with n fractional digits and returns the time those
// digits stand for.
func fuzzFracFormat(t time.Time, n int) (string, time.Time) {
	unit := time.Duration(1)
	for i := n; i < 9; i++ {
		unit *= 10
	}
	t = t.Truncate(unit)
	return t.Format("20060102150405." + strings.Repeat("0", n)), t
}

func FuzzParsePWD(f *testing.F) {
	f.Add(`"/" is current directory.`, "/", " is current directory.", "")
	f.Add(`"/home/a""b" is current`, `/home/a"b`, " is current", "MKD ok ")
	f.Add(`"/unterminated`, `""`, "", "")
	f.Add(`no quotes at all`, `/x"`, `" created`, "")
	f.Add(`""`, "", "", "")
	f.Add(`"""" is cwd`, `"`, " is cwd", "")
	f.Add(`"/données/日本語" est le répertoire courant`, "/données/日本語", "", "")
	f.Add("\"/a\x00b\xff\" is cwd", "/a\x00b\xff", " is cwd", "")
	f.Add(`"/a" "b"`, `/a`, ` "b"`, "")
	f.Fuzz(func(t *testing.T, msg, dir, after, before string) {
		// Arbitrary input: an accepted directory survives being quoted and
		// parsed again.
		if got, err := parsePWD(msg); err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Errorf("parsePWD(%q) error %v is not ErrMalformedReply", msg, err)
			}
		} else if again, err := parsePWD(fuzzQuotePWD(got, "", "")); err != nil || again != got {
			t.Errorf("parsePWD(%q) = %q, which parses back as %q, %v", msg, got, again, err)
		}

		// Round trip of every directory name, quotes doubled, with any text
		// before the opening quote (without quotes) and after the closing
		// one (not starting with a quote, which would double it).
		before = fuzzStrip(before, `"`)
		after = strings.TrimLeft(after, `"`)
		raw := fuzzQuotePWD(dir, before, after)
		got, err := parsePWD(raw)
		if err != nil || got != dir {
			t.Errorf("parsePWD(%q) = %q, %v; want %q", raw, got, err, dir)
		}
		// The same through the reply reader, for names that fit on a line.
		if fuzzOneLine(raw) == raw {
			rep := fuzzReadOne(t, "257 "+raw+"\r\n")
			if got, err := parsePWD(rep.Msg); err != nil || got != dir {
				t.Errorf("parsePWD(%q) = %q, %v; want %q", rep.Msg, got, err, dir)
			}
		}
	})
}

func fuzzQuotePWD(dir, before, after string) string {
	return before + `"` + strings.ReplaceAll(dir, `"`, `""`) + `"` + after
}

func FuzzParseFacts(f *testing.F) {
	f.Add("type=file;size=1234;modify=20240102150405; report.pdf", "Type", "file", "Size", "1234", "report.pdf")
	f.Add("Type=dir;Perm=el;Unique=803U1; my documents", "perm", "el", "unique", "803U1", "my documents")
	f.Add("type=file;size=1; name;with=odd chars ", "x", "", "", "", "name;with=odd chars ")
	f.Add(" type=file; leading space", "type", "OS.unix=slink:/a", "unix.mode", "0755", " leading space")
	f.Add("size=-1;size=99999999999999999999999; n", "size", "-1", "SIZE", "2", "n")
	f.Add("nofacts", "", "", "", "", "")
	f.Add("broken; n", "a", "b", "c", "d", "e")
	f.Add(";;;=; n", "", "=", "", "", "\x00")
	f.Add("TYPE=file;; ünïcødé/名前", "ÄÖÜ", "ß", "İ", "ı", "ünïcødé/名前")
	f.Fuzz(func(t *testing.T, entry, k1, v1, k2, v2, name string) {
		// Arbitrary input: facts have lower-case keys without ';' or '=',
		// values without ';' or ' ', and the name is the end of the entry.
		if facts, gotName, err := ParseFacts(entry); err != nil {
			if !errors.Is(err, ErrMalformedReply) {
				t.Errorf("ParseFacts(%q) error %v is not ErrMalformedReply", entry, err)
			}
		} else {
			if !strings.HasSuffix(entry, gotName) {
				t.Errorf("ParseFacts(%q) name %q is not the entry's end", entry, gotName)
			}
			for k, v := range facts {
				if strings.ToLower(k) != k || strings.ContainsAny(k, "; =") || strings.ContainsAny(v, "; ") {
					t.Errorf("ParseFacts(%q) fact %q=%q", entry, k, v)
				}
			}
		}

		// Round trip of facts whose keys and values have no ';', '=' or
		// ' ', and any name. There is always at least one fact: an entry
		// with an empty fact list (" name", RFC 3659 allows it) is refused
		// by ParseFacts, which trims the leading space.
		k1, v1, k2, v2 = fuzzStrip(k1, "; ="), fuzzStrip(v1, "; ="), fuzzStrip(k2, "; ="), fuzzStrip(v2, "; =")
		raw := k1 + "=" + v1 + ";" + k2 + "=" + v2 + "; " + name
		want := Facts{}
		want[strings.ToLower(k1)] = v1
		want[strings.ToLower(k2)] = v2
		facts, gotName, err := ParseFacts(raw)
		if err != nil || gotName != name || !fuzzEqualFacts(facts, want) {
			t.Errorf("ParseFacts(%q) = %q, %q, %v; want %q, %q", raw, facts, gotName, err, want, name)
		}
	})
}

func fuzzEqualFacts(a, b Facts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func FuzzParseFeat(f *testing.F) {
	f.Add("Features:\n MDTM\n REST STREAM\n SIZE\n MLST type*;size*;modify*;\n UTF8\nEnd", "HASH", "SHA-256*;MD5", "mlst", "size*;")
	f.Add("no features", "EPSV", "", "AUTH", "TLS")
	f.Add("Extensions supported:\n  mdtm  \n\tsize\n \n211 End", "x", "  spaced  params ", "X", "second wins")
	f.Add("\n\n\n", "LANG", "EN*;FR", "tvfs", "")
	f.Add("Features:\n ütf8\n İ\n", "ǅ", "ß", "ﬀ", "\x00\xff")
	f.Add("Features:\n MDTM\n SIZE", "A", "B", "C", "D")
	f.Fuzz(func(t *testing.T, msg, n1, p1, n2, p2 string) {
		// Arbitrary input: every feature has a non-empty upper-case name
		// without spaces and is found by Has.
		feats := parseFeat(msg)
		for name := range feats {
			if name == "" || strings.ContainsAny(name, " \n") || strings.ToUpper(name) != name || !feats.Has(name) {
				t.Errorf("parseFeat(%q) feature %q", msg, name)
			}
		}

		// Round trip: a multi-line 211 read as the reader goroutine reads
		// it, feature lines starting with a space.
		n1, n2 = fuzzFeatName(n1), fuzzFeatName(n2)
		p1, p2 = fuzzOneLine(p1), fuzzOneLine(p2)
		raw := "211-Features:\r\n " + n1 + " " + p1 + "\r\n " + n2 + "\r\n " + n2 + " " + p2 + "\r\n211 End\r\n"
		rep := fuzzReadOne(t, raw)
		feats = parseFeat(rep.Msg)
		want := Features{}
		want[strings.ToUpper(n1)] = strings.TrimSpace(p1)
		want[strings.ToUpper(n2)] = strings.TrimSpace(p2)
		if len(feats) != len(want) {
			t.Errorf("parseFeat(%q) = %q, want %q", rep.Msg, feats, want)
		}
		for name, params := range want {
			if got, ok := feats[name]; !ok || got != params {
				t.Errorf("parseFeat(%q) = %q, want %q", rep.Msg, feats, want)
			}
		}
		names := []string{n1, n2}
		if fuzzIsASCII(n1) {
			names = append(names, strings.ToLower(n1))
		}
		for _, name := range names {
			if !feats.Has(name) {
				t.Errorf("parseFeat(%q).Has(%q) = false", rep.Msg, name)
			}
		}
	})
}

func fuzzIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// fuzzFeatName makes s a feature name: no white space, not empty.
func fuzzFeatName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return "X"
	}
	return s
}

// fuzzChunkConn is a net.Conn that reads from a byte slice at most chunk
// bytes at a time, as TCP segments arrive.
type fuzzChunkConn struct {
	net.Conn // nil: only Read is used
	r        io.Reader
	chunk    int
}

func (c *fuzzChunkConn) Read(p []byte) (int, error) {
	if len(p) > c.chunk {
		p = p[:c.chunk]
	}
	return c.r.Read(p)
}

// fuzzReadAll reads replies until the first error (at most one per line, so
// it ends).
func fuzzReadAll(next func() (Reply, error), max int) ([]Reply, error) {
	var reps []Reply
	for range max + 1 {
		rep, err := next()
		if err != nil {
			return reps, err
		}
		reps = append(reps, rep)
	}
	return reps, fmt.Errorf("more than %d replies", max)
}

// textprotoNext reads replies with net/textproto, the reference for the
// reply syntax: our reader must read the same replies, and differ only
// where a cap applies.
func textprotoNext(r *textproto.Reader) func() (Reply, error) {
	return func() (Reply, error) {
		code, msg, err := r.ReadResponse(0)
		var pe textproto.ProtocolError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%w: %v", ErrMalformedReply, err)
		}
		return Reply{Code: code, Msg: msg}, err
	}
}

// fuzzEnd classifies how reading ended, for comparing readers: textproto
// reports a reply cut by the end of input as io.EOF, we as
// io.ErrUnexpectedEOF.
func fuzzEnd(err error) string {
	switch {
	case errors.Is(err, ErrMalformedReply):
		return "malformed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "end"
	}
	return fmt.Sprint(err)
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("220 Service ready\r\n"), uint16(4096))
	f.Add([]byte("220-Welcome\r\n220-to the server\r\n  indented\r\n220 ready\r\n331 Password required\r\n"), uint16(1))
	f.Add([]byte("211-Features:\r\n MDTM\r\n REST STREAM\r\n211 End\r\n"), uint16(7))
	f.Add([]byte("150 Opening\r\n226 Transfer complete\n200 NOOP ok\r\n"), uint16(3))
	f.Add([]byte("99 too small\r\n"), uint16(2))
	f.Add([]byte("1000 too big\r\n"), uint16(2))
	f.Add([]byte("-99 negative\r\n"), uint16(2))
	f.Add([]byte("+20 plus\r\n"), uint16(2))
	f.Add([]byte("220\r\n"), uint16(2))
	f.Add([]byte("220-never ends\r\n"), uint16(5))
	f.Add([]byte("220-mixed codes\r\n230 other\r\n220 end\r\n"), uint16(5))
	f.Add([]byte("220 no newline at the end"), uint16(5))
	f.Add([]byte("22\xc3\xa9 unicode\r\n"), uint16(5))
	f.Add([]byte("220 \xff\xfe\x00 binary\r\n"), uint16(5))
	f.Add([]byte("\r\n\r\n"), uint16(5))
	f.Add([]byte(""), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		lines := bytes.Count(b, []byte("\n")) + 1
		ours := newReplyReader(bytes.NewReader(b))
		reps, err := fuzzReadAll(ours.next, lines)
		for _, rep := range reps {
			if rep.Code < 100 || rep.Code > 999 {
				t.Errorf("reply code %d out of 100..999 in %q", rep.Code, b)
			}
		}
		if !errors.Is(err, ErrMalformedReply) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: error %v is neither a malformed reply nor the end of input", b, err)
		}

		// Below the caps, the same replies as net/textproto.
		if lines <= maxReplyLines && len(b) <= maxLine {
			ref, rerr := fuzzReadAll(textprotoNext(textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))), lines)
			// textproto reads on after a first line "ddd-" with a code
			// below 100 and reports the end of input; we refuse the line.
			sameEnd := fuzzEnd(rerr) == fuzzEnd(err) || fuzzEnd(err) == "malformed" && fuzzEnd(rerr) == "end"
			if len(ref) != len(reps) || !sameEnd {
				t.Fatalf("%q: textproto: %v, %v; ours: %v, %v", b, ref, rerr, reps, err)
			}
			for i := range ref {
				if ref[i] != reps[i] {
					t.Errorf("%q: reply %d: textproto %v, ours %v", b, i, ref[i], reps[i])
				}
			}
		}

		// The same bytes through the connection's own reader (liveness), in
		// segments of any size, give the same replies and the same end.
		c := &Conn{nc: &fuzzChunkConn{r: bytes.NewReader(b), chunk: 1 + int(chunk)%4096}}
		reps2, err2 := fuzzReadAll(c.newReader().next, lines)
		if len(reps2) != len(reps) || fmt.Sprint(err2) != fmt.Sprint(err) {
			t.Fatalf("%q: whole: %v, %v; in segments: %v, %v", b, reps, err, reps2, err2)
		}
		for i := range reps {
			if reps[i] != reps2[i] {
				t.Errorf("%q: reply %d: whole %v, in segments %v", b, i, reps[i], reps2[i])
			}
		}
		if c.lastRecv.Load() == 0 && len(b) > 0 {
			t.Errorf("%q: no activity recorded", b)
		}
	})
}

func FuzzReplyFormat(f *testing.F) {
	f.Add(uint16(220), "Service ready", "", "")
	f.Add(uint16(230), "Welcome", " line two", "logged in")
	f.Add(uint16(999), "", "", "")
	f.Add(uint16(100), "  leading and trailing  ", "\ttab", " ")
	f.Add(uint16(0), "x", "230 looks like a code", "y")
	f.Add(uint16(211), "ünïcødé", " 日本語", "\x00\xff")
	f.Fuzz(func(t *testing.T, code uint16, first, mid, last string) {
		// Round trip of every code 100..999 and any text, single and
		// multi-line. Continuation lines start with a space (RFC 959), so
		// they cannot be taken for the last line.
		code = 100 + code%900
		first, mid, last = fuzzOneLine(first), fuzzOneLine(mid), fuzzOneLine(last)
		rep := fuzzReadOne(t, fmt.Sprintf("%03d %s\r\n", code, first))
		if rep != (Reply{Code: int(code), Msg: first}) {
			t.Errorf("single line: %v, want %d %q", rep, code, first)
		}
		mid = " " + mid
		raw := fmt.Sprintf("%03d-%s\r\n%s\r\n%03d-%s\r\n%03d %s\r\n", code, first, mid, code, mid, code, last)
		rep = fuzzReadOne(t, raw)
		want := Reply{Code: int(code), Msg: first + "\n" + mid + "\n" + mid + "\n" + last}
		if rep != want {
			t.Errorf("multi-line %q: %+v, want %+v", raw, rep, want)
		}
	})
}

// FuzzReplyLineLimit feeds a reply with one long line through the
// connection's reader in segments of any size. A line of at most maxLine
// bytes (without its CRLF) must come through whole; a longer one must end
// the reading with ErrMalformedReply and never be delivered, whole or in
// part, as a reply.
func FuzzReplyLineLimit(f *testing.F) {
	f.Add(uint16(220), uint32(10), uint16(4096), false)
	f.Add(uint16(211), uint32(10), uint16(1), true)
	f.Add(uint16(220), uint32(maxLine-4), uint16(4096), false)
	f.Add(uint16(220), uint32(maxLine-3), uint16(4096), false)
	f.Add(uint16(211), uint32(maxLine), uint16(1000), true)
	f.Add(uint16(211), uint32(maxLine+1), uint16(1000), true)
	f.Fuzz(func(t *testing.T, code uint16, n uint32, chunk uint16, multi bool) {
		code = 100 + code%900
		n %= 3 * maxLine
		text := strings.Repeat("x", int(n))
		var raw string
		var lineLen int // bytes of the long line, without its CRLF
		var want Reply
		if multi {
			raw = fmt.Sprintf("%03d-first\r\n%s\r\n%03d end\r\n", code, text, code)
			lineLen = len(text)
			want = Reply{Code: int(code), Msg: "first\n" + text + "\nend"}
		} else {
			raw = fmt.Sprintf("%03d %s\r\n", code, text)
			lineLen = 4 + len(text)
			want = Reply{Code: int(code), Msg: text}
		}
		raw += "200 next\r\n"
		c := &Conn{nc: &fuzzChunkConn{r: strings.NewReader(raw), chunk: 1 + int(chunk)%4096}}
		r := c.newReader()
		rep, err := r.next()
		switch {
		case err == nil && rep != want:
			t.Fatalf("line of %d bytes: got a reply of code %d with %d bytes of text, want %d", lineLen, rep.Code, len(rep.Msg), len(want.Msg))
		case err == nil && lineLen > maxLine:
			t.Fatalf("line of %d bytes accepted, limit %d", lineLen, maxLine)
		case err != nil && lineLen <= maxLine:
			t.Fatalf("line of %d bytes refused: %v", lineLen, err)
		case err != nil && !errors.Is(err, ErrMalformedReply):
			t.Fatalf("line of %d bytes: error %v, want ErrMalformedReply", lineLen, err)
		case err == nil:
			if rep, err := r.next(); err != nil || rep != (Reply{Code: 200, Msg: "next"}) {
				t.Fatalf("reply after the long line: %v, %v", rep, err)
			}
		}
	})
}

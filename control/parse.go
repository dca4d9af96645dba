package control

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// parsePASV extracts the address of a 227 reply:
// "Entering Passive Mode (h1,h2,h3,h4,p1,p2)". Servers vary the text around
// the six numbers, and some omit the parentheses, so the numbers are found
// as the first run of six comma-separated integers.
func parsePASV(msg string) (netip.AddrPort, error) {
	start := strings.IndexAny(msg, "0123456789")
	for start >= 0 && start < len(msg) {
		end := start
		for end < len(msg) && (msg[end] == ',' || msg[end] >= '0' && msg[end] <= '9') {
			end++
		}
		negative := start > 0 && msg[start-1] == '-'
		if parts := strings.Split(msg[start:end], ","); len(parts) == 6 && !negative {
			var b [6]byte
			ok := true
			for i, p := range parts {
				n, err := strconv.Atoi(p)
				if err != nil || n < 0 || n > 255 {
					ok = false
					break
				}
				b[i] = byte(n)
			}
			if ok {
				addr := netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
				return netip.AddrPortFrom(addr, uint16(b[4])<<8|uint16(b[5])), nil
			}
		}
		next := strings.IndexAny(msg[end:], "0123456789")
		if next < 0 {
			break
		}
		start = end + next
	}
	return netip.AddrPort{}, fmt.Errorf("%w: PASV reply without an address: %q", ErrMalformedReply, msg)
}

// parseEPSV extracts the port of a 229 reply:
// "Entering Extended Passive Mode (|||port|)" (RFC 2428). The delimiter is
// whatever character follows "(", per the RFC.
func parseEPSV(msg string) (uint16, error) {
	i := strings.IndexByte(msg, '(')
	j := strings.LastIndexByte(msg, ')')
	if i < 0 || j < i+5 {
		return 0, fmt.Errorf("%w: EPSV reply without (|||port|): %q", ErrMalformedReply, msg)
	}
	inner := msg[i+1 : j]
	d := inner[0]
	fields := strings.Split(inner, string(d))
	// "|||6446|" splits into "", "", "", "6446", "".
	if len(fields) != 5 || fields[4] != "" {
		return 0, fmt.Errorf("%w: EPSV reply without (|||port|): %q", ErrMalformedReply, msg)
	}
	port, err := strconv.ParseUint(fields[3], 10, 16)
	if err != nil || port == 0 {
		return 0, fmt.Errorf("%w: EPSV port %q", ErrMalformedReply, fields[3])
	}
	return uint16(port), nil
}

// parseSize parses a 213 reply to SIZE.
func parseSize(msg string) (int64, error) {
	f := strings.Fields(msg)
	if len(f) == 0 {
		return 0, fmt.Errorf("%w: empty SIZE reply", ErrMalformedReply)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: SIZE reply %q", ErrMalformedReply, msg)
	}
	return n, nil
}

// ParseTime parses an RFC 3659 time-val ("YYYYMMDDHHMMSS[.sss]"), which is
// always UTC, as found in MDTM replies and MLST "modify" facts.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	layout := "20060102150405"
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := s[i+1:]
		if len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, fmt.Errorf("%w: time-val %q", ErrMalformedReply, s)
		}
		layout += "." + strings.Repeat("0", len(frac))
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time-val %q", ErrMalformedReply, s)
	}
	return t, nil
}

// parsePWD extracts the directory from a 257 reply: `"/dir" is current`,
// with "" standing for a quote inside the name (RFC 959 appendix II).
func parsePWD(msg string) (string, error) {
	i := strings.IndexByte(msg, '"')
	if i < 0 {
		return "", fmt.Errorf("%w: PWD reply without a quoted path: %q", ErrMalformedReply, msg)
	}
	var b strings.Builder
	for j := i + 1; j < len(msg); j++ {
		if msg[j] != '"' {
			b.WriteByte(msg[j])
			continue
		}
		if j+1 < len(msg) && msg[j+1] == '"' {
			b.WriteByte('"')
			j++
			continue
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("%w: PWD reply with an unterminated path: %q", ErrMalformedReply, msg)
}

// Facts are the RFC 3659 MLST facts of one file, keys in lower case.
type Facts map[string]string

// ParseFacts parses an MLST/MLSD entry "fact=value;fact=value; name" into
// its facts and the name.
//
// The facts may be empty: RFC 3659 has entry = [facts] SP pathname, so
// " name" is a name with no facts.
func ParseFacts(entry string) (Facts, string, error) {
	sp := strings.IndexByte(entry, ' ')
	if sp < 0 {
		return nil, "", fmt.Errorf("%w: MLST entry without a name: %q", ErrMalformedReply, entry)
	}
	facts := Facts{}
	for _, f := range strings.Split(entry[:sp], ";") {
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, "", fmt.Errorf("%w: MLST fact %q", ErrMalformedReply, f)
		}
		facts[strings.ToLower(k)] = v
	}
	return facts, entry[sp+1:], nil
}

// Features is a server's FEAT reply: feature name (upper case) -> its
// parameters as sent (e.g. "REST" -> "STREAM", "HASH" -> "SHA-256*;MD5").
type Features map[string]string

// parseFeat parses a 211 FEAT reply. Feature lines start with a space; the
// first and last lines are free text.
func parseFeat(msg string) Features {
	feats := Features{}
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		if i == 0 || i == len(lines)-1 && !strings.HasPrefix(line, " ") {
			continue
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, params, _ := strings.Cut(line, " ")
		feats[strings.ToUpper(name)] = strings.TrimSpace(params)
	}
	return feats
}

// Has reports whether the server announced feature name.
func (f Features) Has(name string) bool {
	_, ok := f[strings.ToUpper(name)]
	return ok
}

// RestStream reports whether the server announced "REST STREAM" (RFC
// 3659): REST before STOR resumes an upload.
func (f Features) RestStream() bool {
	return strings.EqualFold(strings.TrimSpace(f["REST"]), "STREAM")
}

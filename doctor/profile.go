package doctor

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keepftp/keepftp/internal/profile"
	"github.com/keepftp/keepftp/noop"
)

// The server's learned profile: what this report found is remembered for
// later runs (the idle limit sets their keepalive), and an idle limit
// learned before, by an earlier doctor or by a transfer whose control
// connection died after a silence, stands in for the idle probe when it
// is not run.

// profile merges the report into the server's profile, or takes the idle
// limit from it, unless o.NoProfile.
func (o *Options) profile(addr string, r *Report, tlsVersion uint16) {
	if o.NoProfile {
		return
	}
	s, err := profile.Open(o.ProfileDir)
	if err != nil {
		r.Notes = append(r.Notes, "profile: "+err.Error())
		return
	}
	k := profile.Key{Addr: addr, User: o.user}
	if r.Idle == nil {
		p, ok, _ := s.Load(k)
		p.Expire(time.Now())
		if ok && p.Idle != nil {
			r.Idle = &IdleResult{Survived: Duration(p.Idle.Survived), Failed: Duration(p.Idle.Failed), Max: Duration(p.Idle.Survived),
				How: "remembered: " + p.Idle.Describe(p.Updated)}
		}
	}
	seen := profile.Seen{Noop: noopBehaviour(r.NoopDownload, r.NoopUpload), NoopSource: profile.SourceNoopProbe}
	if r.Idle != nil && !strings.HasPrefix(r.Idle.How, "remembered") {
		seen.Measured = &profile.Measure{Survived: time.Duration(r.Idle.Survived), Failed: time.Duration(r.Idle.Failed)}
	}
	// EPSV was probed; MLSD too unless its probe failed; doctor asks for
	// no hash, so the hash commands refused to transfers stay.
	epsv, mlsd := r.EPSV, r.MLSD
	seen.Features = &profile.Features{EPSV: &epsv, RestStream: r.RestStream, Hashes: r.Hashes}
	if !hasNote(r.Notes, "MLSD: ") {
		seen.Features.MLSD = &mlsd
	}
	if tlsVersion != 0 {
		seen.TLS = tls.VersionName(tlsVersion)
	}
	err = s.Update(k, func(p *profile.Profile) { p.Learn(seen, time.Now()) })
	if err != nil {
		r.Notes = append(r.Notes, "profile not saved: "+err.Error())
		return
	}
	r.Profile = s.Path(k)
}

// noopBehaviour is what the probes found: an abort in either direction
// wins, then the download's answer, then the upload's.
func noopBehaviour(download, upload string) noop.Behaviour {
	d, u := parseBehaviour(download), parseBehaviour(upload)
	switch {
	case d == noop.Aborts || u == noop.Aborts:
		return noop.Aborts
	case d != noop.Unknown:
		return d
	}
	return u
}

func parseBehaviour(s string) noop.Behaviour {
	for b := noop.AtOnce; b <= noop.Aborts; b++ {
		if b.String() == s {
			return b
		}
	}
	return noop.Unknown
}

func hasNote(notes []string, prefix string) bool {
	for _, n := range notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// ShowProfile writes what keepftp remembers about the server at addr
// ("host:port") for user, as text or JSON; found is false when nothing is
// remembered. dir "" is the default profile directory.
func ShowProfile(w io.Writer, addr, user, dir string, asJSON bool) (found bool, err error) {
	s, err := profile.Open(dir)
	if err != nil {
		return false, err
	}
	p, ok, err := s.Load(profile.Key{Addr: addr, User: user})
	if err != nil || !ok {
		return false, err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(p)
	}
	fmt.Fprintf(w, "profile:              %s\n", s.Path(profile.Key{Addr: addr, User: user}))
	p.WriteText(w)
	return true, nil
}

// ForgetProfile removes what keepftp remembers about the server at addr
// for user; found is false when nothing was remembered.
func ForgetProfile(addr, user, dir string) (found bool, err error) {
	s, err := profile.Open(dir)
	if err != nil {
		return false, err
	}
	return s.Remove(profile.Key{Addr: addr, User: user})
}

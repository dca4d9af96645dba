package doctor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"sync/atomic"
	"time"

	"github.com/keepftp/keepftp"
	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/internal/noproxy"
	"github.com/keepftp/keepftp/noop"
	"github.com/keepftp/keepftp/transfer"
)

// Options say how to reach the server, as a keepftp.Client's do, and tune
// the probes.
type Options struct {
	// Timeout is how long each probe waits for an answer (default
	// keepftp.DefaultTimeout).
	Timeout time.Duration
	// TLS, Proxy and Credentials are the keepftp.Options of the same
	// names: the certificate settings of ftps:// and ftpes:// URLs, the
	// proxy the server is reached through, and what completes the URL's
	// login.
	TLS         keepftp.TLSOptions
	Proxy       keepftp.ProxyOptions
	Credentials func(*keepftp.Target) error

	IdleProbe bool          // also measure the path's control-idle limit
	MinIdle   time.Duration // first silent gap of the idle probe (default 1s)
	MaxIdle   time.Duration // longest gap tried (default 5m)
	ProbeSize int64         // bytes moved by each transfer probe (default 1 MiB)
	ProbeTime time.Duration // how long each transfer probe lasts (default 2s)

	// Logf, if set, receives what the probes do, for a human;
	// ProtocolLog the FTP conversation, passwords masked.
	Logf        func(format string, args ...any)
	ProtocolLog func(format string, args ...any)

	// NoProfile leaves the server's learned profile alone (profile.go):
	// by default the report is remembered for later runs, and an idle
	// limit learned before is reported when IdleProbe is off.
	NoProfile  bool
	ProfileDir string // "" is os.UserCacheDir()/keepftp

	cfg  control.Config // each probe's connection: login, TLS, proxy, timeout
	user string         // the login, for the profile
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Run probes the server of rawURL (ftp://, ftps:// or ftpes://, as a
// keepftp.Client takes it). Its path names a file to download for the
// download probe, or a directory; the upload probe writes a temporary file
// beside it (or in it) and deletes it again.
func Run(ctx context.Context, rawURL string, o Options) (Report, error) {
	t, err := keepftp.ParseURL(rawURL)
	if err == nil && o.Credentials != nil {
		err = o.Credentials(&t)
	}
	if err != nil {
		return Report{}, err
	}
	if err := o.connect(t); err != nil {
		return Report{Server: t.Addr}, err
	}
	return o.run(ctx, t.Addr, t.Path)
}

// connect makes the probes' connection settings of t and the options.
func (o *Options) connect(t keepftp.Target) error {
	o.user = t.User
	o.cfg = control.Config{User: t.User, Password: t.Password, TLSMode: control.TLSMode(t.TLSMode), Timeout: o.Timeout, Logf: o.ProtocolLog}
	if !o.TLS.IsZero() {
		tc, err := o.TLS.Config()
		if err != nil {
			return fmt.Errorf("TLS options: %w", err)
		}
		o.cfg.TLS = tc
	}
	p, err := noproxy.Choose(o.Proxy.URL, o.Proxy.NoProxy, noproxy.Env(o.Proxy.Environment, o.Proxy.Getenv), t.Addr, t.TLSMode == keepftp.TLSImplicit)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	o.cfg.Proxy = p
	return nil
}

func (o *Options) run(ctx context.Context, addr, filePath string) (Report, error) {
	if o.ProbeSize <= 0 {
		o.ProbeSize = 1 << 20
	}
	if o.ProbeTime <= 0 {
		o.ProbeTime = 2 * time.Second
	}
	if o.MinIdle <= 0 {
		o.MinIdle = time.Second
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 5 * time.Minute
	}
	r := Report{Server: addr}
	c, err := control.Dial(ctx, addr, o.cfg)
	if err != nil {
		return r, err
	}
	defer c.Close()
	r.Greeting = c.Greeting()
	feats := c.Features()
	r.Features = feats
	r.RestStream = feats.RestStream()
	r.Hashes = feats.HashAlgos()
	r.TLS = feats.Has("AUTH")
	if r.TLS && o.cfg.TLSMode == control.TLSNone {
		r.TLSCheck = probeTLS(ctx, addr, o.cfg)
	}
	if _, err := c.Cmd(ctx, 229, "EPSV", ""); err == nil {
		r.EPSV = true
	}
	if _, err := c.Cmd(ctx, 227, "PASV", ""); err == nil {
		r.PASV = true
	}

	dir := filePath
	size, err := c.Size(ctx, filePath)
	isFile := err == nil
	if isFile {
		dir = path.Dir(filePath)
	}
	if r.MLSD, err = probeMLSD(ctx, c, dir); err != nil {
		r.Notes = append(r.Notes, "MLSD: "+err.Error())
	}

	server := c.RemoteAddr().String()
	rate := max(o.ProbeSize*int64(time.Second)/int64(o.ProbeTime), 1)
	keep := o.ProbeTime / 12 // about ten NOOPs per probe

	// Upload probe: a temporary file that the download probe reads back.
	probeName := path.Join(dir, fmt.Sprintf(".keepftp-doctor-%x", randBytes(4)))
	r.NoopUpload, err = o.transferProbe(ctx, addr, server, func(ctx context.Context, c *control.Conn, opts transfer.Options) error {
		_, err := transfer.Upload(ctx, c, probeName, 0, io.LimitReader(rand.Reader, o.ProbeSize), o.ProbeSize, opts)
		return err
	}, rate, keep)
	uploaded := err == nil
	if err != nil {
		r.Notes = append(r.Notes, "upload probe: "+err.Error())
	}
	// Download probe: a file bigger than the socket buffers, or the server
	// finishes "its" transfer into them at once and every NOOP looks
	// answered after it.
	dl := ""
	switch {
	case isFile && size >= downloadProbeMin:
		dl = filePath
	case uploaded:
		bigName := probeName + "-big"
		if err := o.uploadFile(ctx, addr, bigName, downloadProbeMin); err == nil {
			dl = bigName
			defer o.remove(ctx, addr, bigName)
		} else {
			r.Notes = append(r.Notes, "download probe: uploading its file: "+err.Error())
		}
	case isFile:
		dl = filePath
		r.Notes = append(r.Notes, fmt.Sprintf("download probe: %s is smaller than %d MiB; NOOPs may look answered after the transfer", filePath, downloadProbeMin>>20))
	}
	if dl != "" {
		r.NoopDownload, err = o.downloadProbe(ctx, addr, server, dl, keep)
		if err != nil {
			r.Notes = append(r.Notes, "download probe: "+err.Error())
		}
	} else {
		r.NoopDownload = "not probed: give the URL of a file, or a directory where uploads are allowed"
	}
	if uploaded {
		o.remove(ctx, addr, probeName)
	}
	if o.IdleProbe {
		res := o.probeIdle(ctx, addr)
		r.Idle = &res
	}
	o.profile(addr, &r, c.TLSVersion()) // remembered for later runs
	r.Recommend = recommend(r.Idle)
	return r, nil
}

// transferProbe runs one transfer with NOOPs every keep at the given rate,
// on a connection of its own, and says how the server answered them. A
// failure right after a NOOP is tried once more: a server that aborts does
// it again.
func (o *Options) transferProbe(ctx context.Context, addr, server string, run func(context.Context, *control.Conn, transfer.Options) error, rate int64, keep time.Duration) (string, error) {
	reg := &noop.Registry{}
	var err error
	for i := 0; i < 2; i++ {
		var c *control.Conn
		c, err = control.Dial(ctx, addr, o.cfg)
		if err != nil {
			return "unknown (could not connect)", err
		}
		opts := transfer.Options{Keepalive: keep, Noops: reg, Limiter: transfer.NewLimiter(rate), Timeout: o.cfg.Timeout}
		err = run(ctx, c, opts)
		c.Quit(ctx)
		if b := reg.Behaviour(server); b == noop.Aborts || err == nil {
			if b == noop.Unknown {
				return "unknown (no NOOP was sent: the transfer was too short)", nil
			}
			return b.String(), nil
		}
	}
	return "unknown (the probe failed)", err
}

// downloadProbeMin is the size of file the download probe needs: more than
// loopback's socket buffers (a few MiB) plus what it reads.
const downloadProbeMin = 16 << 20

// downloadProbe reads a file slowly for ProbeTime while writing NOOPs, then
// closes the data connection, and classifies the answers: before the final
// reply, after it (found by the resync), 5xx, missing, or an abort (the
// final reply came first, as a failure, right after NOOPs). It is done
// twice when the first looks like an abort.
func (o *Options) downloadProbe(ctx context.Context, addr, server, file string, keep time.Duration) (string, error) {
	reg := &noop.Registry{}
	// Read steadily, fast enough that the server is writing (pure-ftpd
	// looks at its control connection only then), slow enough that the
	// file lasts the probe.
	rate := downloadProbeMin * int64(time.Second) / int64(o.ProbeTime+time.Second)
	for i := 0; i < 2; i++ {
		c, err := control.Dial(ctx, addr, o.cfg)
		if err != nil {
			return "unknown (could not connect)", err
		}
		t, err := c.StartTransfer(ctx, "RETR", file, 0)
		if err != nil {
			c.Close()
			return "unknown (the probe failed)", err
		}
		readDone := make(chan error, 1)
		var lastRead atomic.Int64 // unix nanos of the last data read
		lastRead.Store(time.Now().UnixNano())
		go func() {
			lim := transfer.NewLimiter(rate)
			buf := make([]byte, lim.Burst())
			for {
				n, err := t.Data.Read(buf)
				if n > 0 {
					lastRead.Store(time.Now().UnixNano())
				}
				if err != nil {
					readDone <- err
					return
				}
				lim.WaitN(ctx, n)
			}
		}()
		var obs noop.Observation
		var ending noop.Ending // only a failure reply right after a NOOP, data flowing, is an abort
		gotFinal, failed := false, false
		tick := time.NewTicker(keep)
		end := time.After(o.ProbeTime)
	probe:
		for {
			select {
			case <-tick.C:
				if t.Noop() == nil {
					obs.Sent++
					ending.LastNoop = time.Now()
				}
			case ans := <-t.NoopAnswers():
				obs.During = append(obs.During, ans.Code)
			case rep := <-t.Final():
				gotFinal, failed = true, !rep.OK()
				ending.Reply, ending.ReplyAt = rep.Code, time.Now()
				ending.LastData = time.Unix(0, lastRead.Load())
				break probe
			case <-t.Lost():
				failed = true
				break probe
			case <-readDone:
				break probe // the file ended (or broke) before the probe did
			case <-end:
				break probe
			}
		}
		tick.Stop()
		t.Data.Close()
		if !gotFinal && !failed {
			select { // the server's 426 (or 226) for the closed connection
			case <-t.Final():
				gotFinal = true
			case <-t.Lost():
			case <-time.After(c.Timeout()):
			}
		}
		for len(t.NoopAnswers()) > 0 {
			obs.During = append(obs.During, (<-t.NoopAnswers()).Code)
		}
		if gotFinal {
			stale, _ := t.End(ctx, true)
			obs.After = len(stale)
		} else {
			t.End(ctx, false)
		}
		rtt := c.RTT()
		c.Close()
		if failed && !ending.ReplyAt.IsZero() && obs.Sent > 0 {
			ending.Window = noop.AnswerWindow(rtt)
			ending.Unanswered = len(obs.During)+obs.After < obs.Sent
			obs.Abort = ending.ServerAborted()
		}
		obs.Clean = !failed && obs.Sent > 0 // the probe's reading ran its time with NOOPs answered or not
		reg.Observe(server, obs)
		if b := reg.Behaviour(server); b != noop.Unknown && !failed || b == noop.Aborts {
			return b.String(), nil
		}
		if !failed && obs.Sent == 0 {
			return "unknown (no NOOP was sent)", nil
		}
	}
	return "unknown (the download failed twice)", nil
}

// uploadFile stores size random bytes at name, at full speed.
func (o *Options) uploadFile(ctx context.Context, addr, name string, size int64) error {
	c, err := control.Dial(ctx, addr, o.cfg)
	if err != nil {
		return err
	}
	defer c.Quit(ctx)
	_, err = transfer.Upload(ctx, c, name, 0, io.LimitReader(rand.Reader, size), size, transfer.Options{NoKeepalive: true})
	return err
}

func (o *Options) remove(ctx context.Context, addr, name string) {
	if c, err := control.Dial(ctx, addr, o.cfg); err == nil {
		c.Cmd(ctx, 2, "DELE", name)
		c.Quit(ctx)
	}
}

// probeMLSD lists dir with MLSD (RFC 3659): vsftpd, for one, has none.
func probeMLSD(ctx context.Context, c *control.Conn, dir string) (bool, error) {
	t, err := c.StartTransfer(ctx, "MLSD", dir, 0)
	if control.IsPermanent(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, t.Data)
	t.Data.Close()
	select {
	case rep := <-t.Final():
		t.End(ctx, true)
		if !rep.OK() {
			return false, fmt.Errorf("%d %s", rep.Code, rep.Msg)
		}
		return true, nil
	case <-t.Lost():
		return false, c.Err()
	case <-time.After(c.Timeout()):
		t.End(ctx, false)
		return false, errors.New("no final reply")
	}
}

// probeTLS logs in with AUTH TLS, certificates verified as configured, and
// says how it went: what ftpes:// would meet.
func probeTLS(ctx context.Context, addr string, cfg control.Config) string {
	cfg.TLSMode = control.TLSExplicit
	c, err := control.Dial(ctx, addr, cfg)
	if err != nil {
		return "AUTH TLS failed: " + err.Error()
	}
	c.Quit(ctx)
	if cfg.TLS != nil && cfg.TLS.InsecureSkipVerify {
		return "AUTH TLS works (certificate not verified: --insecure)"
	}
	return "AUTH TLS works, certificate verified"
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// probeIdle finds after how long of silence the path (a NAT, a firewall,
// or the server's own timer) drops the control connection: silent gaps
// that double from MinIdle, then a bisection until the bounds are within
// 20% of each other. Each gap uses a fresh connection with TCP keepalive
// off, since keepalive probes would refresh a NAT and hide its limit.
func (o *Options) probeIdle(ctx context.Context, addr string) IdleResult {
	res := IdleResult{Max: Duration(o.MaxIdle)}
	survived, failed := time.Duration(0), time.Duration(0)
	for gap := o.MinIdle; gap <= o.MaxIdle; gap *= 2 {
		ok, how := o.survives(ctx, addr, gap)
		if ctx.Err() != nil {
			return res
		}
		if !ok {
			failed, res.How = gap, how
			break
		}
		survived = gap
		if gap == o.MaxIdle {
			break
		}
		if gap*2 > o.MaxIdle {
			gap = o.MaxIdle / 2 // the last step tries MaxIdle itself
		}
	}
	for failed > 0 && failed-survived > survived/5 {
		mid := (survived + failed) / 2
		if ok, how := o.survives(ctx, addr, mid); ok {
			survived = mid
		} else {
			failed, res.How = mid, how
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Survived, res.Failed = Duration(survived), Duration(failed)
	return res
}

// survives reports whether a control connection silent for gap still
// answers a NOOP.
func (o *Options) survives(ctx context.Context, addr string, gap time.Duration) (bool, string) {
	cfg := o.cfg
	d := net.Dialer{KeepAlive: -1, Timeout: cfg.Timeout}
	cfg.DialContext = d.DialContext
	c, err := control.Dial(ctx, addr, cfg)
	if err != nil {
		return false, "could not connect: " + err.Error()
	}
	defer c.Close()
	o.logf("idle probe: silent for %v", gap)
	select {
	case <-time.After(gap):
	case <-ctx.Done():
		return false, ctx.Err().Error()
	case <-c.Done():
		return false, "closed while idle: " + errString(c.Err())
	}
	err = c.Noop(ctx)
	switch {
	case err == nil:
		return true, ""
	case errors.Is(err, control.ErrPeerDown):
		return false, "silently dropped (no answer)"
	case errors.Is(err, control.ErrUnavailable):
		return false, "the server's idle timer (421)"
	default:
		return false, "reset: " + err.Error()
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// recommend derives keepftp's settings: a NOOP well inside the idle limit
// (half of it), and the timeout four keepalives long (the Ouroboros rule).
func recommend(idle *IdleResult) Recommendation {
	def := Recommendation{Timeout: Duration(control.DefaultTimeout), Keepalive: Duration(noop.Interval(control.DefaultTimeout))}
	if idle == nil {
		def.Why = "defaults; run with --idle-probe to measure the path"
		return def
	}
	if idle.Failed == 0 {
		def.Why = fmt.Sprintf("no idle limit up to %s: the defaults keep well inside it", idle.Max)
		return def
	}
	keep := (time.Duration(idle.Survived) / 2).Truncate(100 * time.Millisecond)
	if idle.Survived == 0 { // only a failure is known (remembered from a dead connection)
		keep = (time.Duration(idle.Failed) / 4).Truncate(100 * time.Millisecond)
	}
	if keep <= 0 {
		keep = 100 * time.Millisecond
	}
	if keep >= noop.Interval(control.DefaultTimeout) {
		def.Why = fmt.Sprintf("idle limit above %s: the defaults keep inside it", idle.Survived)
		return def
	}
	why := fmt.Sprintf("a NOOP at half the idle limit (%s survived, %s did not)", idle.Survived, idle.Failed)
	if idle.Survived == 0 {
		why = fmt.Sprintf("a NOOP at a quarter of the silence after which a control connection died (%s)", idle.Failed)
	}
	return Recommendation{
		Timeout:   Duration(4 * keep),
		Keepalive: Duration(keep),
		Why:       why,
	}
}

package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/noop"
)

// Result is what one attempt saw, whether it succeeded or not.
type Result struct {
	Bytes     int64         // data bytes moved in this attempt
	DataEOF   bool          // the data connection ended cleanly (download) or all data was sent (upload)
	Final     control.Reply // the final reply, if GotFinal
	GotFinal  bool
	NoopsSent int
}

// Download runs one RETR attempt of path, starting at offset (REST when
// positive), writing the data to w. want is the number of bytes this
// attempt must deliver (size - offset), or -1 when the size is unknown.
// Give w as an *os.File, with no Limiter, to keep the zero-copy path.
func Download(ctx context.Context, c *control.Conn, path string, offset, want int64, w io.Writer, o Options) (Result, error) {
	t, err := c.StartTransfer(ctx, "RETR", path, offset)
	if err != nil {
		return Result{}, err
	}
	if res, err := resumed(ctx, t, path, offset, o); err != nil {
		return res, err
	}
	return run(ctx, t, w, t.Data, offset, want, dlWhole, o)
}

// DownloadRange runs one attempt at the bytes [offset, offset+length) of
// path: REST offset, RETR, and once length bytes arrived the data
// connection is closed and the transfer aborted. The server's 426 and
// ABOR's answer are read on the control connection, which stays usable
// (it is closed if they do not come). Overlap works as in Download. A
// server that ends the data before length bytes is ErrShort.
func DownloadRange(ctx context.Context, c *control.Conn, path string, offset, length int64, w io.Writer, o Options) (Result, error) {
	t, err := c.StartTransfer(ctx, "RETR", path, offset)
	if err != nil {
		return Result{}, err
	}
	if res, err := resumed(ctx, t, path, offset, o); err != nil {
		return res, err
	}
	return run(ctx, t, w, t.Data, offset, length, dlRange, o)
}

// progressEvery is the least time between two wake-ups of an attempt's
// multiplexer for progress: its stall deadline and its Progress calls are
// that much behind the data at most.
const progressEvery = 10 * time.Millisecond

// mode is what an attempt moves.
type mode int

const (
	dlWhole mode = iota // a download to the file's end
	dlRange             // a download of a range, stopped at its end
	upload
)

// abortGrace bounds the wait for the replies to ABOR when the user
// interrupted: Ctrl-C must end keepftp promptly.
const abortGrace = time.Second

// resumed checks the overlap of a resumed download, if it has one. On a
// failure the transfer is aborted: at once, with a short grace for ABOR's
// reply, when ctx was cancelled (a stalling server may never answer it).
func resumed(ctx context.Context, t *control.Transfer, path string, offset int64, o Options) (Result, error) {
	if len(o.Overlap) == 0 {
		return Result{}, nil
	}
	err := checkOverlap(ctx, t, o.Overlap, o.Timeout)
	switch {
	case err == nil:
		return Result{}, nil
	case ctx.Err() != nil:
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortGrace)
		defer cancel()
		t.Abort(actx)
		return Result{}, ctx.Err()
	}
	t.Abort(context.WithoutCancel(ctx))
	return Result{Bytes: int64(len(o.Overlap))}, fmt.Errorf("RETR %s from %d: %w", path, offset, err)
}

// checkOverlap reads the first len(overlap) bytes of a resumed download and
// compares them with the local data they must repeat. One read outside the
// multiplexer (the overlap is small), bounded by the timeout and by ctx: a
// cancel closes the data connection under it.
func checkOverlap(ctx context.Context, t *control.Transfer, overlap []byte, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = t.Conn().Timeout()
	}
	t.Data.SetReadDeadline(time.Now().Add(timeout))
	defer t.Data.SetReadDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { t.Data.Close() })
	defer stop()
	got := make([]byte, len(overlap))
	if _, err := io.ReadFull(t.Data, got); err != nil {
		return fmt.Errorf("reading the overlap: %w", err)
	}
	if !bytes.Equal(got, overlap) {
		return ErrOverlap
	}
	return nil
}

// Upload runs one upload attempt of path, the server already holding its
// first offset bytes: from 0 it is STOR; from an offset it is REST and STOR
// where FEAT announces REST STREAM, APPE elsewhere. The data comes from r
// (from offset on); want is its length, or -1 when unknown.
func Upload(ctx context.Context, c *control.Conn, path string, offset int64, r io.Reader, want int64, o Options) (Result, error) {
	verb, rest := "STOR", offset
	if offset > 0 && !c.Features().RestStream() {
		verb, rest = "APPE", 0
	}
	t, err := c.StartTransfer(ctx, verb, path, rest)
	if err != nil {
		return Result{}, err
	}
	return run(ctx, t, t.Data, r, offset, want, upload, o)
}

// mux is the state of the multiplexer of one attempt.
type mux struct {
	t       *control.Transfer
	o       Options
	timeout time.Duration
	want    int64

	res       Result
	dataDone  bool
	dataErr   error
	lost      bool
	lastData  time.Time
	dataEnd   time.Time
	firstNoop time.Time // zero: no NOOP written
	lastNoop  time.Time // the last NOOP written before the final reply
	during    []int

	// What the NOOP policy learns from (noop.Ending), taken as they
	// happen: when the data broke before the final reply, when a failure
	// reply came, and when data had last moved then.
	dataFault time.Time
	failAt    time.Time
	failData  time.Time

	server   string
	grant    noop.Grant
	observed bool
}

// run runs the attempt's multiplexer; offset is the file offset of the
// data's first byte.
func run(ctx context.Context, t *control.Transfer, dst io.Writer, src io.Reader, offset, want int64, md mode, o Options) (Result, error) {
	download := md != upload
	c := t.Conn()
	m := &mux{t: t, o: o, timeout: o.Timeout, want: want}
	if m.timeout <= 0 {
		m.timeout = c.Timeout()
	}
	m.server = c.RemoteAddr().String()
	keep := noop.Schedule{Every: o.Keepalive}
	if keep.Every <= 0 {
		keep.Every = noop.Interval(m.timeout)
	}
	if !o.NoKeepalive {
		m.grant = o.registry().Begin(m.server)
		defer m.observe(observation{}) // every Begin has its End; a no-op when observed
	}
	if !m.grant.Noops {
		keep = noop.Schedule{}
	}

	limit := int64(-1) // bytes the pump may move: never past the expected size
	overlap := int64(0)
	if download {
		overlap = int64(len(o.Overlap))
		if want >= 0 {
			limit = want - overlap
		}
	}
	p := newPump()
	p.moved.Store(overlap)
	if download {
		p.bound, p.base = o.Bound, offset
	}
	go p.run(ctx, dst, src, o.Limiter, m.timeout, download, limit, md == dlRange)

	m.lastData = time.Now()
	deadline := time.NewTimer(m.timeout) // data stall, then the wait for the final reply
	defer deadline.Stop()
	var tick <-chan time.Time
	var ticker *time.Timer
	if keep.Enabled() {
		ticker = time.NewTimer(keep.Until(c.LastSent(), time.Now()))
		defer ticker.Stop()
		tick = ticker.C
	}
	final, lost, answers := t.Final(), t.Lost(), t.NoopAnswers()
	// The pump notifies at every chunk (a TLS record: 16 KiB); waking for
	// each costs more CPU than the data (a thread woken and put back to
	// sleep per record). After one notification the multiplexer stops
	// listening for progressEvery; what moved meanwhile is reported when
	// it listens again, or at the data's end.
	notify := p.notify
	settle := time.NewTimer(progressEvery)
	settle.Stop()
	defer settle.Stop()

	var err error
loop:
	for !(m.dataDone && m.res.GotFinal) {
		select {
		case <-notify:
			m.progress(p)
			m.lastData = p.lastData()
			notify = nil
			settle.Reset(progressEvery)
		case <-settle.C:
			notify = p.notify
		case derr := <-p.done:
			m.progress(p)
			m.dataDone, m.dataEnd = true, time.Now()
			m.dataErr = derr
			if derr == nil && p.ended {
				m.want = m.res.Bytes // the bound moved the end here
			}
			if (md == dlRange || p.ended) && derr == nil && m.res.Bytes == m.want && !m.res.GotFinal {
				// The range is here and the server is still sending: stop it.
				// A failed ABOR exchange closes the connection; the data is
				// complete all the same.
				if aerr := t.Abort(context.WithoutCancel(ctx)); aerr != nil {
					m.o.logf("abort at the end of the range %s: %v", t.Cmd(), aerr)
				}
				m.res.NoopsSent = t.NoopsSent()
				m.observe(observation{complete: true})
				return m.res, nil
			}
			deadline.Reset(m.timeout)
			if derr != nil {
				m.dataFailed(derr)
			} else {
				m.res.DataEOF = true
				if m.want >= 0 && m.res.Bytes != m.want {
					m.dataFailed(nil)
				}
			}
			// The server learns the data ended from the close (proftpd
			// holds its 226 until then); a download's socket is done too.
			t.Data.Close()
			if md == dlWhole && derr == nil && !m.res.GotFinal && !m.lost && (m.want < 0 || m.res.Bytes == m.want) && o.AtDataEnd != nil {
				o.AtDataEnd(t, m.grant.Noops && !o.NoKeepalive)
			}
			if m.lost {
				err = fmt.Errorf("%w: %w", ErrNoFinalReply, c.Err())
				break loop
			}
		case rep := <-final:
			final = nil
			m.res.Final, m.res.GotFinal = rep, true
			if !rep.OK() {
				m.failAt, m.failData = time.Now(), m.dataSeen(p, download)
				if dataReset(t.Data) {
					// Reset before the reply was read, though the pump
					// has not said so yet: a path can do that.
					m.dataFailed(errDataReset)
				}
				t.Data.Close() // a failed transfer: stop the data side too
			}
			// An OK final reply may come before the last megabytes were
			// read: the loop goes on until the data's end.
		case <-lost:
			lost, tick = nil, nil
			m.lost = true
			if m.dataDone {
				err = fmt.Errorf("%w: %w", ErrNoFinalReply, c.Err())
				break loop
			}
			// Read the data to its end: if it all arrives, the resume layer
			// can verify instead of downloading again.
		case ans := <-answers:
			m.during = append(m.during, ans.Code)
		case <-tick:
			if wait := keep.Until(c.LastSent(), time.Now()); wait > 0 {
				ticker.Reset(wait)
				continue
			}
			if t.Noop() == nil && !m.res.GotFinal {
				m.lastNoop = time.Now()
				if m.firstNoop.IsZero() {
					m.firstNoop = m.lastNoop
				}
			}
			ticker.Reset(keep.Every)
		case <-deadline.C:
			select { // data that moved while notify was off is not a stall
			case <-p.notify:
				m.progress(p)
				m.lastData = p.lastData()
			default:
			}
			if err = m.checkDeadline(deadline); err != nil {
				break loop
			}
		case <-ctx.Done():
			// The caller gave up (Ctrl-C): ABOR's reply gets a short
			// grace, as a stalling server may never send it.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortGrace)
			t.Abort(actx)
			cancel()
			if !m.dataDone { // the pump has not reported yet: it will now
				<-p.done
			}
			m.progress(p)
			return m.res, ctx.Err()
		}
	}
	if err != nil { // stalled, or no final reply: the connection cannot be trusted
		t.Data.Close()
		if !m.dataDone {
			<-p.done
			m.progress(p)
		}
		t.End(ctx, false)
		m.observe(observation{}) // stalled or cut off: says nothing about NOOPs
		return m.res, control.ExplainTLSRefusal(t, err)
	}
	stale, rerr := t.End(ctx, true)
	if rerr != nil {
		m.o.logf("resync after %s failed: %v", t.Cmd(), rerr)
	}
	m.res.NoopsSent = t.NoopsSent()
	verr := m.verdict()
	m.observe(observation{after: len(stale), complete: verr == nil, final: true})
	return m.res, control.ExplainTLSRefusal(t, verr)
}

func (m *mux) progress(p *pump) {
	n := p.moved.Load()
	if n == m.res.Bytes {
		return
	}
	m.res.Bytes = n
	if m.o.Progress != nil {
		m.o.Progress(n)
	}
}

// checkDeadline handles the deadline timer: before the data's end it is
// the stall deadline; after it, the final reply must come within one
// timeout of the data's end. That bound is absolute: a server that keeps
// answering NOOPs but never sends its final reply must not hold us forever.
func (m *mux) checkDeadline(deadline *time.Timer) error {
	now := time.Now()
	if !m.dataDone {
		if left := m.lastData.Add(m.timeout).Sub(now); left > 0 {
			deadline.Reset(left)
			return nil
		}
		return fmt.Errorf("%s: %w (%d bytes in)", m.t.Cmd(), ErrStalled, m.res.Bytes)
	}
	if left := m.dataEnd.Add(m.timeout).Sub(now); left > 0 {
		deadline.Reset(left)
		return nil
	}
	return fmt.Errorf("%s: %w after the data ended: %w", m.t.Cmd(), ErrNoFinalReply, control.ErrPeerDown)
}

// errDataReset is a reset the kernel took on the data connection before
// the pump read it (dataReset).
var errDataReset = errors.New("data connection reset")

// dataFailed records that the data side broke (derr) or ended short
// (derr nil), and when, for the NOOP policy: before the final reply, or
// with it, when it broke by itself rather than because a failure reply
// made us close it (both were in flight at once).
func (m *mux) dataFailed(derr error) {
	switch {
	case !m.dataFault.IsZero():
	case !m.res.GotFinal:
		m.dataFault = time.Now()
	case !m.failAt.IsZero() && !errors.Is(derr, net.ErrClosed):
		m.dataFault = m.failAt
	}
}

// dataSeen is when data last moved, as precisely as can be told: the
// pump reports progress per chunk (up to many megabytes on the zero-copy
// path), the kernel knows when the socket last carried data.
func (m *mux) dataSeen(p *pump, download bool) time.Time {
	m.progress(p)
	seen := m.lastData
	if m.res.Bytes > 0 && p.lastData().After(seen) { // moved since the last notification
		seen = p.lastData()
	}
	if quiet, ok := dataQuiet(m.t.Data, download); ok {
		if at := time.Now().Add(-quiet); at.After(seen) {
			seen = at
		}
	}
	return seen
}

// observation is how an attempt ended, for observe.
type observation struct {
	final    bool // the final reply came, and the resync after it ran
	after    int  // replies the resync discarded: late NOOP answers
	complete bool // the attempt succeeded
}

// observe tells the NOOP registry, once, what the transfer showed: the
// answers, whether the server ended it in answer to a NOOP (only a failure
// reply right after one, while data flowed, says so: noop.Ending), and
// whether it completed with a NOOP that reached the server while its
// transfer ran, which shows the server does not abort.
func (m *mux) observe(e observation) {
	if m.observed || m.o.NoKeepalive { // no Begin, no End
		return
	}
	m.observed = true
	sent := m.t.NoopsSent()
	o := noop.Observation{Sent: sent}
	if sent > 0 {
		m.takeAnswers()
		o.During, o.After = m.during, e.after
		window := noop.AnswerWindow(m.t.Conn().RTT())
		if e.final && !m.failAt.IsZero() {
			o.Abort = noop.Ending{
				Reply:      m.res.Final.Code,
				ReplyAt:    m.failAt,
				LastNoop:   m.lastNoop,
				LastData:   m.failData,
				DataFault:  m.dataFault,
				Unanswered: len(m.during)+e.after < sent,
				Window:     window,
				Quiet:      m.timeout / 4, // a stall lasts a whole timeout
			}.ServerAborted()
		}
		// The server's own answer to a NOOP before its final reply says
		// it read the NOOP while the transfer ran, and the transfer
		// completed: no clock is involved. A server that answers only
		// after the final reply (vsftpd, proftpd) leaves the clock: a
		// NOOP written a whole answer window before the data's end.
		answered := len(m.during) > 0
		early := !m.firstNoop.IsZero() && m.dataEnd.Sub(m.firstNoop) > window
		o.Clean = e.complete && (answered || early)
	}
	m.o.registry().End(m.server, m.grant, o)
}

// takeAnswers takes the NOOP answers routed before the final reply that
// the loop left in their channel: it ends once the data's end and the
// final reply are in, and its select may take those before answers that
// came first. The reader routes every answer before the final reply, so
// once that is in, they all wait in the channel.
func (m *mux) takeAnswers() {
	for {
		select {
		case ans := <-m.t.NoopAnswers():
			m.during = append(m.during, ans.Code)
		default:
			return
		}
	}
}

// verdict decides whether a finished attempt is complete.
func (m *mux) verdict() error {
	cmd := m.t.Cmd()
	if !m.res.Final.OK() {
		// A final 1xx (pure-ftpd's way of reporting a failed download) is a
		// failure like a 4xx.
		re := &control.ReplyError{Cmd: cmd, Code: m.res.Final.Code, Msg: m.res.Final.Msg}
		var le *LocalError
		switch {
		case m.dataErr == nil:
			return re
		case re.Permanent() && !errors.As(m.dataErr, &le) && !errors.Is(re, control.ErrStorageRefused):
			// The data connection broke in the network, and the server
			// reports that as a 5xx (ftpserverlib: "550 Issue during
			// transfer"): the broken connection is the cause, and it is
			// not permanent.
			return fmt.Errorf("%s: data connection: %w (the server said %d %s)", cmd, m.dataErr, re.Code, re.Msg)
		}
		return fmt.Errorf("%w (data: %w)", re, m.dataErr)
	}
	if m.dataErr != nil {
		var le *LocalError
		if errors.As(m.dataErr, &le) {
			return fmt.Errorf("%s: %w", cmd, le)
		}
		return fmt.Errorf("%s: data connection: %w", cmd, m.dataErr)
	}
	if m.want >= 0 && m.res.Bytes != m.want {
		return fmt.Errorf("%s: %w: %d bytes, want %d", cmd, ErrShort, m.res.Bytes, m.want)
	}
	return nil
}

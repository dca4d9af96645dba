package testserver

import (
	"bytes"
	"testing"
)

// startNoopTransfer starts a download slow enough (about 0.4 s) that a
// NOOP sent after the first data bytes lands mid-transfer.
func startNoopTransfer(t *testing.T, style NoopStyle) (*Server, *rawClient, *progressReader, []byte) {
	t.Helper()
	content := randomBytes(100 * 1024)
	s := startServer(t, Options{Noop: style, Faults: Faults{RateLimit: 250 * 1024}})
	mustWrite(t, s, "f.bin", content)
	c := dialRaw(t, s.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	p := readInBackground(d)
	<-p.started
	c.send("NOOP")
	return s, c, p, content
}

func TestNoopAfterTransfer(t *testing.T) {
	t.Parallel()
	_, c, p, content := startNoopTransfer(t, NoopAfterTransfer)
	c.expect(226)
	c.expect(200)
	p.wait(t)
	if !bytes.Equal(p.data, content) {
		t.Fatalf("got %d bytes", len(p.data))
	}
	c.cmd(257, "PWD")
}

func TestNoopImmediate200(t *testing.T) {
	t.Parallel()
	s, c, p, content := startNoopTransfer(t, NoopImmediate200)
	c.expect(200)
	select {
	case <-p.done:
		t.Fatal("the 200 came after the data ended; the test did not exercise mid-transfer")
	default:
	}
	c.expect(226)
	p.wait(t)
	if !bytes.Equal(p.data, content) {
		t.Fatalf("got %d bytes", len(p.data))
	}
	c.cmd(257, "PWD")
	if st := s.Stats(); st.Noops != 1 || st.NoopsInTransfer != 1 {
		t.Fatalf("Noops = %d, NoopsInTransfer = %d; want 1, 1", st.Noops, st.NoopsInTransfer)
	}
}

func TestNoopImmediate500(t *testing.T) {
	t.Parallel()
	_, c, p, _ := startNoopTransfer(t, NoopImmediate500)
	c.expect(500)
	c.expect(226)
	p.wait(t)
	// Outside a transfer the same server answers 200.
	c.cmd(200, "NOOP")
}

func TestNoopNever(t *testing.T) {
	t.Parallel()
	s, c, p, content := startNoopTransfer(t, NoopNever)
	c.expect(226)
	p.wait(t)
	if !bytes.Equal(p.data, content) {
		t.Fatalf("got %d bytes", len(p.data))
	}
	// If the mid-transfer NOOP had been answered late, its 200 would be
	// read here in place of the PWD's 257.
	c.cmd(200, "NOOP")
	c.cmd(257, "PWD")
	if st := s.Stats(); st.Noops != 2 || st.NoopsInTransfer != 1 {
		t.Fatalf("Noops = %d, NoopsInTransfer = %d; want 2 (one after the transfer), 1", st.Noops, st.NoopsInTransfer)
	}
}

func TestNoopAborts(t *testing.T) {
	t.Parallel()
	_, c, p, content := startNoopTransfer(t, NoopAborts)
	c.expect(426)
	p.wait(t)
	if len(p.data) >= len(content) {
		t.Fatalf("transfer was not aborted: got all %d bytes", len(p.data))
	}
	// The server's own final reply for the aborted transfer is swallowed:
	// the next reply is the PWD's.
	c.cmd(257, "PWD")
	// And the session still transfers.
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	got, err := readAll(d)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("second download: %d bytes, err %v", len(got), err)
	}
	c.expect(226)
}

func TestSetNoopStyleAtRuntime(t *testing.T) {
	t.Parallel()
	s, c, p, _ := startNoopTransfer(t, NoopAfterTransfer)
	c.expect(226)
	c.expect(200)
	p.wait(t)
	s.SetNoopStyle(NoopImmediate500)
	d := c.epsv()
	c.cmd(150, "RETR f.bin")
	p = readInBackground(d)
	<-p.started
	c.send("NOOP")
	c.expect(500)
	c.expect(226)
	p.wait(t)
}

func TestNoopDuringUpload(t *testing.T) {
	t.Parallel()
	// Uploads are not rate limited; the client itself holds the upload open
	// until the NOOP was answered, which proves the answer came mid-transfer.
	s := startServer(t, Options{Noop: NoopImmediate200})
	c := dialRaw(t, s.Addr())
	c.login()
	d := c.epsv()
	c.cmd(150, "STOR up.bin")
	if _, err := d.Write([]byte("first part ")); err != nil {
		t.Fatal(err)
	}
	c.send("NOOP")
	c.expect(200)
	if _, err := d.Write([]byte("second part")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	c.expect(226)
	if st := s.Stats(); st.BytesReceived != 22 || st.Uploads != 1 {
		t.Fatalf("stats %+v", st)
	}
}

package realserver

import (
	"bytes"
	"testing"
)

// A server's captured output keeps its tail and stays bounded, however
// much the server writes.
func TestSyncBufferKeepsTheTail(t *testing.T) {
	var b syncBuffer
	line := bytes.Repeat([]byte("x"), 999)
	line = append(line, '\n')
	for range 3 * maxOutput / len(line) {
		b.Write(line)
	}
	b.Write([]byte("the last line\n"))
	got := b.Bytes()
	if len(got) > maxOutput || !bytes.HasSuffix(got, []byte("x\nthe last line\n")) {
		t.Fatalf("kept %d bytes (max %d), ending %q", len(got), maxOutput, got[max(len(got)-20, 0):])
	}
	if c := b.buf.Cap(); c > 2*maxOutput {
		t.Fatalf("buffer capacity %d after %d bytes written, want at most %d", c, 3*maxOutput, 2*maxOutput)
	}
	big := bytes.Repeat([]byte("y"), maxOutput+10)
	b.Write(big)
	if got := b.Bytes(); len(got) != maxOutput || got[0] != 'y' {
		t.Fatalf("after one write larger than the bound: %d bytes kept", len(got))
	}
}

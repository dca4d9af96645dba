package control

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzConnectAnswer feeds dialCONNECT any answer a proxy could send: it
// never panics or hangs; a tunnel opens only on a 2xx, and then hands on
// every byte after the answer, none lost and none repeated; an error never
// shows the password, its HTTP credentials or a raw escape character.
func FuzzConnectAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n220 greeting\r\n"))
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 403 Forbidden S3cretPW dTpTM2NyZXRQVw== \x1b[2J\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("SSH-2.0-OpenSSH\r\n"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		const tail = "TAIL-after-the-answer"
		p := &Proxy{Scheme: "http", Addr: "proxy.invalid:3128", User: "u", Password: "S3cretPW"}
		client, server := net.Pipe()
		defer server.Close()
		go func() {
			br := bufio.NewReader(server)
			for { // the request, up to its blank line
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			server.Write(answer)
			server.Write([]byte(tail))
			server.Close()
		}()
		forward := func(context.Context, string, string) (net.Conn, error) { return client, nil }
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := p.dialCONNECT(ctx, forward, "ftp.example:21")
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "S3cretPW") || strings.Contains(msg, p.basicToken()) || strings.ContainsRune(msg, 0x1b) {
				t.Fatalf("error %q shows the password or a raw escape", msg)
			}
			return
		}
		defer c.Close()
		if !bytes.HasPrefix(answer, []byte("HTTP/")) {
			t.Fatalf("a tunnel opened on %q", answer)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		rest, _ := io.ReadAll(c)
		stream := append(append([]byte(nil), answer...), tail...)
		if !bytes.HasSuffix(stream, rest) || !bytes.HasSuffix(rest, []byte(tail)) {
			t.Fatalf("after the answer the tunnel gave %q, want the stream's end with %q", rest, tail)
		}
	})
}

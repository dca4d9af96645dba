package transfer_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/testserver"
	"github.com/keepftp/keepftp/transfer"
)

func ExampleDownload() {
	// An embedded FTP server: anonymous login, in-memory files.
	srv, err := testserver.Start(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	payload := bytes.Repeat([]byte("keepftp "), 1<<10) // 8 KiB
	if err := srv.WriteFile("/pub/file.bin", payload); err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, srv.Addr(), control.Config{Timeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	size, err := c.Size(ctx, "/pub/file.bin")
	if err != nil {
		log.Fatal(err)
	}

	// One attempt from offset 0, expecting size bytes. The attempt is
	// complete only if the data ended cleanly, the byte count matches and
	// the final reply is a 2xx.
	var buf bytes.Buffer
	res, err := transfer.Download(ctx, c, "/pub/file.bin", 0, size, &buf, transfer.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bytes:", res.Bytes, "data EOF:", res.DataEOF)
	fmt.Println("final reply:", res.Final.Code)
	fmt.Println("intact:", bytes.Equal(buf.Bytes(), payload))
	// Output:
	// bytes: 8192 data EOF: true
	// final reply: 226
	// intact: true
}

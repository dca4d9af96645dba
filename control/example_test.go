package control_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/keepftp/keepftp/control"
	"github.com/keepftp/keepftp/testserver"
)

// exampleServer starts an embedded FTP server (anonymous login, in-memory
// files) holding /hello.txt.
func exampleServer() *testserver.Server {
	srv, err := testserver.Start(testserver.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.WriteFile("/hello.txt", []byte("hello, world\n")); err != nil {
		log.Fatal(err)
	}
	return srv
}

func ExampleDial() {
	srv := exampleServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// An empty Config logs in as anonymous, with the default timeout.
	c, err := control.Dial(ctx, srv.Addr(), control.Config{})
	if err != nil {
		log.Fatal(err)
	}
	size, err := c.Size(ctx, "/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("size:", size)

	// A missing file is a permanent failure (550).
	_, err = c.Size(ctx, "/missing.txt")
	fmt.Println("missing file is permanent:", control.IsPermanent(err))

	// Quit sends QUIT, waits briefly for the 221 and closes the connection.
	fmt.Println("quit:", c.Quit(ctx))
	// Output:
	// size: 13
	// missing file is permanent: true
	// quit: <nil>
}

func ExampleConn_StartTransfer() {
	srv := exampleServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := control.Dial(ctx, srv.Addr(), control.Config{Timeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// StartTransfer opens the data connection, sends RETR and returns
	// once the server's 1xx came.
	t, err := c.StartTransfer(ctx, "RETR", "/hello.txt", 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("preliminary:", t.Prelim.Code)
	data, err := io.ReadAll(t.Data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("data: %q\n", data)

	// The final reply may come before or after the data's end; wait for
	// it, unless the control connection is lost first.
	select {
	case rep := <-t.Final():
		fmt.Println("final:", rep.Code, rep.OK())
	case <-t.Lost():
		log.Fatal(c.Err())
	}
	// End releases the connection for the next command (true: the final
	// reply was taken).
	if _, err := t.End(ctx, true); err != nil {
		log.Fatal(err)
	}
	size, err := c.Size(ctx, "/hello.txt")
	fmt.Println("next command:", size, err)
	// Output:
	// preliminary: 150
	// data: "hello, world\n"
	// final: 226 true
	// next command: 13 <nil>
}

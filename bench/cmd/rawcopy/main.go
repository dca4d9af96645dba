// Command rawcopy is the raw TCP floor of bench/run.sh: the fastest a file
// can go from one process to another over loopback TCP, with no protocol.
//
//	rawcopy serve -file F [-addr 127.0.0.1:0]   # prints the address, then serves until killed
//	rawcopy get -addr HOST:PORT -o OUT          # one download
//
// The server sends the file to each connection with io.Copy from an
// *os.File into a *net.TCPConn (sendfile); the client copies with io.Copy
// from the *net.TCPConn into an *os.File (splice). That is the zero-copy
// path keepftp's pump takes, without FTP around it.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("rawcopy: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: rawcopy serve -file F [-addr A] | rawcopy get -addr A -o OUT")
	}
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		file := fs.String("file", "", "file to send to each connection")
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		fs.Parse(os.Args[2:])
		if *file == "" {
			log.Fatal("serve: -file is required")
		}
		serve(*file, *addr)
	case "get":
		fs := flag.NewFlagSet("get", flag.ExitOnError)
		addr := fs.String("addr", "", "server address")
		out := fs.String("o", "", "output file")
		fs.Parse(os.Args[2:])
		if *addr == "" || *out == "" {
			log.Fatal("get: -addr and -o are required")
		}
		if err := get(*addr, *out); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

func serve(file, addr string) {
	if _, err := os.Stat(file); err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			f, err := os.Open(file)
			if err != nil {
				log.Print(err)
				return
			}
			defer f.Close()
			// *net.TCPConn.ReadFrom(*os.File): sendfile(2).
			if _, err := io.Copy(c, f); err != nil {
				log.Print(err)
			}
		}()
	}
}

func get(addr, out string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	// *os.File.ReadFrom(*net.TCPConn): splice(2) through a pipe.
	if _, err := io.Copy(f, c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

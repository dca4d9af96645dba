// Command middlebox puts testserver's middlebox in front of any FTP server,
// for bench/run.sh: latency each way, a rate cap per data connection, and
// data connections cut after a number of bytes.
//
//	middlebox -target 127.0.0.1:2121 [-listen 127.0.0.1:0] [-delay 25ms] [-rate 20000000] [-cut 20M,0,30M] [-data-ports 21100-21115]
//
// With -data-ports, for FTPS (ports.go), it also forwards the server's
// passive range, port by port, from the -listen host (which must then
// differ from the target's, 127.0.0.2 say), with the delay.
//
// It prints its control address on the first line of standard output, then
// forwards until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/keepftp/keepftp/testserver"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("middlebox: ")
	target := flag.String("target", "", "the FTP server's control address, host:port")
	listen := flag.String("listen", "127.0.0.1:0", "control address to listen on")
	delay := flag.Duration("delay", 0, "latency added in each direction (a round trip gains twice this)")
	rate := flag.Int64("rate", 0, "bytes per second per data connection and direction (0: no cap)")
	cut := flag.String("cut", "", "comma-separated bytes after which the 1st, 2nd, ... data connection is reset (K/M suffixes; 0 or - leaves one uncut)")
	verbose := flag.Bool("v", false, "log flows on stderr")
	dataPorts := flag.String("data-ports", "", "the server's passive range LO-HI, forwarded port by port from the -listen host with the delay (for FTPS, whose EPSV and PASV replies cannot be rewritten)")
	flag.Parse()
	if *target == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	cuts, err := parseCuts(*cut)
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	opts := testserver.MiddleboxOptions{Target: *target, Listen: *listen, Delay: *delay, DataRate: *rate, DataCutAfter: cuts}
	if *verbose {
		opts.Logf = log.Printf
	}
	m, err := testserver.NewMiddlebox(opts)
	if err != nil {
		log.Fatal(err)
	}
	if *dataPorts != "" {
		lo, hi, err := parsePorts(*dataPorts)
		if err != nil {
			log.Print(err)
			os.Exit(2)
		}
		ls, err := forwardRange(m.Addr(), *target, lo, hi, *delay)
		if err != nil {
			log.Fatal(err)
		}
		defer func() {
			for _, l := range ls {
				l.Close()
			}
		}()
	}
	fmt.Println(m.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	m.Close()
}

// parseCuts reads "20M,0,30M": a 0 or "-" entry leaves that flow uncut.
func parseCuts(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var cuts []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		switch {
		case f == "-":
			cuts = append(cuts, -1)
			continue
		case strings.HasSuffix(f, "K"):
			mult, f = 1<<10, strings.TrimSuffix(f, "K")
		case strings.HasSuffix(f, "M"):
			mult, f = 1<<20, strings.TrimSuffix(f, "M")
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/mult {
			return nil, fmt.Errorf("-cut: bad entry %q", f)
		}
		if n == 0 {
			cuts = append(cuts, -1)
			continue
		}
		cuts = append(cuts, n*mult)
	}
	return cuts, nil
}

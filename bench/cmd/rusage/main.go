// Command rusage runs a command and writes what the kernel accounted for
// it, as /usr/bin/time -f '%M %U %S' does but to the microsecond: GNU
// time prints CPU seconds with two decimals, a tenth of an FTPS
// download's CPU time, too coarse for the ratios bench/run.sh compares.
//
//	rusage -o FILE -- COMMAND [ARG...]
//
// FILE gets one line: peak RSS in KiB, user seconds, system seconds, of
// the command and the children it waited for. The command's standard
// streams are rusage's; rusage exits with the command's exit status (128+N
// when signal N ended it).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("rusage: ")
	out := flag.String("o", "", "file to write `KiB user_s sys_s` into")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		log.Fatal("usage: rusage -o FILE -- COMMAND [ARG...]")
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	st := cmd.ProcessState
	if st == nil {
		log.Fatal(err) // not started
	}
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		log.Fatal("no rusage on this system")
	}
	line := fmt.Sprintf("%d %.6f %.6f\n", ru.Maxrss, float64(ru.Utime.Nano())/1e9, float64(ru.Stime.Nano())/1e9)
	if werr := os.WriteFile(*out, []byte(line), 0o644); werr != nil {
		log.Fatal(werr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(st.ExitCode())
}

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file to write a CPU profile of the whole run into
// (go tool pprof reads it). It is for measuring keepftp itself (bench/),
// not a user feature, so it is an environment variable and not a flag.
const cpuProfileEnv = "KEEPFTP_CPUPROFILE"

// startCPUProfile starts the profile cpuProfileEnv asks for; the returned
// func stops it and flushes the file. A profile that cannot be written is
// reported and the command runs anyway.
func startCPUProfile(stderr *os.File) func() {
	name := os.Getenv(cpuProfileEnv)
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err == nil {
		err = pprof.StartCPUProfile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "keepftp: %s: %v\n", cpuProfileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

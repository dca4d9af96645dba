//go:build race

package main

// raceEnabled: the tests run under the race detector (builtBinary).
const raceEnabled = true

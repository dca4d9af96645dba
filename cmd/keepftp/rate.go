package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseRate parses a rate like curl's --limit-rate: bytes per second, with
// an optional K, M or G suffix (powers of 1024).
func parseRate(s string) (int64, error) {
	v, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: want bytes per second like 500K or 8M", s)
	}
	return v, nil
}

// parseSize parses a number of bytes, more than 0, with an optional K, M
// or G suffix (powers of 1024, as curl reads them): 500K, 1.5M, 2G. It is
// the one size parser of the command line (--limit-rate, --min-size,
// --max-size).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(s)
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v > 0) || v*float64(mult) > 1<<62 || int64(v*float64(mult)) < 1 {
		return 0, fmt.Errorf("bad size %q: want a number of bytes above 0 like 500K, 1.5M or 2G", s)
	}
	return int64(v * float64(mult)), nil
}

package main

import "testing"

func TestParseCuts(t *testing.T) {
	got, err := parseCuts("-,30M,0, 7K,12")
	want := []int64{-1, 30 << 20, -1, 7 << 10, 12}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"x", "-5", "1G", "3M,", "9999999999999999999"} {
		if _, err := parseCuts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Whatever the flag says, the queue holds only "no cut" (-1) or a
// positive byte count.
func FuzzParseCuts(f *testing.F) {
	f.Add("-,30M,0,7K")
	f.Fuzz(func(t *testing.T, s string) {
		cuts, err := parseCuts(s)
		if err != nil {
			return
		}
		for _, c := range cuts {
			if c != -1 && c <= 0 {
				t.Fatalf("%q gave %v", s, cuts)
			}
		}
	})
}

func TestParsePorts(t *testing.T) {
	if lo, hi, err := parsePorts("21100-21115"); err != nil || lo != 21100 || hi != 21115 {
		t.Fatalf("got %d-%d, %v", lo, hi, err)
	}
	for _, bad := range []string{"", "21100", "21115-21100", "0-5", "1-70000", "a-b", "1-2000", "-5", "5-"} {
		if _, _, err := parsePorts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Whatever the flag says, an accepted range is of real ports, low to high,
// and short.
func FuzzParsePorts(f *testing.F) {
	f.Add("21100-21115")
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, err := parsePorts(s)
		if err != nil {
			return
		}
		if lo < 1 || hi > 65535 || lo > hi || hi-lo > 1024 {
			t.Fatalf("%q gave %d-%d", s, lo, hi)
		}
	})
}

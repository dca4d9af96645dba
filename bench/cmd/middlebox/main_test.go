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

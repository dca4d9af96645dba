package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// file is one file of the soak's tree: its path (slash-separated, relative
// to the tree's top), size and content hash.
type file struct {
	Rel  string
	Size int64
	Sum  [32]byte
}

// tree is the soak's file set, made from a seed: the same seed, count and
// maximum size give the same names, sizes and bytes.
type tree struct {
	Files []file
	Bytes int64
}

// sizeOf draws a file's size: a few empty files, most small, some of a
// few hundred KiB, a few MiB-sized up to max.
func sizeOf(r *rand.Rand, max int64) int64 {
	u := r.Float64()
	switch {
	case u < 0.05:
		return 0
	case u < 0.10:
		return 1 + r.Int64N(16) // a handful of bytes
	case u < 0.55:
		return r.Int64N(16 << 10)
	case u < 0.85:
		return r.Int64N(min(256<<10, max))
	case u < 0.96:
		return r.Int64N(min(1<<20, max))
	}
	return r.Int64N(max) + 1
}

// contentReader is a file's bytes: ChaCha8 keyed by the seed and the
// file's index.
func contentReader(seed uint64, i int) *rand.ChaCha8 {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(i))
	copy(key[16:], "keepftp soak    ")
	return rand.NewChaCha8(key)
}

// makeTree writes n files under dir and returns what it wrote. Folders are
// up to three deep, a few dozen files each (n/400 at the top, at least 3,
// each with 8 below), so that a mirror lists many of them.
func makeTree(dir string, seed uint64, n int, maxSize int64) (*tree, error) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	t := &tree{}
	buf := make([]byte, 256<<10)
	for i := range n {
		size := sizeOf(r, maxSize)
		var rel string
		switch d := r.IntN(10); {
		case d == 0:
			rel = fmt.Sprintf("f%05d.bin", i)
		case d < 4:
			rel = fmt.Sprintf("d%02d/f%05d.bin", r.IntN(max(n/400, 3)), i)
		default:
			rel = fmt.Sprintf("d%02d/e%d/f%05d.bin", r.IntN(max(n/400, 3)), r.IntN(8), i)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(contentReader(seed, i), size), buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		fl := file{Rel: rel, Size: size}
		h.Sum(fl.Sum[:0])
		t.Files = append(t.Files, fl)
		t.Bytes += size
	}
	return t, nil
}

// check is what a destination holds against the tree.
type check struct {
	Missing  []string // expected, not there
	Wrong    []string // there, with another size or hash
	Leftover []string // there, not expected: partials, temporaries, state
}

func (c check) lost() int { return len(c.Missing) + len(c.Wrong) }

func (c check) String() string {
	var b strings.Builder
	show := func(what string, l []string) {
		if len(l) == 0 {
			return
		}
		fmt.Fprintf(&b, "  %s (%d):", what, len(l))
		for i, s := range l {
			if i == 10 {
				fmt.Fprintf(&b, " ...")
				break
			}
			fmt.Fprintf(&b, " %q", s)
		}
		b.WriteString("\n")
	}
	show("missing", c.Missing)
	show("wrong content", c.Wrong)
	show("left behind", c.Leftover)
	return b.String()
}

// verify compares dir with the tree, by sha256 of every file, and lists
// anything else found there, folders that hold no expected file included.
func verify(dir string, t *tree) (check, error) {
	var c check
	want := make(map[string]*file, len(t.Files))
	dirs := map[string]bool{".": true}
	for i := range t.Files {
		f := &t.Files[i]
		want[f.Rel] = f
		for d := filepath.Dir(filepath.FromSlash(f.Rel)); d != "."; d = filepath.Dir(d) {
			dirs[filepath.ToSlash(d)] = true
		}
	}
	seen := make(map[string]bool, len(t.Files))
	buf := make([]byte, 256<<10)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if !dirs[rel] {
				c.Leftover = append(c.Leftover, rel+"/")
			}
			return nil
		}
		f, ok := want[rel]
		if !ok || !d.Type().IsRegular() {
			c.Leftover = append(c.Leftover, rel)
			return nil
		}
		seen[rel] = true
		sum, size, err := hashFile(p, buf)
		if err != nil {
			return err
		}
		if size != f.Size || sum != f.Sum {
			c.Wrong = append(c.Wrong, fmt.Sprintf("%s (%d bytes, want %d)", rel, size, f.Size))
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	for _, f := range t.Files {
		if !seen[f.Rel] {
			c.Missing = append(c.Missing, f.Rel)
		}
	}
	slices.Sort(c.Leftover)
	return c, nil
}

func hashFile(p string, buf []byte) (sum [32]byte, n int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err = io.CopyBuffer(h, f, buf)
	h.Sum(sum[:0])
	return sum, n, err
}

// linkTree puts the tree's files under dst as hard links of those under
// src (a copy where links cannot be made), with folders readable by the
// server's session user.
func linkTree(src, dst string, t *tree) error {
	for _, f := range t.Files {
		from := filepath.Join(src, filepath.FromSlash(f.Rel))
		to := filepath.Join(dst, filepath.FromSlash(f.Rel))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.Link(from, to); err != nil {
			if err := copyFile(from, to); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

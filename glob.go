package keepftp

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrBadPattern reports a filter pattern that cannot be used: an
// unclosed [ or a class with nothing in it, a range backwards, a
// trailing \, an empty pattern, one longer than maxPatternLen.
var ErrBadPattern = errors.New("bad pattern")

// maxPatternLen bounds a pattern, in bytes. Matching costs the pattern's
// length times the name's, so a pattern is kept to what a person writes.
const maxPatternLen = 1024

// glob is a compiled pattern: a list of tokens matched left to right by a
// simulation of all the ways they can match at once (an NFA), so that no
// pattern, however many stars it has, costs more than its length times
// the name's. Backtracking would be exponential in the stars.
//
// The NFA's states are the token indexes 0..len(toks): state i is "the
// tokens before i have matched the runes read so far". Its empty moves
// only go forward (a star may match nothing; tDirs may be skipped), so one
// pass from low to high states closes a set.
type glob struct {
	toks []tok
}

type tokKind uint8

const (
	tLit   tokKind = iota // one rune, itself
	tOne                  // ?: one rune other than /
	tClass                // [...]: one rune other than / in (or, negated, not in) the ranges
	tStar                 // *: any run of runes without /
	tStars                // **: any run of runes, / too
	tSkip                 // matches nothing; may jump over the next two tokens (the ** and / of **/)
)

type tok struct {
	kind   tokKind
	r      rune   // tLit
	neg    bool   // tClass: [!...] or [^...]
	ranges []rune // tClass: lo, hi pairs
}

// compileGlob parses a pattern (without the anchoring and folder-only
// marks Filter strips first). The syntax, as Filter documents it: a star
// matches any run of characters other than /; two stars any run, / too,
// and as a whole folder name ("**/x", "a/**/x") zero or more folders; a
// question mark one character other than /; [abc], [a-z], [!abc] and
// [^abc] one character of (or not of) the set, never /, with a ] first in
// the set standing for itself; a backslash takes the next character as
// itself.
//
// Characters are Unicode code points; each byte that is not UTF-8 is one
// character (U+FFFD, as for range over a string).
func compileGlob(p string) (*glob, error) {
	if p == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadPattern)
	}
	if len(p) > maxPatternLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadPattern, maxPatternLen)
	}
	g := &glob{}
	for i := 0; i < len(p); {
		switch c := p[i]; c {
		case '*':
			j := i
			for j < len(p) && p[j] == '*' {
				j++
			}
			switch {
			case j-i == 1:
				g.toks = append(g.toks, tok{kind: tStar})
			case (i == 0 || p[i-1] == '/') && j < len(p) && p[j] == '/':
				// "**/" as a whole folder name: zero or more folders.
				g.toks = append(g.toks, tok{kind: tSkip}, tok{kind: tStars}, tok{kind: tLit, r: '/'})
				j++
			default:
				g.toks = append(g.toks, tok{kind: tStars})
			}
			i = j
		case '?':
			g.toks = append(g.toks, tok{kind: tOne})
			i++
		case '[':
			t, n, err := parseClass(p[i:])
			if err != nil {
				return nil, err
			}
			g.toks = append(g.toks, t)
			i += n
		case '\\':
			if i+1 == len(p) {
				return nil, fmt.Errorf("%w: %s ends in \\", ErrBadPattern, strconv.Quote(p))
			}
			r, n := utf8.DecodeRuneInString(p[i+1:])
			g.toks = append(g.toks, tok{kind: tLit, r: r})
			i += 1 + n
		default:
			r, n := utf8.DecodeRuneInString(p[i:])
			g.toks = append(g.toks, tok{kind: tLit, r: r})
			i += n
		}
	}
	return g, nil
}

// parseClass parses the class at the start of p ("[...]"), returning its
// token and its length in bytes.
func parseClass(p string) (tok, int, error) {
	t := tok{kind: tClass}
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		t.neg = true
		i++
	}
	first := true
	for {
		if i >= len(p) {
			return t, 0, fmt.Errorf("%w: %s has a [ without its ]", ErrBadPattern, strconv.Quote(p))
		}
		if p[i] == ']' && !first {
			i++
			break
		}
		first = false
		lo, n, err := classRune(p, i)
		if err != nil {
			return t, 0, err
		}
		i += n
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			if hi, n, err = classRune(p, i+1); err != nil {
				return t, 0, err
			}
			i += 1 + n
			if hi < lo {
				return t, 0, fmt.Errorf("%w: range %s-%s is backwards", ErrBadPattern, strconv.QuoteRune(lo), strconv.QuoteRune(hi))
			}
		}
		t.ranges = append(t.ranges, lo, hi)
	}
	return t, i, nil
}

// classRune reads one character of a class at p[i:], \-escaped or not.
func classRune(p string, i int) (rune, int, error) {
	if p[i] != '\\' {
		r, n := utf8.DecodeRuneInString(p[i:])
		return r, n, nil
	}
	if i+1 >= len(p) {
		return 0, 0, fmt.Errorf("%w: %s ends in \\", ErrBadPattern, strconv.Quote(p))
	}
	r, n := utf8.DecodeRuneInString(p[i+1:])
	return r, 1 + n, nil
}

func (t *tok) inClass(r rune) bool {
	in := false
	for k := 0; k < len(t.ranges); k += 2 {
		if t.ranges[k] <= r && r <= t.ranges[k+1] {
			in = true
			break
		}
	}
	return in != t.neg
}

// match reports whether the whole of name matches.
func (g *glob) match(name string) bool {
	cur := g.run(name, false)
	return cur != nil && cur[len(g.toks)]
}

// matchesBelow reports whether some path inside the folder dir could
// match: whether dir + "/" is the start of a match. It is an upper bound
// (what is left of the pattern might want a character no name has), which
// is what deciding to look inside a folder needs.
func (g *glob) matchesBelow(dir string) bool {
	cur := g.run(dir, true)
	for _, on := range cur {
		if on {
			return true
		}
	}
	return false
}

// run feeds name (and a / after it, if slash) through the NFA and returns
// the states it ends in, or nil when none is left.
func (g *glob) run(name string, slash bool) []bool {
	m := len(g.toks)
	cur, next := make([]bool, m+1), make([]bool, m+1)
	cur[0] = true
	g.close(cur)
	step := func(r rune) bool {
		clear(next)
		alive := false
		for i := 0; i < m; i++ {
			if !cur[i] {
				continue
			}
			t := &g.toks[i]
			to := -1
			switch t.kind {
			case tLit:
				if r == t.r {
					to = i + 1
				}
			case tOne:
				if r != '/' {
					to = i + 1
				}
			case tClass:
				if r != '/' && t.inClass(r) {
					to = i + 1
				}
			case tStar:
				if r != '/' {
					to = i
				}
			case tStars:
				to = i
			}
			if to >= 0 {
				next[to], alive = true, true
			}
		}
		cur, next = next, cur
		g.close(cur)
		return alive
	}
	for _, r := range name {
		if !step(r) {
			return nil
		}
	}
	if slash && !step('/') {
		return nil
	}
	return cur
}

// close adds to set the states its states reach without reading: past a
// star that matches nothing, over a skipped "**/".
func (g *glob) close(set []bool) {
	for i, t := range g.toks {
		if !set[i] {
			continue
		}
		switch t.kind {
		case tStar, tStars:
			set[i+1] = true
		case tSkip:
			set[i+1] = true
			set[i+3] = true
		}
	}
}

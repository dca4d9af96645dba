package keepftp

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"*.csv", []string{"a.csv", ".csv", "x.y.csv"}, []string{"a.csv.gz", "a/b.csv", "acsv"}},
		{"a?c", []string{"abc", "a.c", "aéc"}, []string{"ac", "abbc", "a/c"}},
		{"[ab]*", []string{"a", "bcd"}, []string{"c", ""}},
		{"[a-c]x", []string{"ax", "bx", "cx"}, []string{"dx", "/x"}},
		{"[!a-c]x", []string{"dx", "Ax"}, []string{"ax", "/x", "x"}},
		{"[^0-9]", []string{"a"}, []string{"5", "/"}},
		{"[]]", []string{"]"}, []string{"a"}},
		{"[!]]", []string{"a"}, []string{"]"}},
		{"[a-]", []string{"a", "-"}, []string{"b"}},
		{"[/]", nil, []string{"/"}}, // a class never matches /
		{`\*`, []string{"*"}, []string{"a"}},
		{`[\]]`, []string{"]"}, []string{`\`}},
		{"a/*", []string{"a/b", "a/"}, []string{"a/b/c", "a"}},
		{"a/**", []string{"a/b", "a/b/c", "a/"}, []string{"a", "b/a/c"}},
		{"**", []string{"", "a", "a/b/c"}, nil},
		{"**/x", []string{"x", "a/x", "a/b/x"}, []string{"ax", "a/xx", "a/bx"}},
		{"a/**/x", []string{"a/x", "a/b/x", "a/b/c/x"}, []string{"ax", "a/bx", "b/a/x"}},
		{"a**x", []string{"ax", "a/b/x", "abx"}, []string{"a/b/y"}},
		{"**x", []string{"x", "a/x", "ax"}, []string{"a/y"}},
		{"***", []string{"a/b"}, nil},
		{"data/**/*.csv", []string{"data/a.csv", "data/1/2/a.csv"}, []string{"data/a.txt", "x/data/a.csv"}},
		{"*/*", []string{"a/b"}, []string{"a", "a/b/c"}},
		{"é*", []string{"é", "éa"}, []string{"e"}},
		// Stars that backtracking would pay for exponentially.
		{strings.Repeat("*a", 30) + "b", nil, []string{strings.Repeat("a", 200)}},
		{strings.Repeat("**/", 20) + "x", []string{"x", strings.Repeat("a/", 40) + "x"}, []string{strings.Repeat("a/", 40) + "y"}},
	} {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Errorf("compileGlob(%q): %v", tc.pattern, err)
			continue
		}
		for _, s := range tc.yes {
			if !g.match(s) {
				t.Errorf("%q does not match %q, want it to", tc.pattern, s)
			}
		}
		for _, s := range tc.no {
			if g.match(s) {
				t.Errorf("%q matches %q, want it not to", tc.pattern, s)
			}
		}
	}
}

func TestGlobBadPatterns(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "[", "[a", "[]", "[!]", "a[b", `a\`, `[\`, "[z-a]", strings.Repeat("a", maxPatternLen+1)} {
		if _, err := compileGlob(p); !errors.Is(err, ErrBadPattern) {
			t.Errorf("compileGlob(%q) = %v, want ErrBadPattern", p, err)
		}
	}
}

func TestGlobMatchesBelow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, dir string
		want         bool
	}{
		{"data/**", "data", true},
		{"data/**", "logs", false},
		{"data/*.csv", "data", true},
		{"data/*.csv", "data/sub", false},
		{"data/**/*.csv", "data/sub/deeper", true},
		{"**/*.csv", "anything/at/all", true},
		{"a/b/c", "a", true},
		{"a/b/c", "a/b", true},
		{"a/b/c", "a/c", false},
		{"a/b", "a/b", false}, // a/b itself, nothing inside it
		{"*/x", "a", true},
		{"*/x", "a/b", false},
	} {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.matchesBelow(tc.dir); got != tc.want {
			t.Errorf("%q below %q = %v, want %v", tc.pattern, tc.dir, got, tc.want)
		}
	}
}

// FuzzGlob checks the matcher against an independent one: the pattern
// turned into a regular expression. Both read the same syntax (the
// regular expression is built from the pattern text, not from the
// matcher's tokens), so a parsing mistake shows as well as a matching
// one. It also checks that a pattern of only literals, * and ? agrees with
// path.Match, and that matchesBelow(d) holds whenever a name inside d
// matches.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"*.csv", "a.csv"}, {"a/**/b", "a/x/y/b"}, {"**/x", "x"}, {"[!a-c]?", "d/"},
		{`\[x]`, "[x]"}, {"[]a]*", "]]"}, {"a**b", "a/b"}, {"*/*", "a/b"}, {"[^/]", "/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 128 {
			return
		}
		g, err := compileGlob(pattern)
		re, reErr := globRegexp(pattern)
		if (err == nil) != (reErr == nil) {
			t.Fatalf("pattern %q: matcher error %v, reference error %v", pattern, err, reErr)
		}
		if err != nil {
			return
		}
		got, want := g.match(name), re.MatchString(name)
		if got != want {
			t.Fatalf("pattern %q, name %q: match %v, reference (%s) %v", pattern, name, got, re, want)
		}
		if !strings.ContainsAny(pattern, `[\`) && !strings.Contains(pattern, "**") && utf8.ValidString(pattern) && utf8.ValidString(name) {
			if pm, err := path.Match(pattern, name); err == nil && pm != got {
				t.Fatalf("pattern %q, name %q: match %v, path.Match %v", pattern, name, got, pm)
			}
		}
		if got {
			for i := 0; i < len(name); i++ {
				if name[i] == '/' && !g.matchesBelow(name[:i]) {
					t.Fatalf("pattern %q matches %q, but matchesBelow(%q) is false", pattern, name, name[:i])
				}
			}
		}
	})
}

// globRegexp is the fuzz test's reference: the pattern read on its own,
// character by character, into a regular expression.
func globRegexp(p string) (*regexp.Regexp, error) {
	if p == "" || len(p) > maxPatternLen {
		return nil, ErrBadPattern
	}
	var b strings.Builder
	b.WriteString(`^(?s:`)
	lit := func(r rune) { b.WriteString(regexp.QuoteMeta(string(r))) }
	for i := 0; i < len(p); {
		switch p[i] {
		case '*':
			j := i
			for j < len(p) && p[j] == '*' {
				j++
			}
			switch {
			case j-i == 1:
				b.WriteString(`[^/]*`)
			case (i == 0 || p[i-1] == '/') && j < len(p) && p[j] == '/':
				b.WriteString(`(?:.*/)?`)
				j++
			default:
				b.WriteString(`.*`)
			}
			i = j
		case '?':
			b.WriteString(`[^/]`)
			i++
		case '\\':
			if i+1 == len(p) {
				return nil, ErrBadPattern
			}
			r, n := utf8.DecodeRuneInString(p[i+1:])
			lit(r)
			i += 1 + n
		case '[':
			j := i + 1
			neg := false
			if j < len(p) && (p[j] == '!' || p[j] == '^') {
				neg = true
				j++
			}
			var items []string
			for first := true; ; first = false {
				if j >= len(p) {
					return nil, ErrBadPattern
				}
				if p[j] == ']' && !first {
					j++
					break
				}
				read := func() (rune, error) {
					if p[j] == '\\' {
						if j+1 >= len(p) {
							return 0, ErrBadPattern
						}
						r, n := utf8.DecodeRuneInString(p[j+1:])
						j += 1 + n
						return r, nil
					}
					r, n := utf8.DecodeRuneInString(p[j:])
					j += n
					return r, nil
				}
				lo, err := read()
				if err != nil {
					return nil, err
				}
				hi := lo
				if j+1 < len(p) && p[j] == '-' && p[j+1] != ']' {
					j++
					if hi, err = read(); err != nil {
						return nil, err
					}
					if hi < lo {
						return nil, ErrBadPattern
					}
				}
				items = append(items, classRange(lo, hi))
			}
			if neg {
				b.WriteString(`[^/` + strings.Join(items, "") + `]`)
			} else {
				// One of the items, but never /: (?:[items])(?<!/) has no
				// RE2 form, so / is cut out of the ranges.
				b.WriteString(`(?:` + withoutSlash(items) + `)`)
			}
			i = j
		default:
			r, n := utf8.DecodeRuneInString(p[i:])
			lit(r)
			i += n
		}
	}
	b.WriteString(`)$`)
	return regexp.Compile(b.String())
}

// classRange is lo-hi inside a regexp class.
func classRange(lo, hi rune) string {
	if lo == hi {
		return fmt.Sprintf(`\x{%x}`, lo)
	}
	return fmt.Sprintf(`\x{%x}-\x{%x}`, lo, hi)
}

// withoutSlash is an alternation of the class items with / taken out of
// every range.
func withoutSlash(items []string) string {
	var alts []string
	for _, it := range items {
		lo, hi, _ := strings.Cut(it, "-")
		if hi == "" {
			hi = lo
		}
		l, h := parseHex(lo), parseHex(hi)
		switch {
		case h < '/' || l > '/':
			alts = append(alts, "["+it+"]")
		case l == '/' && h == '/':
		default:
			if l < '/' {
				alts = append(alts, "["+classRange(l, '/'-1)+"]")
			}
			if h > '/' {
				alts = append(alts, "["+classRange('/'+1, h)+"]")
			}
		}
	}
	if len(alts) == 0 {
		return `[^\x00-\x{10FFFF}]` // matches nothing
	}
	return strings.Join(alts, "|")
}

func parseHex(s string) rune {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(s, `\x{`), "}"), 16, 32)
	return rune(n)
}

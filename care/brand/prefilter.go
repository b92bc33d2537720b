package brand

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Go's regexp has no literal acceleration for case-insensitive patterns, so
// scanning a 1,000-character draft costs tens of microseconds per pattern.
// A prefilter, as RE2 has, first asks whether any literal the pattern cannot
// match without is in the (lower-cased) text at all; most drafts fail that
// test for most rules and the regexp never runs.

// prefilter is a set of lower-case literals one of which every match of a
// pattern contains. A nil prefilter passes every text.
type prefilter []string

// pass reports whether lower might contain a match.
func (p prefilter) pass(lower string) bool {
	if p == nil {
		return true
	}
	for _, lit := range p {
		if strings.Contains(lower, lit) {
			return true
		}
	}
	return false
}

// newPrefilter derives a prefilter from a pattern, or nil when it finds no
// literal that every match must contain.
func newPrefilter(re *regexp.Regexp) prefilter {
	ast, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	set := required(ast.Simplify())
	for _, s := range set {
		if len(s) < 2 {
			return nil // too short to filter anything out
		}
	}
	return set
}

// required returns literals one of which every match of re contains, or nil.
func required(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{lowerLiteral(re.Rune)}
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		// Any one child's requirement is a requirement of the whole; take
		// the child whose shortest literal is longest.
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			set := required(sub)
			if set == nil {
				continue
			}
			shortest := len(set[0])
			for _, s := range set {
				shortest = min(shortest, len(s))
			}
			if shortest > bestLen {
				best, bestLen = set, shortest
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			set := required(sub)
			if set == nil {
				return nil
			}
			all = append(all, set...)
		}
		return all
	}
	return nil
}

func lowerLiteral(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// lowerSameLength lower-cases s rune by rune, keeping every rune's byte
// length, so byte offsets into the result are byte offsets into s.
func lowerSameLength(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(s[i]) // keep invalid bytes as they are
			i++
			continue
		}
		if l := unicode.ToLower(r); utf8.RuneLen(l) == n {
			r = l
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// loweredPattern is a case-insensitive rule pattern compiled to run
// case-sensitively on the lower-cased draft. That lets Go's regexp skip
// ahead to its literal prefix, which makes a scan tens of times faster. A
// leading \b, which would hide the prefix, is checked by hand instead.
type loweredPattern struct {
	re      *regexp.Regexp
	leading bool // the pattern began with \b
}

func compileLowered(pattern string) (loweredPattern, error) {
	ast, err := syntax.Parse(pattern, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return loweredPattern{}, err
	}
	lowerLiterals(ast)
	var lp loweredPattern
	if ast.Op == syntax.OpConcat && len(ast.Sub) > 1 && ast.Sub[0].Op == syntax.OpWordBoundary {
		ast.Sub = ast.Sub[1:]
		lp.leading = true
	}
	lp.re, err = regexp.Compile(ast.String())
	return lp, err
}

func lowerLiterals(re *syntax.Regexp) {
	if re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase != 0 {
		for i, r := range re.Rune {
			re.Rune[i] = unicode.ToLower(r)
		}
		re.Flags &^= syntax.FoldCase
	}
	for _, sub := range re.Sub {
		lowerLiterals(sub)
	}
}

// findAll returns the matches in lower, as byte offsets.
func (lp loweredPattern) findAll(lower string) [][]int {
	locs := lp.re.FindAllStringIndex(lower, -1)
	if !lp.leading {
		return locs
	}
	out := locs[:0]
	for _, loc := range locs {
		if loc[0] < loc[1] && asciiWord(lower[loc[0]]) && (loc[0] == 0 || !asciiWord(lower[loc[0]-1])) {
			out = append(out, loc)
		}
	}
	return out
}

// asciiWord is \w as Go's regexp defines it.
func asciiWord(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// Package textmatch finds phrases in short social media texts quickly and
// with exact character spans, for triage and the brand checks.
//
// Texts and phrases are split into tokens the same way: a token is a run of
// letters and digits, or a single other visible character (so "you're" is
// "you", "'", "re"). Matching compares lower-cased token sequences, which
// gives word boundaries for free ("ass" never matches "class") and keeps the
// cost proportional to the length of the text, not the number of phrases.
// A phrase ending in "*" matches any word that starts with its last token.
package textmatch

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token is one token of a text, with its span in runes of the original.
type Token struct {
	Text  string // lower-cased
	Start int    // rune offset of the first rune
	End   int    // rune offset after the last rune
	Word  bool   // letters or digits, not punctuation
}

// Tokenize splits s into lower-cased tokens. Whitespace separates tokens and
// is dropped; curly apostrophes and quotes are read as straight ones.
func Tokenize(s string) []Token {
	toks := make([]Token, 0, len(s)/4+1)
	var b strings.Builder
	runeIdx, start := 0, -1
	flush := func() {
		if start >= 0 {
			toks = append(toks, Token{Text: b.String(), Start: start, End: runeIdx, Word: true})
			b.Reset()
			start = -1
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if start < 0 {
				start = runeIdx
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsSpace(r) || r == utf8.RuneError:
			flush()
		default:
			flush()
			toks = append(toks, Token{Text: string(normalizePunct(r)), Start: runeIdx, End: runeIdx + 1})
		}
		runeIdx++
	}
	flush()
	return toks
}

func normalizePunct(r rune) rune {
	switch r {
	case '\u2019', '\u2018', '\u02bc', '`', '\u00b4':
		return '\''
	case '\u201c', '\u201d':
		return '"'
	case '\u2013', '\u2014', '\u2212':
		return '-'
	}
	return r
}

// Match is one phrase found in a text.
type Match struct {
	Phrase int // index of the phrase as given to New
	Start  int // rune offset
	End    int // rune offset, exclusive
	// First and Last are the indexes of the first and last matched token.
	First, Last int
}

type phrase struct {
	idx    int
	toks   []string
	prefix bool // last token matches as a prefix
}

// Matcher finds a fixed set of phrases in texts. It is safe for concurrent
// use once built.
type Matcher struct {
	byFirst   map[string][]phrase
	prefixOne []phrase // one-token prefix phrases, checked against every token
	phrases   []string
}

// New builds a matcher for phrases. Empty phrases are ignored.
func New(phrases []string) *Matcher {
	m := &Matcher{byFirst: make(map[string][]phrase), phrases: phrases}
	for i, p := range phrases {
		p = strings.TrimSpace(p)
		prefix := strings.HasSuffix(p, "*") && len(p) > 1
		if prefix {
			p = strings.TrimSuffix(p, "*")
		}
		toks := Tokenize(p)
		if len(toks) == 0 {
			continue
		}
		words := make([]string, len(toks))
		for j, t := range toks {
			words[j] = t.Text
		}
		ph := phrase{idx: i, toks: words, prefix: prefix}
		if prefix && len(words) == 1 {
			m.prefixOne = append(m.prefixOne, ph)
			continue
		}
		m.byFirst[words[0]] = append(m.byFirst[words[0]], ph)
	}
	return m
}

// Phrase returns the i-th phrase as given to New.
func (m *Matcher) Phrase(i int) string { return m.phrases[i] }

// Len is the number of phrases.
func (m *Matcher) Len() int { return len(m.phrases) }

// FindAll returns every occurrence of every phrase in toks, in text order.
// Overlapping matches of different phrases are all reported.
func (m *Matcher) FindAll(toks []Token) []Match {
	var out []Match
	m.Each(toks, func(mt Match) bool { out = append(out, mt); return true })
	return out
}

// Each calls fn for every match in text order until fn returns false.
func (m *Matcher) Each(toks []Token, fn func(Match) bool) {
	for i, t := range toks {
		for _, ph := range m.byFirst[t.Text] {
			if end, ok := ph.matchAt(toks, i); ok {
				if !fn(Match{Phrase: ph.idx, Start: t.Start, End: toks[end].End, First: i, Last: end}) {
					return
				}
			}
		}
		if !t.Word {
			continue
		}
		for _, ph := range m.prefixOne {
			if strings.HasPrefix(t.Text, ph.toks[0]) {
				if !fn(Match{Phrase: ph.idx, Start: t.Start, End: t.End, First: i, Last: i}) {
					return
				}
			}
		}
	}
}

// matchAt reports whether ph matches toks starting at i, and the index of
// the last token matched. Whitespace is not compared, so "e. coli" matches
// "E.coli" and "E. coli" alike.
func (ph phrase) matchAt(toks []Token, i int) (int, bool) {
	if i+len(ph.toks) > len(toks) {
		return 0, false
	}
	last := len(ph.toks) - 1
	for j, w := range ph.toks {
		t := toks[i+j].Text
		if j == last && ph.prefix {
			if !strings.HasPrefix(t, w) {
				return 0, false
			}
		} else if t != w {
			return 0, false
		}
	}
	return i + last, true
}

// ContainsAny reports whether any phrase occurs in toks.
func (m *Matcher) ContainsAny(toks []Token) bool {
	found := false
	m.Each(toks, func(Match) bool { found = true; return false })
	return found
}

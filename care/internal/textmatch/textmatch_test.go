package textmatch

import (
	"reflect"
	"testing"
)

func TestMatcherFindsPhrasesOnWordBoundaries(t *testing.T) {
	m := New([]string{"ass", "you're wrong", "food poisoning", "discriminat*", "e. coli", "in-n-out", "#copperkettle"})
	tests := []struct {
		name string
		text string
		want []string // matched substrings of text
	}{
		{"no match inside a word", "We loved the class trip", nil},
		{"contraction with curly apostrophe", "Honestly, You’re WRONG about this", []string{"You’re WRONG"}},
		{"phrase across a line break", "I got food\npoisoning there", []string{"food\npoisoning"}},
		{"prefix phrase", "That was discriminatory.", []string{"discriminatory"}},
		{"punctuation inside the phrase", "tested positive for E.coli", []string{"E.coli"}},
		{"hyphenated name", "better than In-N-Out", []string{"In-N-Out"}},
		{"hashtag", "lunch at #CopperKettle today", []string{"#CopperKettle"}},
		{"multibyte text before the match keeps rune offsets", "Ünïcödé 🍔 food poisoning", []string{"food poisoning"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			runes := []rune(tt.text)
			for _, mt := range m.FindAll(Tokenize(tt.text)) {
				got = append(got, string(runes[mt.Start:mt.End]))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FindAll(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestTokenizeSpans(t *testing.T) {
	toks := Tokenize("Hi 👋 Zoë!")
	want := []Token{
		{Text: "hi", Start: 0, End: 2, Word: true},
		{Text: "👋", Start: 3, End: 4},
		{Text: "zoë", Start: 5, End: 8, Word: true},
		{Text: "!", Start: 8, End: 9},
	}
	if !reflect.DeepEqual(toks, want) {
		t.Fatalf("Tokenize = %+v, want %+v", toks, want)
	}
}

// Package brand checks a draft reply against the brand's guideline pack
// before it goes out: personal data in public, banned words, promises that
// need legal review, the sign-off, the platform's length limit, shouting,
// exclamation overuse, a negative tone and links outside approved domains.
//
// Checks are fast enough to run on every keystroke (see the benchmarks).
// Each Finding has a severity, the character span it is about (in runes, as
// a text widget counts), the rule, a message and a suggested fix, and where
// one exists a Replacement for a one-click fix.
package brand

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/internal/textmatch"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/jonreiter/govader"
)

// Finding is one problem in a draft.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Start    int    `json:"start"` // rune offset
	End      int    `json:"end"`   // rune offset, exclusive
	Message  string `json:"message"`
	Fix      string `json:"fix"`
	// Replacement, when not nil, is the one-click fix: the text to put in
	// place of [Start, End).
	Replacement *string `json:"replacement,omitempty"`
	// removeSpace widens a removal by one space after (1) or before (-1)
	// the span, so Apply leaves no double space.
	removeSpace int
}

// Apply returns text with f's one-click fix applied, and whether f had one.
func Apply(text string, f Finding) (string, bool) {
	if f.Replacement == nil {
		return text, false
	}
	runes := []rune(text)
	start, end := f.Start, f.End
	if start < 0 || end > len(runes) || start > end {
		return text, false
	}
	switch f.removeSpace {
	case 1:
		if end < len(runes) && runes[end] == ' ' {
			end++
		}
	case -1:
		if start > 0 && runes[start-1] == ' ' {
			start--
		}
	}
	return string(runes[:start]) + *f.Replacement + string(runes[end:]), true
}

// Blocks reports whether the finding stops a reply from going out without
// a manager's override.
func (f Finding) Blocks() bool { return f.Severity == guidelines.SeverityBlock }

// AnyBlocks reports whether any finding blocks.
func AnyBlocks(fs []Finding) bool { return slices.ContainsFunc(fs, Finding.Blocks) }

// Context is what the checker knows about where the reply goes.
type Context struct {
	Platform string
	// Public is true for comments, reviews and mentions, false for direct
	// messages. Personal data is only a problem in public.
	Public bool
	// The location's own published phone number and address are fine to
	// post.
	LocationPhone   string
	LocationAddress string
	// SignOff is the sign-off the one-click fix appends, already filled in
	// (e.g. "– Maria, Copper Kettle Riverside").
	SignOff string
	// Vars fill placeholders such as {{customer_first_name}} in a rule's
	// replacement text.
	Vars map[string]string
}

// Checker checks drafts against one pack. It is safe for concurrent use.
type Checker struct {
	pack       *guidelines.Pack
	phrases    *textmatch.Matcher
	phraseRule []int // phrase index → rule index
	patterns   []compiledPattern
	signOff    []*regexp.Regexp
	capsAllow  map[string]bool
	approved   []string
	vader      *govader.SentimentIntensityAnalyzer
}

type compiledPattern struct {
	rule   int
	re     loweredPattern
	filter prefilter
}

var vaderAnalyzer = govader.NewSentimentIntensityAnalyzer()

// NewChecker compiles pack's rules. The pack must be valid (see
// guidelines.Parse); NewChecker reports the first rule it cannot compile.
func NewChecker(pack *guidelines.Pack) (*Checker, error) {
	c := &Checker{pack: pack, capsAllow: map[string]bool{}, vader: vaderAnalyzer}
	var phrases []string
	for i, r := range pack.Rules {
		for _, p := range r.Phrases {
			phrases = append(phrases, p)
			c.phraseRule = append(c.phraseRule, i)
		}
		if r.Pattern != "" {
			lp, err := compileLowered(r.Pattern)
			if err != nil {
				return nil, fmt.Errorf("compile rule %s: %w", r.ID, err)
			}
			c.patterns = append(c.patterns, compiledPattern{rule: i, re: lp, filter: newPrefilter(lp.re)})
		}
	}
	c.phrases = textmatch.New(phrases)
	for _, p := range pack.SignOff.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("compile sign-off pattern %q: %w", p, err)
		}
		c.signOff = append(c.signOff, re)
	}
	for _, w := range pack.Checks.AllCaps.Allow {
		c.capsAllow[strings.ToUpper(w)] = true
	}
	for _, d := range pack.ApprovedDomains {
		c.approved = append(c.approved, strings.ToLower(strings.TrimPrefix(d, ".")))
	}
	return c, nil
}

// Pack returns the pack the checker was built from.
func (c *Checker) Pack() *guidelines.Pack { return c.pack }

// Check returns every finding for text, ordered by position.
func (c *Checker) Check(text string, ctx Context) []Finding {
	ix := newIndex(text)
	sc := newScan(text)
	var fs []Finding
	add := func(f Finding) { fs = append(fs, f) }

	if ctx.Public && c.pack.Checks.PersonalData.Enabled {
		c.checkPersonalData(sc, ix, ctx, add)
	}
	c.checkRules(sc, ix, add)
	if c.pack.Checks.Links.Enabled {
		c.checkLinks(sc, ix, add)
	}
	if c.pack.Checks.AllCaps.Enabled {
		c.checkCaps(text, add)
	}
	if c.pack.Checks.Exclamations.Enabled {
		c.checkExclamations(text, add)
	}
	if c.pack.Checks.NegativeTone.Enabled {
		c.checkTone(text, add)
	}
	if c.pack.SignOff.Required && ctx.Public {
		c.checkSignOff(text, ix, ctx, add)
	}
	if c.pack.Checks.Length.Enabled {
		c.checkLength(ix, ctx, add)
	}
	for i := range fs {
		if r := fs[i].Replacement; r != nil && strings.Contains(*r, "{{") {
			filled := fillVars(*r, ctx.Vars)
			fs[i].Replacement = &filled
		}
	}
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
	})
	return fs
}

func severity(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c *Checker) checkRules(sc *scan, ix *index, add func(Finding)) {
	text := sc.text
	toks := textmatch.Tokenize(text)
	runes := []rune(text)
	c.phrases.Each(toks, func(m textmatch.Match) bool {
		r := c.pack.Rules[c.phraseRule[m.Phrase]]
		add(ruleFinding(r, m.Start, m.End, runes))
		return true
	})
	for _, p := range c.patterns {
		if !p.filter.pass(sc.lower) {
			continue
		}
		r := c.pack.Rules[p.rule]
		for _, loc := range p.re.findAll(sc.lower) {
			if loc[0] == loc[1] {
				continue
			}
			add(ruleFinding(r, ix.rune(loc[0]), ix.rune(loc[1]), runes))
		}
	}
}

func ruleFinding(r guidelines.Rule, start, end int, runes []rune) Finding {
	f := Finding{Rule: r.ID, Severity: r.Severity, Start: start, End: end, Message: r.Message, Fix: r.Fix}
	switch {
	case r.Replacement != "":
		rep := r.Replacement
		f.Replacement = &rep
	case r.Remove:
		// Remove the phrase and one space next to it, so no double space
		// is left behind; the finding's span stays on the phrase itself.
		rep := ""
		f.Replacement = &rep
		f.removeSpace = 0
		switch {
		case end < len(runes) && runes[end] == ' ':
			f.removeSpace = 1
		case start > 0 && runes[start-1] == ' ':
			f.removeSpace = -1
		}
	}
	return f
}

// checkLength enforces the platform's limit, counted in characters.
func (c *Checker) checkLength(ix *index, ctx Context, add func(Finding)) {
	limit, ok := c.pack.PlatformLimits[ctx.Platform]
	if !ok || ix.runes <= limit {
		return
	}
	add(Finding{
		Rule: "length", Severity: severity(c.pack.Checks.Length.Severity, guidelines.SeverityBlock),
		Start: limit, End: ix.runes,
		Message: fmt.Sprintf("%s allows %d characters; this reply has %d.", humanize.Platform(ctx.Platform), limit, ix.runes),
		Fix:     fmt.Sprintf("Shorten it by %d characters, or take the conversation private.", ix.runes-limit),
	})
}

func (c *Checker) checkSignOff(text string, ix *index, ctx Context, add func(Finding)) {
	trimmed := strings.TrimRightFunc(text, unicode.IsSpace)
	last := trimmed
	if i := strings.LastIndexByte(trimmed, '\n'); i >= 0 {
		last = trimmed[i+1:]
	}
	last = strings.TrimSpace(last)
	for _, re := range c.signOff {
		if re.MatchString(last) {
			return
		}
	}
	f := Finding{
		Rule: "sign-off", Severity: severity(c.pack.SignOff.Severity, guidelines.SeverityWarn),
		Start: ix.rune(len(trimmed)), End: ix.runes,
		Message: "Public replies end with a sign-off: your first name and the store.",
		Fix:     "Add a sign-off such as \"– Maria, Copper Kettle Riverside\".",
	}
	if ctx.SignOff != "" {
		rep := "\n\n" + ctx.SignOff
		if trimmed == "" {
			rep = ctx.SignOff
		}
		f.Replacement = &rep
		f.Fix = fmt.Sprintf("Add the sign-off %q.", ctx.SignOff)
	}
	add(f)
}

// checkCaps flags runs of MinWords or more all-capital words.
func (c *Checker) checkCaps(text string, add func(Finding)) {
	cfg := c.pack.Checks.AllCaps
	toks := textmatch.Tokenize(text)
	runes := []rune(text)
	runStart, count, runEnd := -1, 0, 0
	flush := func() {
		if count >= cfg.MinWords {
			orig := string(runes[runStart:runEnd])
			rep := strings.ToLower(orig)
			if isSentenceStart(runes, runStart) {
				r, n := utf8.DecodeRuneInString(rep)
				rep = string(unicode.ToUpper(r)) + rep[n:]
			}
			add(Finding{
				Rule: "all-caps", Severity: severity(cfg.Severity, guidelines.SeverityWarn),
				Start: runStart, End: runEnd,
				Message:     "Capitals read as shouting.",
				Fix:         "Write it in normal case.",
				Replacement: &rep,
			})
		}
		runStart, count = -1, 0
	}
	for _, t := range toks {
		if !t.Word {
			continue
		}
		word := string(runes[t.Start:t.End])
		if isShout(word) && !c.capsAllow[word] {
			if runStart < 0 {
				runStart = t.Start
			}
			count++
			runEnd = t.End
			continue
		}
		flush()
	}
	flush()
}

func isShout(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			letters++
		}
	}
	return letters >= 2
}

func isSentenceStart(runes []rune, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch {
		case unicode.IsSpace(runes[j]):
			continue
		case strings.ContainsRune(".!?\n", runes[j]):
			return true
		default:
			return false
		}
	}
	return true
}

// checkExclamations allows Max exclamation marks in all and one at a time.
func (c *Checker) checkExclamations(text string, add func(Finding)) {
	cfg := c.pack.Checks.Exclamations
	budget := cfg.Max
	runes := []rune(text)
	for i := 0; i < len(runes); i++ {
		if runes[i] != '!' {
			continue
		}
		j := i
		for j < len(runes) && runes[j] == '!' {
			j++
		}
		keep := 0
		if budget > 0 {
			keep = 1
			budget--
		}
		if excess := j - i - keep; excess > 0 {
			rep := ""
			if keep == 0 {
				rep = "."
			}
			add(Finding{
				Rule: "exclamations", Severity: severity(cfg.Severity, guidelines.SeverityWarn),
				Start: i + keep, End: j,
				Message:     fmt.Sprintf("At most %d exclamation mark(s) per reply, one at a time.", cfg.Max),
				Fix:         "Use a full stop.",
				Replacement: &rep,
			})
		}
		i = j - 1
	}
}

// apologyWords mark a sentence as empathy: "I'm so sorry the fries were
// cold" is negative to VADER but exactly what we want to say.
var apologyWords = textmatch.New([]string{"sorry", "apolog*", "regret", "unfortunate*", "understand", "frustrat*"})

// checkTone flags sentences of the reply whose own tone is negative.
func (c *Checker) checkTone(text string, add func(Finding)) {
	cfg := c.pack.Checks.NegativeTone
	for _, s := range sentences(text) {
		body := strings.Join(strings.Fields(s.text), " ")
		if len(body) < 8 {
			continue
		}
		if apologyWords.ContainsAny(textmatch.Tokenize(body)) {
			continue
		}
		score := c.vader.PolarityScores(body).Compound
		if score <= cfg.Threshold {
			add(Finding{
				Rule: "negative-tone", Severity: severity(cfg.Severity, guidelines.SeverityWarn),
				Start: s.start, End: s.end,
				Message: fmt.Sprintf("This sentence reads as negative (tone %.2f).", score),
				Fix:     "Say what you will do rather than what went wrong, or apologise for it.",
			})
		}
	}
}

type sentence struct {
	text       string
	start, end int // runes
}

func sentences(text string) []sentence {
	var out []sentence
	runes := []rune(text)
	start := 0
	for i, r := range runes {
		if strings.ContainsRune(".!?\n", r) {
			if seg := strings.TrimSpace(string(runes[start : i+1])); seg != "" {
				out = append(out, trimSpan(runes, start, i+1))
			}
			start = i + 1
		}
	}
	if start < len(runes) && strings.TrimSpace(string(runes[start:])) != "" {
		out = append(out, trimSpan(runes, start, len(runes)))
	}
	return out
}

func trimSpan(runes []rune, s, e int) sentence {
	for s < e && unicode.IsSpace(runes[s]) {
		s++
	}
	for e > s && unicode.IsSpace(runes[e-1]) {
		e--
	}
	return sentence{text: string(runes[s:e]), start: s, end: e}
}

// index converts byte offsets of a text to rune offsets.
type index struct {
	ascii      bool
	byteToRune []int
	runes      int
}

func newIndex(text string) *index {
	ix := &index{runes: utf8.RuneCountInString(text)}
	if ix.runes == len(text) {
		ix.ascii = true
		return ix
	}
	ix.byteToRune = make([]int, len(text)+1)
	n := 0
	for i := range text {
		for j := i; j < len(text) && (j == i || !utf8.RuneStart(text[j])); j++ {
			ix.byteToRune[j] = n
		}
		n++
	}
	ix.byteToRune[len(text)] = n
	return ix
}

func (ix *index) rune(b int) int {
	if ix.ascii {
		return b
	}
	return ix.byteToRune[b]
}

// fillVars replaces {{name}} with vars[name]; unknown names are left as
// they are, for the writer to see and fill.
func fillVars(s string, vars map[string]string) string {
	for k, v := range vars {
		if v != "" {
			s = strings.ReplaceAll(s, "{{"+k+"}}", v)
		}
	}
	return s
}

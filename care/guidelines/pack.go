// Package guidelines defines the brand guideline pack: the versioned document
// in which headquarters sets a brand's voice, its rules for replies, its
// response-time target, and the keywords that triage listens for.
//
// A pack is plain JSON (schema documented in docs/guideline-pack.md). Parse
// decodes and validates one; every problem is reported with the path of the
// field that is wrong, so the author can fix it without guessing.
package guidelines

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the pack document format this build reads.
const SchemaVersion = 1

// Severities a rule can have.
const (
	SeverityBlock = "block"
	SeverityWarn  = "warn"
)

// Rule kinds a pack may declare. Built-in checks (personal data, sign-off,
// length, capitals, exclamation marks, tone, links) are configured in Checks.
const (
	KindBanned      = "banned"       // words or phrases that must not appear
	KindLegalReview = "legal_review" // promises that need legal review
	KindPattern     = "pattern"      // a regular expression, for anything else
)

// Buying stages and departments, shared by triage and templates.
var (
	Stages      = []string{"pre_purchase", "purchase", "post_purchase", "none"}
	Departments = []string{"marketing", "sales", "customer_care", "pr", "hr", "none"}
	// CrisisCategories are the kinds of crisis signal triage knows.
	CrisisCategories = []string{"injury", "food_safety", "discrimination", "legal", "press"}
)

// Pack is one version of a brand's guideline pack.
type Pack struct {
	Schema       int          `json:"schema"`
	ID           string       `json:"id"`
	Version      int          `json:"version"`
	Title        string       `json:"title"`
	Brand        string       `json:"brand"`
	Author       string       `json:"author,omitempty"`
	PublishedAt  *time.Time   `json:"published_at,omitempty"`
	Voice        Voice        `json:"voice"`
	ResponseTime ResponseTime `json:"response_time"`
	SignOff      SignOff      `json:"sign_off"`
	Checks       Checks       `json:"checks"`
	// ApprovedDomains are the domains replies may link to; subdomains count.
	ApprovedDomains []string `json:"approved_domains"`
	// PlatformLimits maps a platform to its reply length limit in characters.
	PlatformLimits     map[string]int `json:"platform_limits"`
	Rules              []Rule         `json:"rules"`
	Crisis             []CrisisRule   `json:"crisis"`
	Listening          Listening      `json:"listening"`
	TemplateCategories []Category     `json:"template_categories"`
}

// Voice is the human guidance on tone: what to do and what not to do.
type Voice struct {
	Summary string   `json:"summary"`
	Dos     []string `json:"dos"`
	Donts   []string `json:"donts"`
}

// ResponseTime holds the brand's response-time target.
type ResponseTime struct {
	TargetMinutes int `json:"target_minutes"`
	// WarnMinutes is when the clock turns amber; 0 means three quarters of
	// the target.
	WarnMinutes int `json:"warn_minutes,omitempty"`
	// Escalate, when set, escalates the messages it picks that are left
	// unanswered past the target.
	Escalate *AutoEscalate `json:"escalate,omitempty"`
}

// AutoEscalate picks messages to escalate when they are left unanswered:
// those with a crisis signal (Crisis), or of at least MinPriority (0:
// none by priority), after AfterMinutes of opening hours (0: at the
// target). They go to Level ("region" or "hq") with Severity.
type AutoEscalate struct {
	Crisis       bool   `json:"crisis"`
	MinPriority  int    `json:"min_priority,omitempty"`
	AfterMinutes int    `json:"after_minutes,omitempty"`
	Level        string `json:"level"`
	Severity     string `json:"severity"`
}

// After is how long a picked message may wait, in opening hours.
func (r ResponseTime) After() time.Duration {
	m := r.TargetMinutes
	if r.Escalate != nil && r.Escalate.AfterMinutes > 0 {
		m = r.Escalate.AfterMinutes
	}
	return time.Duration(m) * time.Minute
}

// SignOff says how a public reply must end.
type SignOff struct {
	Required bool `json:"required"`
	// Patterns are regular expressions; the reply's last line must match one.
	Patterns []string `json:"patterns"`
	// Suggestion is appended by the one-click fix; it may use template
	// placeholders such as {{staff_first_name}}.
	Suggestion string `json:"suggestion"`
	Severity   string `json:"severity"`
}

// Checks configures the built-in checks.
type Checks struct {
	PersonalData PersonalDataCheck `json:"personal_data"`
	AllCaps      AllCapsCheck      `json:"all_caps"`
	Exclamations ExclamationCheck  `json:"exclamations"`
	NegativeTone ToneCheck         `json:"negative_tone"`
	Links        LinkCheck         `json:"links"`
	Length       LengthCheck       `json:"length"`
}

// PersonalDataCheck finds phone numbers, e-mail addresses, order and card
// numbers and street addresses in public replies.
type PersonalDataCheck struct {
	Enabled  bool   `json:"enabled"`
	Severity string `json:"severity"`
}

// AllCapsCheck flags shouting: runs of capitalised words.
type AllCapsCheck struct {
	Enabled  bool   `json:"enabled"`
	Severity string `json:"severity"`
	// MinWords is how many consecutive all-caps words make a finding.
	MinWords int `json:"min_words"`
	// Allow lists acronyms that are fine in capitals (e.g. "BBQ").
	Allow []string `json:"allow"`
}

// ExclamationCheck flags exclamation overuse.
type ExclamationCheck struct {
	Enabled  bool   `json:"enabled"`
	Severity string `json:"severity"`
	// Max is how many exclamation marks a reply may carry in all.
	Max int `json:"max"`
}

// ToneCheck flags a reply whose own tone is negative.
type ToneCheck struct {
	Enabled  bool   `json:"enabled"`
	Severity string `json:"severity"`
	// Threshold is the VADER compound score at or below which a sentence is
	// too negative, in [-1, 0].
	Threshold float64 `json:"threshold"`
}

// LinkCheck flags links outside ApprovedDomains.
type LinkCheck struct {
	Enabled  bool   `json:"enabled"`
	Severity string `json:"severity"`
}

// LengthCheck enforces PlatformLimits.
type LengthCheck struct {
	Enabled  bool   `json:"enabled"`
	Severity string `json:"severity"`
}

// Rule is a brand rule declared by the pack.
type Rule struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Phrases are matched case-insensitively on word boundaries.
	Phrases []string `json:"phrases,omitempty"`
	// Pattern is a Go regular expression (RE2), matched case-insensitively.
	Pattern string `json:"pattern,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Replacement, when set, is what the one-click fix puts in place of the
	// match; an empty string with Remove removes it.
	Replacement string `json:"replacement,omitempty"`
	Remove      bool   `json:"remove,omitempty"`
}

// CrisisRule lists the keywords that flag a message for escalation.
type CrisisRule struct {
	Category string   `json:"category"`
	Keywords []string `json:"keywords"`
	// Level is who the escalation goes to by default: "region" or "hq".
	Level string `json:"level"`
}

// Listening holds the keywords social listening looks for.
type Listening struct {
	Brand       []string `json:"brand"`
	Products    []string `json:"products"`
	Competitors []string `json:"competitors"`
}

// Group returns one listening group's keywords: brand, products or
// competitors.
func (l Listening) Group(name string) []string {
	switch name {
	case "brand":
		return l.Brand
	case "products":
		return l.Products
	case "competitors":
		return l.Competitors
	}
	return nil
}

// Category is a template category.
type Category struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Stage      string `json:"stage,omitempty"`
	Department string `json:"department,omitempty"`
}

//go:embed default-pack.json
var defaultPack []byte

// Default returns the pack Branchline ships with: a realistic pack for a
// burger restaurant brand. It panics if the embedded document is invalid,
// which a test guards against.
func Default() *Pack {
	p, err := Parse(defaultPack)
	if err != nil {
		panic(fmt.Sprintf("embedded default guideline pack: %v", err))
	}
	return p
}

// DefaultJSON returns the embedded default pack document.
func DefaultJSON() []byte { return bytes.Clone(defaultPack) }

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid guideline pack")

// ValidationError lists every problem found in a pack, each with its path.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%v: %s", ErrInvalid, strings.Join(e.Problems, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// maxPackBytes bounds what Parse accepts; a real pack is a few tens of KB.
const maxPackBytes = 4 << 20

// Parse decodes a pack document and validates it. Unknown fields are an
// error, so a misspelt key is not silently ignored.
func Parse(data []byte) (*Pack, error) {
	if len(data) > maxPackBytes {
		return nil, fmt.Errorf("%w: document is %d bytes, the limit is %d", ErrInvalid, len(data), maxPackBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Pack
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, describeJSONError(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the document", ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// describeJSONError turns a decoding error into a message with a line and
// column where the decoder gives an offset.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, max(syn.Offset-1, 0)) // Offset is just past the bad byte
		return fmt.Sprintf("line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		return fmt.Sprintf("line %d, column %d: field %q must be %v, not %s", line, col, typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return "the document is empty"
	default:
		return err.Error()
	}
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks the pack's content and returns a *ValidationError that
// lists every problem, or nil.
func (p *Pack) Validate() error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	if p.Schema != SchemaVersion {
		add("schema: this build reads schema %d, the document says %d", SchemaVersion, p.Schema)
	}
	if !idPattern.MatchString(p.ID) {
		add("id: %q must be 1-64 lower-case letters, digits, '.', '_' or '-'", p.ID)
	}
	if p.Version < 1 {
		add("version: must be 1 or more, got %d", p.Version)
	}
	if strings.TrimSpace(p.Title) == "" {
		add("title: must not be empty")
	}
	if p.ResponseTime.TargetMinutes < 1 || p.ResponseTime.TargetMinutes > 7*24*60 {
		add("response_time.target_minutes: must be between 1 and 10080, got %d", p.ResponseTime.TargetMinutes)
	}
	if w := p.ResponseTime.WarnMinutes; w < 0 || (w > 0 && w >= p.ResponseTime.TargetMinutes) {
		add("response_time.warn_minutes: must be 0 or less than the target, got %d", w)
	}
	if e := p.ResponseTime.Escalate; e != nil {
		if !e.Crisis && e.MinPriority <= 0 {
			add("response_time.escalate: picks nothing; set crisis or min_priority")
		}
		if e.MinPriority < 0 || e.MinPriority > 100 {
			add("response_time.escalate.min_priority: must be between 0 and 100, got %d", e.MinPriority)
		}
		if e.AfterMinutes < 0 || e.AfterMinutes > 7*24*60 {
			add("response_time.escalate.after_minutes: must be between 0 and 10080, got %d", e.AfterMinutes)
		}
		if e.Level != "region" && e.Level != "hq" {
			add("response_time.escalate.level: must be \"region\" or \"hq\", got %q", e.Level)
		}
		if !slices.Contains([]string{"low", "medium", "high", "critical"}, e.Severity) {
			add("response_time.escalate.severity: must be low, medium, high or critical, got %q", e.Severity)
		}
	}
	checkSeverity := func(path, s string, optional bool) {
		if optional && s == "" {
			return
		}
		if s != SeverityBlock && s != SeverityWarn {
			add("%s: must be %q or %q, got %q", path, SeverityBlock, SeverityWarn, s)
		}
	}
	if p.SignOff.Required {
		if len(p.SignOff.Patterns) == 0 {
			add("sign_off.patterns: a required sign-off needs at least one pattern")
		}
		checkSeverity("sign_off.severity", p.SignOff.Severity, true)
	}
	for i, pat := range p.SignOff.Patterns {
		if _, err := regexp.Compile(pat); err != nil {
			add("sign_off.patterns[%d]: %v", i, err)
		}
	}
	c := p.Checks
	checkSeverity("checks.personal_data.severity", c.PersonalData.Severity, true)
	checkSeverity("checks.all_caps.severity", c.AllCaps.Severity, true)
	checkSeverity("checks.exclamations.severity", c.Exclamations.Severity, true)
	checkSeverity("checks.negative_tone.severity", c.NegativeTone.Severity, true)
	checkSeverity("checks.links.severity", c.Links.Severity, true)
	checkSeverity("checks.length.severity", c.Length.Severity, true)
	if c.AllCaps.Enabled && c.AllCaps.MinWords < 1 {
		add("checks.all_caps.min_words: must be 1 or more, got %d", c.AllCaps.MinWords)
	}
	if c.Exclamations.Enabled && c.Exclamations.Max < 0 {
		add("checks.exclamations.max: must not be negative, got %d", c.Exclamations.Max)
	}
	if t := c.NegativeTone.Threshold; c.NegativeTone.Enabled && (t < -1 || t > 0) {
		add("checks.negative_tone.threshold: must be between -1 and 0, got %g", t)
	}
	for i, d := range p.ApprovedDomains {
		if d == "" || strings.ContainsAny(d, "/:@ ") || !strings.Contains(d, ".") {
			add("approved_domains[%d]: %q is not a domain name (write example.com, without scheme or path)", i, d)
		}
	}
	for plat, n := range p.PlatformLimits {
		if n < 1 {
			add("platform_limits.%s: must be 1 or more, got %d", plat, n)
		}
	}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if !idPattern.MatchString(r.ID) {
			add("%s.id: %q must be 1-64 lower-case letters, digits, '.', '_' or '-'", path, r.ID)
		} else if seen[r.ID] {
			add("%s.id: %q is used twice", path, r.ID)
		}
		seen[r.ID] = true
		checkSeverity(path+".severity", r.Severity, false)
		switch r.Kind {
		case KindBanned, KindLegalReview:
			if len(r.Phrases) == 0 && r.Pattern == "" {
				add("%s: a %s rule needs phrases or a pattern", path, r.Kind)
			}
		case KindPattern:
			if r.Pattern == "" {
				add("%s.pattern: a pattern rule needs a pattern", path)
			}
		default:
			add("%s.kind: must be %q, %q or %q, got %q", path, KindBanned, KindLegalReview, KindPattern, r.Kind)
		}
		for j, ph := range r.Phrases {
			if strings.TrimSpace(ph) == "" {
				add("%s.phrases[%d]: must not be empty", path, j)
			}
		}
		if r.Pattern != "" {
			if _, err := regexp.Compile("(?i)" + r.Pattern); err != nil {
				add("%s.pattern: %v", path, err)
			}
		}
		if strings.TrimSpace(r.Message) == "" {
			add("%s.message: must not be empty", path)
		}
	}
	for i, cr := range p.Crisis {
		path := fmt.Sprintf("crisis[%d]", i)
		if !slices.Contains(CrisisCategories, cr.Category) {
			add("%s.category: must be one of %s, got %q", path, strings.Join(CrisisCategories, ", "), cr.Category)
		}
		if len(cr.Keywords) == 0 {
			add("%s.keywords: must list at least one keyword", path)
		}
		for j, k := range cr.Keywords {
			if strings.TrimSpace(k) == "" {
				add("%s.keywords[%d]: must not be empty", path, j)
			}
		}
		if cr.Level != "" && cr.Level != "region" && cr.Level != "hq" {
			add("%s.level: must be \"region\" or \"hq\", got %q", path, cr.Level)
		}
	}
	catSeen := map[string]bool{}
	for i, cat := range p.TemplateCategories {
		path := fmt.Sprintf("template_categories[%d]", i)
		if !idPattern.MatchString(cat.ID) {
			add("%s.id: %q must be 1-64 lower-case letters, digits, '.', '_' or '-'", path, cat.ID)
		} else if catSeen[cat.ID] {
			add("%s.id: %q is used twice", path, cat.ID)
		}
		catSeen[cat.ID] = true
		if cat.Stage != "" && !slices.Contains(Stages, cat.Stage) {
			add("%s.stage: must be one of %s, got %q", path, strings.Join(Stages, ", "), cat.Stage)
		}
		if cat.Department != "" && !slices.Contains(Departments, cat.Department) {
			add("%s.department: must be one of %s, got %q", path, strings.Join(Departments, ", "), cat.Department)
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}

// WarnAfter is how long after a message its response clock turns amber.
func (p *Pack) WarnAfter() time.Duration {
	if p.ResponseTime.WarnMinutes > 0 {
		return time.Duration(p.ResponseTime.WarnMinutes) * time.Minute
	}
	return time.Duration(p.ResponseTime.TargetMinutes) * time.Minute * 3 / 4
}

// Target is the brand's response-time target.
func (p *Pack) Target() time.Duration {
	return time.Duration(p.ResponseTime.TargetMinutes) * time.Minute
}

// CrisisLevel returns the escalation level for a crisis category: the pack's
// setting, or "hq" when it says nothing.
func (p *Pack) CrisisLevel(category string) string {
	for _, c := range p.Crisis {
		if c.Category == category && c.Level != "" {
			return c.Level
		}
	}
	return "hq"
}

// Marshal encodes the pack as indented JSON.
func (p *Pack) Marshal() ([]byte, error) {
	return json.MarshalIndent(p, "", "  ")
}

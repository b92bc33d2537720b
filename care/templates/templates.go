// Package templates renders reply templates: brand-approved texts with
// placeholders such as {{customer_first_name}} filled from the conversation
// and fill-in prompts for the values only the agent knows.
//
// A placeholder is a name in double braces. A name is either a context
// value (see ContextVars) or one of the template's prompts. Rendering
// reports an unknown name or a missing value by name, never guessing.
package templates

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Template is one reply template.
type Template struct {
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Category   string   `json:"category"`
	Stage      string   `json:"stage,omitempty"`
	Department string   `json:"department,omitempty"`
	Platforms  []string `json:"platforms,omitempty"` // empty: every platform
	Kinds      []string `json:"kinds,omitempty"`     // empty: every kind
	// Private marks a template meant for direct messages ("take it
	// private" answers).
	Private bool     `json:"private,omitempty"`
	Body    string   `json:"body"`
	Prompts []Prompt `json:"prompts,omitempty"`
}

// Prompt is a value the agent types in when using the template.
type Prompt struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Hint     string `json:"hint,omitempty"`
	Optional bool   `json:"optional,omitempty"`
}

// ContextVars are the placeholders filled from the conversation, with what
// each one holds.
var ContextVars = map[string]string{
	"customer_name":       "the customer's display name",
	"customer_first_name": "the customer's first name",
	"brand_name":          "the brand, e.g. Copper Kettle Burgers",
	"location_name":       "the location, e.g. Copper Kettle Riverside",
	"location_short_name": "the location's short name, e.g. Riverside",
	"location_phone":      "the location's published phone number",
	"location_address":    "the location's published address",
	"opening_hours_today": "today's opening hours at the location",
	"manager_name":        "the manager on duty",
	"staff_name":          "the name of the person replying",
	"staff_first_name":    "the first name of the person replying",
	"platform":            "the platform the message came from",
}

// Errors.
var (
	ErrSyntax  = errors.New("template syntax")
	ErrUnknown = errors.New("unknown placeholder")
	ErrMissing = errors.New("missing value")
	ErrInvalid = errors.New("invalid template")
)

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// part is a piece of a parsed body: literal text or a placeholder.
type part struct {
	text   string
	name   string // set for a placeholder
	line   int
	column int
}

// Parse splits a body into literal text and placeholders, with a precise
// error for an unclosed or malformed placeholder.
func Parse(body string) ([]part, error) {
	var parts []part
	rest := body
	offset := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, part{text: rest})
			}
			return parts, nil
		}
		if i > 0 {
			parts = append(parts, part{text: rest[:i]})
		}
		line, col := position(body, offset+i)
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%w: line %d, column %d: \"{{\" is never closed with \"}}\"", ErrSyntax, line, col)
		}
		raw := rest[i+2 : i+2+j]
		name := strings.TrimSpace(raw)
		switch {
		case name == "":
			return nil, fmt.Errorf("%w: line %d, column %d: empty placeholder \"{{}}\"", ErrSyntax, line, col)
		case strings.Contains(raw, "{{"):
			return nil, fmt.Errorf("%w: line %d, column %d: placeholder opened twice", ErrSyntax, line, col)
		case !nameRe.MatchString(name):
			return nil, fmt.Errorf("%w: line %d, column %d: %q is not a placeholder name (lower-case letters, digits and _)", ErrSyntax, line, col, name)
		}
		parts = append(parts, part{name: name, line: line, column: col})
		consumed := i + 2 + j + 2
		rest = rest[consumed:]
		offset += consumed
	}
}

func position(s string, off int) (line, col int) {
	line = 1 + strings.Count(s[:off], "\n")
	col = 1 + len([]rune(s[strings.LastIndexByte(s[:off], '\n')+1:off]))
	return line, col
}

// Placeholders returns the distinct placeholder names of the body, in order
// of first use.
func (t Template) Placeholders() ([]string, error) {
	parts, err := Parse(t.Body)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range parts {
		if p.name != "" && !slices.Contains(names, p.name) {
			names = append(names, p.name)
		}
	}
	return names, nil
}

// Prompt returns the prompt called name.
func (t Template) Prompt(name string) (Prompt, bool) {
	i := slices.IndexFunc(t.Prompts, func(p Prompt) bool { return p.Name == name })
	if i < 0 {
		return Prompt{}, false
	}
	return t.Prompts[i], true
}

// Validate checks the template: a name, a body that parses, every
// placeholder known, prompts well formed and used.
func (t Template) Validate() error {
	var probs []string
	if !nameRe.MatchString(strings.ReplaceAll(t.Name, "-", "_")) {
		probs = append(probs, fmt.Sprintf("name %q must be lower-case letters, digits, '-' or '_'", t.Name))
	}
	if strings.TrimSpace(t.Body) == "" {
		probs = append(probs, "body is empty")
	}
	seen := map[string]bool{}
	for i, p := range t.Prompts {
		switch {
		case !nameRe.MatchString(p.Name):
			probs = append(probs, fmt.Sprintf("prompts[%d].name %q must be lower-case letters, digits and _", i, p.Name))
		case seen[p.Name]:
			probs = append(probs, fmt.Sprintf("prompts[%d].name %q is used twice", i, p.Name))
		case ContextVars[p.Name] != "":
			probs = append(probs, fmt.Sprintf("prompts[%d].name %q is a context value; pick another name", i, p.Name))
		}
		seen[p.Name] = true
		if strings.TrimSpace(p.Label) == "" {
			probs = append(probs, fmt.Sprintf("prompts[%d].label must not be empty", i))
		}
	}
	names, err := t.Placeholders()
	if err != nil {
		probs = append(probs, err.Error())
	}
	for _, n := range names {
		if ContextVars[n] == "" && !seen[n] {
			probs = append(probs, fmt.Sprintf("%v {{%s}}: not a context value and not a prompt", ErrUnknown, n))
		}
	}
	for _, p := range t.Prompts {
		if !slices.Contains(names, p.Name) {
			probs = append(probs, fmt.Sprintf("prompt %q is never used in the body", p.Name))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w %q: %s", ErrInvalid, t.Name, strings.Join(probs, "; "))
	}
	return nil
}

// MissingError lists the values a rendering lacked.
type MissingError struct {
	Template string
	Names    []string // placeholder names
	Labels   []string // what to ask for each, in the same order
}

func (e *MissingError) Error() string {
	items := make([]string, len(e.Names))
	for i, n := range e.Names {
		items[i] = fmt.Sprintf("{{%s}} (%s)", n, e.Labels[i])
	}
	return fmt.Sprintf("%v for template %q: %s", ErrMissing, e.Template, strings.Join(items, ", "))
}

// Unwrap makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Unwrap() error { return ErrMissing }

// Render fills the template. vars holds context values; answers holds the
// agent's answers to prompts. An unknown placeholder, a required prompt not
// answered or a context value that is empty is an error naming each one.
func (t Template) Render(vars, answers map[string]string) (string, error) {
	parts, err := Parse(t.Body)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", t.Name, err)
	}
	var b strings.Builder
	missing := &MissingError{Template: t.Name}
	for _, p := range parts {
		if p.name == "" {
			b.WriteString(p.text)
			continue
		}
		if pr, ok := t.Prompt(p.name); ok {
			v := strings.TrimSpace(answers[p.name])
			if v == "" && !pr.Optional {
				missing.add(p.name, pr.Label)
			}
			b.WriteString(v)
			continue
		}
		desc, ok := ContextVars[p.name]
		if !ok {
			return "", fmt.Errorf("template %q: %w {{%s}} at line %d, column %d: not a context value and not a prompt", t.Name, ErrUnknown, p.name, p.line, p.column)
		}
		v := strings.TrimSpace(vars[p.name])
		if v == "" {
			missing.add(p.name, desc)
		}
		b.WriteString(v)
	}
	if len(missing.Names) > 0 {
		return "", missing
	}
	return tidy(b.String()), nil
}

func (e *MissingError) add(name, label string) {
	if !slices.Contains(e.Names, name) {
		e.Names = append(e.Names, name)
		e.Labels = append(e.Labels, label)
	}
}

// tidy removes the double spaces an empty optional value leaves behind.
func tidy(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	s = strings.ReplaceAll(s, " ,", ",")
	s = strings.ReplaceAll(s, " .", ".")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// Matches reports whether the template fits a message's platform and kind.
func (t Template) Matches(platform, kind string) bool {
	return (len(t.Platforms) == 0 || slices.Contains(t.Platforms, platform)) &&
		(len(t.Kinds) == 0 || slices.Contains(t.Kinds, kind))
}

//go:embed default-templates.json
var defaultTemplates []byte

// Defaults returns the templates Branchline ships with for the default
// guideline pack. A test checks that each one is valid.
func Defaults() []Template {
	ts, err := ParseList(defaultTemplates)
	if err != nil {
		panic(fmt.Sprintf("embedded default templates: %v", err))
	}
	return ts
}

// ParseList decodes a JSON array of templates and validates each one.
func ParseList(data []byte) ([]Template, error) {
	var ts []Template
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ts); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	names := map[string]bool{}
	var errs []error
	for _, t := range ts {
		if names[t.Name] {
			errs = append(errs, fmt.Errorf("%w: name %q is used twice", ErrInvalid, t.Name))
		}
		names[t.Name] = true
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return ts, errors.Join(errs...)
}

package brand

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/branchline/branchline/care/guidelines"
)

// The personal-data and link checks scan the draft once for candidates
// with plain loops and run a regular expression only on a short window
// anchored at each candidate: Go's regexp would otherwise scan the whole
// draft once per pattern, far too slowly for every keystroke.
var (
	reEmailAt   = regexp.MustCompile(`^[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$`)
	reDate      = regexp.MustCompile(`^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$`)
	reTimeRange = regexp.MustCompile(`^\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2}$`)
	reOrderAt   = regexp.MustCompile(`^(?:order|ticket|receipt|confirmation|reference|ref|transaction|booking)\s*(?:#|no\.?|number|num\.?|id|code)?\s*[:#]?\s*#?([a-z0-9][a-z0-9-]{3,})\b`)
	reStreetAt  = regexp.MustCompile(`^\d{1,5}[a-z]?\s+(?:[nsew]\.?\s+)?(?:[\p{L}'.-]+\s+){1,4}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|parkway|pkwy|highway|hwy|circle|cir|square|sq)\b\.?(?:,?\s*(?:apt|apartment|unit|suite|ste|#)\.?\s*[\w-]+)?`)
	reStrasse   = regexp.MustCompile(`\b\p{Lu}[\p{L}-]*(?:straße|strasse|str\.|weg|platz|gasse|allee|ring|damm)\s+\d{1,4}[a-z]?\b`)
	reBareHost  = regexp.MustCompile(`^(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|co|me|ly|gl|page|app|info|biz|us|uk|de|fr|es|it|nl|eu|ca|au|link|site|online|shop|store|xyz|example|gg|tv)(?:[/?#]\S*)?$`)

	orderWords     = []string{"order", "ticket", "receipt", "confirmation", "reference", "ref", "transaction", "booking"}
	strasseHints   = []string{"straße", "strasse", "str.", "weg ", "platz", "gasse", "allee", "ring ", "damm"}
	fieldTrimLeft  = "([<\"'"
	fieldTrimRight = ".,;:!?)]>\"'"
)

// field is a whitespace-separated chunk of the draft, trimmed of the
// punctuation around it, as byte offsets.
type field struct{ start, end int }

func fields(text string) []field {
	var out []field
	start := -1
	for i, r := range text {
		if unicode.IsSpace(r) {
			if start >= 0 {
				out = append(out, trimField(text, start, i))
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, trimField(text, start, len(text)))
	}
	return out
}

func trimField(text string, s, e int) field {
	for s < e && strings.IndexByte(fieldTrimLeft, text[s]) >= 0 {
		s++
	}
	for e > s && strings.IndexByte(fieldTrimRight, text[e-1]) >= 0 {
		e--
	}
	return field{s, e}
}

// scan holds what the checks share about one draft.
type scan struct {
	text, lower string
	fields      []field
	emails      []field
}

func newScan(text string) *scan {
	sc := &scan{text: text, lower: lowerSameLength(text), fields: fields(text)}
	if strings.IndexByte(text, '@') >= 0 {
		for _, f := range sc.fields {
			if reEmailAt.MatchString(sc.lower[f.start:f.end]) {
				sc.emails = append(sc.emails, f)
			}
		}
	}
	return sc
}

func (sc *scan) inEmail(a, b int) bool {
	for _, e := range sc.emails {
		if a < e.end && b > e.start {
			return true
		}
	}
	return false
}

func (c *Checker) checkPersonalData(sc *scan, ix *index, ctx Context, add func(Finding)) {
	text := sc.text
	sev := severity(c.pack.Checks.PersonalData.Severity, guidelines.SeverityBlock)
	fix := "Take it private: move to a direct message, or ask them to contact the store, before sharing or asking for personal details."
	for _, e := range sc.emails {
		add(Finding{Rule: "personal-data.email", Severity: sev, Start: ix.rune(e.start), End: ix.rune(e.end),
			Message: "An e-mail address in a public reply.", Fix: fix})
	}
	ownPhone := digitsOf(ctx.LocationPhone)
	for _, run := range digitRuns(text) {
		s, e := run.start, run.end
		raw := text[s:e]
		if sc.inEmail(s, e) || reDate.MatchString(raw) || reTimeRange.MatchString(raw) {
			continue
		}
		d := digitsOf(raw)
		switch {
		case len(d) >= 13 && len(d) <= 19 && luhn(d):
			add(Finding{Rule: "personal-data.card", Severity: sev, Start: ix.rune(s), End: ix.rune(e),
				Message: "What looks like a payment card number in a public reply.", Fix: "Remove it at once; never repeat card numbers. " + fix})
		case len(d) >= 7 && len(d) <= 15:
			if ownPhone != "" && samePhone(d, ownPhone) {
				continue
			}
			add(Finding{Rule: "personal-data.phone", Severity: sev, Start: ix.rune(s), End: ix.rune(e),
				Message: "A phone number in a public reply (not the store's own).", Fix: fix})
		}
	}
	orderMsg := "An order or reference number in a public reply identifies the customer."
	var orders []field
	inOrder := func(i int) bool {
		for _, o := range orders {
			if i >= o.start && i < o.end {
				return true
			}
		}
		return false
	}
	for _, w := range orderWords {
		for off := 0; ; {
			i := strings.Index(sc.lower[off:], w)
			if i < 0 {
				break
			}
			i += off
			off = i + len(w)
			if i > 0 && isWordByte(sc.lower[i-1]) {
				continue
			}
			m := reOrderAt.FindStringSubmatchIndex(window(sc.lower, i, 80))
			if m == nil || !strings.ContainsAny(sc.lower[i+m[2]:i+m[3]], "0123456789") || sc.inEmail(i, i+m[1]) {
				continue
			}
			add(Finding{Rule: "personal-data.order", Severity: sev, Start: ix.rune(i), End: ix.rune(i + m[1]), Message: orderMsg, Fix: fix})
			orders = append(orders, field{i, i + m[1]})
			off = i + m[1]
		}
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '#' || (i > 0 && isWordByte(text[i-1])) {
			continue
		}
		j := i + 1
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if j-i-1 >= 4 && (j == len(text) || !isWordByte(text[j])) && !inOrder(i) {
			add(Finding{Rule: "personal-data.order", Severity: sev, Start: ix.rune(i), End: ix.rune(j), Message: orderMsg, Fix: fix})
		}
	}
	ownAddr := normalizeAddress(ctx.LocationAddress)
	addAddress := func(s, e int) {
		if ownAddr != "" && strings.Contains(ownAddr, normalizeAddress(text[s:e])) {
			return
		}
		add(Finding{Rule: "personal-data.address", Severity: sev, Start: ix.rune(s), End: ix.rune(e),
			Message: "A street address in a public reply (not the store's own).", Fix: fix})
	}
	for _, run := range digitRuns(text) {
		if run.end-run.start > 6 {
			continue
		}
		if m := reStreetAt.FindStringIndex(window(sc.lower, run.start, 100)); m != nil {
			addAddress(run.start, run.start+m[1])
		}
	}
	for _, h := range strasseHints {
		if strings.Contains(sc.lower, h) {
			for _, loc := range reStrasse.FindAllStringIndex(text, -1) {
				addAddress(loc[0], loc[1])
			}
			break
		}
	}
}

func (c *Checker) checkLinks(sc *scan, ix *index, add func(Finding)) {
	sev := severity(c.pack.Checks.Links.Severity, guidelines.SeverityBlock)
	for _, f := range sc.fields {
		low := sc.lower[f.start:f.end]
		var raw string
		switch {
		case strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://"):
			raw = sc.text[f.start:f.end]
		case strings.IndexByte(low, '.') > 0 && strings.IndexByte(low, '@') < 0 && reBareHost.MatchString(low):
			raw = sc.text[f.start:f.end]
		default:
			continue
		}
		host := hostOf(raw)
		if host == "" || c.approvedHost(host) {
			continue
		}
		add(Finding{Rule: "link-domain", Severity: sev, Start: ix.rune(f.start), End: ix.rune(f.end),
			Message: fmt.Sprintf("%s is not an approved domain.", host),
			Fix:     "Link only to " + strings.Join(c.approved, ", ") + "."})
	}
}

func (c *Checker) approvedHost(host string) bool {
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	for _, d := range c.approved {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

func hostOf(raw string) string {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// digitRuns finds runs that start at a word boundary with a digit, "+" or
// "(" and go on over digits and the separators phone numbers use. Each run
// ends on a digit.
func digitRuns(text string) []field {
	var out []field
	for i := 0; i < len(text); i++ {
		c := text[i]
		startsRun := isDigit(c) || ((c == '+' || c == '(') && i+1 < len(text) && isDigit(text[i+1]))
		if !startsRun {
			continue
		}
		if i > 0 && isWordByte(text[i-1]) {
			for i+1 < len(text) && isWordByte(text[i+1]) {
				i++ // inside a word such as "A4" or "2nd": skip it
			}
			continue
		}
		j, last := i, -1
		for j < len(text) && j-i < 40 && (isDigit(text[j]) || strings.IndexByte(" ().-/+", text[j]) >= 0) {
			if isDigit(text[j]) {
				last = j + 1
			}
			j++
		}
		if last < 0 {
			continue
		}
		if last < len(text) && isWordByte(text[last]) {
			// Digits run into letters ("12pm", "3rd"): the last group is not
			// part of a number; keep what came before it.
			k := last
			for k > i && isDigit(text[k-1]) {
				k--
			}
			for k > i && !isDigit(text[k-1]) {
				k--
			}
			last = k
		}
		if last > i {
			out = append(out, field{i, last})
		}
		i = j - 1
	}
	return out
}

func window(s string, i, n int) string {
	end := min(len(s), i+n)
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	return s[i:end]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || c >= utf8.RuneSelf || c == '_'
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// samePhone compares two phone numbers written with or without a country
// code: the shorter must be a suffix of the longer and at least 7 digits.
func samePhone(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 7 && strings.HasSuffix(b, a)
}

func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

var streetAbbrev = strings.NewReplacer(" street ", " st ", " avenue ", " ave ", " road ", " rd ", " boulevard ", " blvd ",
	" lane ", " ln ", " drive ", " dr ", " court ", " ct ", " place ", " pl ", "straße ", "str ", "strasse ", "str ")

func normalizeAddress(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			space = false
		case !space:
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(streetAbbrev.Replace(" " + strings.TrimSpace(b.String()) + " "))
}

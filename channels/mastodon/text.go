package mastodon

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// plainText turns a status's HTML content into the text a person reads:
// tags are dropped (a mention's "@<span>acct</span>" reads "@acct", a
// link its full address, hidden parts included), entities are unescaped,
// <br> ends a line and a paragraph is separated from the next by a blank
// line. Runs of spaces collapse as a browser shows them.
func plainText(content string) string {
	var b strings.Builder
	// breaks is the number of newlines owed before the next text.
	breaks := 0
	space := false
	skip := 0 // inside <script> or <style>
	z := html.NewTokenizer(strings.NewReader(content))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			for _, r := range string(z.Text()) {
				if r != '\u00a0' && unicode.IsSpace(r) {
					space = true
					continue
				}
				if b.Len() > 0 {
					switch {
					case breaks > 0:
						b.WriteString(strings.Repeat("\n", breaks))
					case space:
						b.WriteByte(' ')
					}
				}
				breaks, space = 0, false
				b.WriteRune(r)
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "br":
				breaks++
				space = false
			case "p", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6":
				breaks = max(breaks, 2)
			case "div", "li", "ul", "ol":
				breaks = max(breaks, 1)
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
		}
	}
}

// tidy trims the text and removes spaces at line ends.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// sameReplyText reports whether a status's plain text says what a reply's
// text says. Both are compared as their words (letters and digits), with
// every mention set aside, wherever it stands:
//   - a server shows a mention of a remote account as "@user", not
//     "@user@host" as written, and a reply gains a leading mention of the
//     person it answers;
//   - a server that formatted the text (Markdown: "*x*" shows as "x",
//     "- item" as a list) changes only punctuation and layout.
//
// Texts without words (only emoji, say) are compared as they are, without
// mentions and with whitespace runs as one space.
func sameReplyText(status, reply string) bool {
	s, r := withoutMentions(status), withoutMentions(reply)
	sw, rw := words(s), words(r)
	if sw == "" && rw == "" {
		return normalize(s) == normalize(r)
	}
	return sw == rw
}

// mentionRE matches a mention as Mastodon finds one in a status's text:
// "@user" or "@user@host", not inside a word, an e-mail address or a URL
// (what precedes it is kept as group 1).
var mentionRE = regexp.MustCompile(`(^|[^\w/])@\w+(?:[\w.-]+\w)?(?:@\w+(?:[.-]+\w+)*)?`)

// withoutMentions replaces every mention with a space. (A match ends in
// a word character, which no mention follows, so one pass finds them
// all.)
func withoutMentions(s string) string { return mentionRE.ReplaceAllString(s, "$1 ") }

// words is s's runs of letters, digits and combining marks, joined by
// single spaces.
func words(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	}), " ")
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// Package humanize formats values for people: ages, snippets and platform
// names, the same in the command line and the desktop app.
package humanize

import (
	"fmt"
	"strings"
	"time"
)

// Age is a short age: 5m, 3h, 2d.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// Snippet is s on one line, cut to n characters with an ellipsis.
func Snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Platform is a platform's name as people write it.
func Platform(p string) string {
	switch p {
	case "facebook":
		return "Facebook"
	case "instagram":
		return "Instagram"
	case "google":
		return "Google"
	case "mastodon":
		return "Mastodon"
	case "x":
		return "X"
	case "bluesky":
		return "Bluesky"
	case "tiktok":
		return "TikTok"
	case "yelp":
		return "Yelp"
	case "tripadvisor":
		return "Tripadvisor"
	case "":
		return "The platform"
	}
	return p
}

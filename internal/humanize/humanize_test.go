package humanize

import (
	"testing"
	"time"
)

func TestAgeAndSnippet(t *testing.T) {
	tests := []struct{ got, want string }{
		{Age(30 * time.Second), "now"},
		{Age(5 * time.Minute), "5m"},
		{Age(47 * time.Hour), "47h"},
		{Age(72 * time.Hour), "3d"},
		{Snippet("Hello\n  there", 20), "Hello there"},
		{Snippet("Grüße aus Köln", 6), "Grüße…"},
		{Platform("google"), "Google"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

package brand

import (
	"slices"
	"strings"
	"testing"

	"github.com/branchline/branchline/care/guidelines"
)

func defaultChecker(t testing.TB) *Checker {
	t.Helper()
	c, err := NewChecker(guidelines.Default())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var storeCtx = Context{
	Platform:        "facebook",
	Public:          true,
	LocationPhone:   "+1 (503) 555-0142",
	LocationAddress: "1200 NW Riverside Drive, Portland, OR 97209",
	SignOff:         "– Maria, Copper Kettle Riverside",
	Vars:            map[string]string{"customer_first_name": "Jess"},
}

const signed = "\n\n– Maria, Copper Kettle Riverside"

// span returns the text a finding covers.
func span(text string, f Finding) string { return string([]rune(text)[f.Start:f.End]) }

func TestCheckFindsWhatTheGuidelinesForbid(t *testing.T) {
	c := defaultChecker(t)
	tests := []struct {
		name     string
		text     string
		ctx      Context
		rule     string // "" means: no finding at all
		severity string
		covers   string
	}{
		{"clean reply", "Hi Jess, thanks for letting us know. Could you send us a direct message so we can make this right?" + signed, storeCtx, "", "", ""},
		{"customer phone in public", "Hi Jess, call me on 503-555-0199 and we'll sort it." + signed, storeCtx, "personal-data.phone", "block", "503-555-0199"},
		{"store's own phone is fine", "Hi Jess, call the store on (503) 555-0142 any time." + signed, storeCtx, "", "", ""},
		{"phone is fine in a DM", "Hi Jess, call me on 503-555-0199.", Context{Platform: "facebook", Public: false}, "", "", ""},
		{"e-mail address", "Please write to jess.miller@gmail.com" + signed, storeCtx, "personal-data.email", "block", "jess.miller@gmail.com"},
		{"card number passes Luhn", "Your card 4111 1111 1111 1111 was charged." + signed, storeCtx, "personal-data.card", "block", "4111 1111 1111 1111"},
		{"order number", "We found order #48213 in our system." + signed, storeCtx, "personal-data.order", "block", "order #48213"},
		{"street address", "We'll send it to 42 Maple Street tomorrow." + signed, storeCtx, "personal-data.address", "block", "42 Maple Street"},
		{"store's own address is fine", "Find us at 1200 NW Riverside Drive." + signed, storeCtx, "", "", ""},
		{"a date is not a phone number", "We reopen on 2026-12-27 after the holidays." + signed, storeCtx, "", "", ""},
		{"banned phrase blocks", "Honestly you're wrong about the fries." + signed, storeCtx, "no-blame", "block", "you're wrong"},
		{"refund guarantee needs legal", "We guarantee a full refund for this." + signed, storeCtx, "legal-refund-promise", "block", "We guarantee"},
		{"compensation amount needs legal", "We'd like to offer you a $25 gift card." + signed, storeCtx, "legal-compensation-amount", "block", "$25 gift card"},
		{"missing sign-off", "Thanks Jess, see you soon.", storeCtx, "sign-off", "warn", ""},
		{"shouting", "Hi Jess, WE ARE SO SORRY about that." + signed, storeCtx, "all-caps", "warn", "WE ARE SO SORRY"},
		{"allowed acronym is not shouting", "Our BBQ sauce is back on the menu." + signed, storeCtx, "", "", ""},
		{"exclamation overuse", "Thanks Jess!!! See you soon!" + signed, storeCtx, "exclamations", "warn", "!!"},
		{"negative tone", "The complaint is stupid and pointless." + signed, storeCtx, "no-slang-or-profanity", "block", "stupid"},
		{"link outside approved domains", "Order at https://cheap-burgers.biz/deal today." + signed, storeCtx, "link-domain", "block", "https://cheap-burgers.biz/deal"},
		{"approved subdomain link", "Order at https://order.copperkettle.example/riverside today." + signed, storeCtx, "", "", ""},
		{"length limit", strings.Repeat("a", 490) + " thanks" + signed, Context{Platform: "mastodon", Public: true, SignOff: storeCtx.SignOff}, "length", "block", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := c.Check(tt.text, tt.ctx)
			if tt.rule == "" {
				if len(fs) != 0 {
					t.Fatalf("want no findings, got %+v", fs)
				}
				return
			}
			i := slices.IndexFunc(fs, func(f Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("want a %s finding, got %+v", tt.rule, fs)
			}
			f := fs[i]
			if f.Severity != tt.severity {
				t.Errorf("severity = %s, want %s", f.Severity, tt.severity)
			}
			if tt.covers != "" && span(tt.text, f) != tt.covers {
				t.Errorf("span covers %q, want %q", span(tt.text, f), tt.covers)
			}
			if f.Message == "" || f.Fix == "" {
				t.Errorf("finding lacks a message or a fix: %+v", f)
			}
		})
	}
}

func TestNegativeToneIgnoresApologies(t *testing.T) {
	c := defaultChecker(t)
	apology := "I'm so sorry your burger was cold and the wait was terrible." + signed
	if fs := c.Check(apology, storeCtx); slices.ContainsFunc(fs, func(f Finding) bool { return f.Rule == "negative-tone" }) {
		t.Errorf("an apology was flagged as negative tone: %+v", fs)
	}
	harsh := "Your review is unfair and hateful." + signed
	fs := c.Check(harsh, storeCtx)
	if !slices.ContainsFunc(fs, func(f Finding) bool { return f.Rule == "negative-tone" }) {
		t.Errorf("a hostile sentence was not flagged: %+v", fs)
	}
}

func TestApplyFixesLeaveCleanText(t *testing.T) {
	c := defaultChecker(t)
	tests := []struct {
		name, text, rule, want string
	}{
		{"sign-off appended", "Thanks Jess, see you soon.", "sign-off", "Thanks Jess, see you soon." + signed},
		{"exclamations trimmed", "Thanks Jess!!!" + signed, "exclamations", "Thanks Jess!" + signed},
		{"shouting lower-cased", "WE ARE SO SORRY about that." + signed, "all-caps", "We are so sorry about that." + signed},
		{"removal leaves one space", "It is obviously our best burger." + signed, "no-blame", "It is our best burger." + signed},
		{"replacement with a placeholder", "Dear customer, thanks for visiting." + signed, "no-customer-word", "Hi Jess, thanks for visiting." + signed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := c.Check(tt.text, storeCtx)
			i := slices.IndexFunc(fs, func(f Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("no %s finding in %+v", tt.rule, fs)
			}
			got, ok := Apply(tt.text, fs[i])
			if !ok {
				t.Fatalf("finding %s has no one-click fix", tt.rule)
			}
			if got != tt.want {
				t.Errorf("Apply = %q, want %q", got, tt.want)
			}
			for _, f := range c.Check(got, storeCtx) {
				if f.Rule == tt.rule {
					t.Errorf("after the fix the %s finding remains: %+v", tt.rule, f)
				}
			}
		})
	}
}

func TestSpansCountRunesNotBytes(t *testing.T) {
	c := defaultChecker(t)
	text := "Grüße 🍔 von uns, ruf 0341 5550 1234 an." + signed
	fs := c.Check(text, storeCtx)
	i := slices.IndexFunc(fs, func(f Finding) bool { return f.Rule == "personal-data.phone" })
	if i < 0 {
		t.Fatalf("no phone finding: %+v", fs)
	}
	if got := span(text, fs[i]); got != "0341 5550 1234" {
		t.Errorf("span = %q, want the phone number", got)
	}
}

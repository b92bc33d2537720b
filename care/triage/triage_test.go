package triage

import (
	"slices"
	"testing"

	"github.com/branchline/branchline/care/guidelines"
)

func TestTriageExplainsEachDecision(t *testing.T) {
	tr := New(guidelines.Default())
	tests := []struct {
		name     string
		in       Input
		needs    bool
		stage    string
		dept     string
		crisis   string
		rule     string // a reason that must be given
		words    []string
		negative bool
	}{
		{"hours question", Input{Text: "what time do you close tonight", Kind: "comment"}, true, "pre_purchase", "sales", "", "question", []string{"what"}, false},
		{"emoji only", Input{Text: "🔥🔥🔥", Kind: "comment"}, false, "none", "none", "", "no-words", nil, false},
		{"thank-you", Input{Text: "Thanks so much, lovely evening!", Kind: "comment"}, false, "none", "marketing", "", "thanks-or-praise", []string{"thanks"}, false},
		{"spam", Input{Text: "Earn $500 a day from home, DM me", Kind: "comment"}, false, "none", "none", "", "spam", []string{"earn $*"}, false},
		{"cold delivery", Input{Text: "Our delivery arrived cold and the fries were soggy. Not happy.", Kind: "dm"}, true, "post_purchase", "customer_care", "", "complaint", []string{"cold", "soggy"}, true},
		{"late order", Input{Text: "still waiting for my order, placed it 50 mins ago", Kind: "dm"}, true, "purchase", "customer_care", "", "order-in-progress", []string{"still waiting"}, false},
		{"food safety", Input{Text: "My son got sick after eating your chicken last night", Kind: "comment"}, true, "post_purchase", "customer_care", "food_safety", "crisis-keywords:food_safety", []string{"got sick"}, false},
		{"press", Input{Text: "I'm a reporter with the Tribune, can I get a comment for a story?", Kind: "dm"}, true, "none", "pr", "press", "press-enquiry", nil, false},
		{"job", Input{Text: "Are you hiring? I'd love to apply for a line cook position", Kind: "dm"}, true, "none", "hr", "", "jobs", []string{"are you hiring"}, false},
		{"5-star rating only", Input{Kind: "review", Rating: 5}, false, "post_purchase", "marketing", "", "review-rating-only", nil, false},
		{"1-star review", Input{Text: "Rude staff and a dirty table.", Kind: "review", Rating: 1}, true, "post_purchase", "customer_care", "", "review-policy", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tr.Triage(tt.in)
			if r.NeedsResponse != tt.needs || r.Stage != tt.stage || r.Department != tt.dept || r.Crisis != tt.crisis {
				t.Errorf("got needs=%v stage=%s dept=%s crisis=%q, want %v %s %s %q; reasons %+v",
					r.NeedsResponse, r.Stage, r.Department, r.Crisis, tt.needs, tt.stage, tt.dept, tt.crisis, r.Reasons)
			}
			i := slices.IndexFunc(r.Reasons, func(rs Reason) bool { return rs.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("no reason with rule %q in %+v", tt.rule, r.Reasons)
			}
			for _, w := range tt.words {
				if !slices.Contains(r.Reasons[i].Words, w) {
					t.Errorf("reason %s names words %q, want it to include %q", tt.rule, r.Reasons[i].Words, w)
				}
			}
			if tt.negative && r.Sentiment >= 0 {
				t.Errorf("sentiment %.2f, want negative", r.Sentiment)
			}
			if r.Sentiment < -1 || r.Sentiment > 1 {
				t.Errorf("sentiment %.2f outside [-1, 1]", r.Sentiment)
			}
			for _, field := range []string{"needs_response", "stage", "department", "sentiment"} {
				if !slices.ContainsFunc(r.Reasons, func(rs Reason) bool { return rs.Field == field }) {
					t.Errorf("no reason for %s", field)
				}
			}
		})
	}
}

func TestListeningFindsPackKeywords(t *testing.T) {
	tr := New(guidelines.Default())
	r := tr.Triage(Input{Text: "Copper Kettle's Smokehouse Stack beats Five Guys any day", Kind: "mention"})
	var got []string
	for _, h := range r.Listening {
		got = append(got, h.Group+":"+h.Keyword)
	}
	for _, want := range []string{"brand:copper kettle", "products:smokehouse stack", "competitors:five guys"} {
		if !slices.Contains(got, want) {
			t.Errorf("listening hits %v lack %s", got, want)
		}
	}
}

func TestCrisisKeywordsComeFromThePack(t *testing.T) {
	p := guidelines.Default()
	p.Crisis = append(p.Crisis, guidelines.CrisisRule{Category: "legal", Keywords: []string{"cease and desist"}})
	r := New(p).Triage(Input{Text: "Expect a cease and desist letter.", Kind: "dm"})
	if r.Crisis != "legal" {
		t.Fatalf("crisis = %q, want legal; reasons %+v", r.Crisis, r.Reasons)
	}
	if r.Priority < 50 {
		t.Errorf("a crisis has priority %d, want it at the top", r.Priority)
	}
}

func BenchmarkTriage(b *testing.B) {
	tr := New(guidelines.Default())
	texts := []string{
		"Ordered the double bacon burger for delivery and it arrived cold and soggy 45 minutes late. Really disappointed, can I get a refund?",
		"what time do you close on sundays?",
		"Best shake in town 🔥🔥 thanks Riverside crew!",
		"Hi, are you hiring for weekend shifts? I'm 17.",
	}
	n := 0
	for b.Loop() {
		tr.Triage(Input{Text: texts[n%len(texts)], Kind: "comment"})
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// A thank-you that mentions a hospital is not an injury report; a thank-you
// that reports illness still is.
func TestGratitudeIsNotACrisisReport(t *testing.T) {
	tr := New(guidelines.Default())
	for _, c := range []struct {
		text, crisis string
	}{
		{"Just wanted to say thank you to the whole Riverside crew. My husband and I came in after a really rough day at the hospital and Sam gave us free shakes. You have no idea how much that meant.", ""},
		{"Thanks for nothing. My son was sick all night after your chicken strips, we ended up in the hospital.", "injury"},
		{"Found a hair in my fries today 😂 still love you guys tho, maybe tell the kitchen to wear hairnets", "food_safety"},
	} {
		if got := tr.Triage(Input{Text: c.text, Kind: "comment", Platform: "facebook"}).Crisis; got != c.crisis {
			t.Errorf("%q: crisis %q, want %q", c.text, got, c.crisis)
		}
	}
}

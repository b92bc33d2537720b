package brand

import (
	"fmt"
	"strings"
	"testing"

	"github.com/branchline/branchline/care/guidelines"
)

// bigPack is the default pack grown to n rules: phrase rules of three
// phrases each, and one pattern rule in ten, as a large brand's pack might be.
func bigPack(tb testing.TB, n int) *guidelines.Pack {
	tb.Helper()
	p := guidelines.Default()
	words := strings.Fields("crispy soggy fresh frozen manager store refund voucher policy promise deal coupon drive late order free")
	for i := len(p.Rules); i < n; i++ {
		r := guidelines.Rule{ID: fmt.Sprintf("bench-%03d", i), Severity: guidelines.SeverityWarn, Message: "bench rule", Fix: "rephrase"}
		if i%10 == 0 {
			r.Kind = guidelines.KindPattern
			r.Pattern = fmt.Sprintf(`\b%s\s+(?:%s|%s)\s+\d+\b`, words[i%len(words)], words[(i+3)%len(words)], words[(i+5)%len(words)])
		} else {
			r.Kind = guidelines.KindBanned
			for j := 0; j < 3; j++ {
				r.Phrases = append(r.Phrases, fmt.Sprintf("%s %s %s", words[(i+j)%len(words)], words[(i*7+j)%len(words)], words[(i*3+j*5)%len(words)]))
			}
		}
		p.Rules = append(p.Rules, r)
	}
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkCheck1000Chars measures one brand check of a 1,000-character
// draft against a pack of 200 rules: the figure behind "fast enough to run
// on every keystroke" (target: at most 1 ms).
func BenchmarkCheck1000Chars(b *testing.B) {
	c, err := NewChecker(bigPack(b, 200))
	if err != nil {
		b.Fatal(err)
	}
	base := "Hi Jess, I'm really sorry your order arrived cold and the fries were soggy. That is not the Copper Kettle experience we want for you! " +
		"Our manager on duty would like to make this right: please send us a direct message with a good time to reach you, " +
		"or call the store on (503) 555-0142. You can also order online at https://order.copperkettle.example/riverside. "
	body := []rune(strings.Repeat(base, 1000/len(base)+1))
	text := string(body[:1000-len([]rune(signed))]) + signed
	if n := len([]rune(text)); n != 1000 {
		b.Fatalf("draft is %d characters", n)
	}
	var findings int
	for b.Loop() {
		findings = len(c.Check(text, storeCtx))
	}
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/check")
}

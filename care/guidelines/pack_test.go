package guidelines

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDefaultPackIsValidAndRealistic(t *testing.T) {
	p := Default()
	if p.ResponseTime.TargetMinutes != 60 {
		t.Errorf("target = %d minutes, want the 60 the issue names as default", p.ResponseTime.TargetMinutes)
	}
	cats := map[string]bool{}
	for _, c := range p.Crisis {
		cats[c.Category] = true
	}
	for _, want := range CrisisCategories {
		if !cats[want] {
			t.Errorf("default pack has no crisis keywords for %s", want)
		}
	}
	if len(p.Listening.Brand) == 0 || len(p.Listening.Products) == 0 || len(p.Listening.Competitors) == 0 {
		t.Errorf("default pack lacks listening keywords: %+v", p.Listening)
	}
}

func TestParseNamesWhatIsWrong(t *testing.T) {
	valid := DefaultJSON()
	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(valid, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name string
		doc  []byte
		want []string
	}{
		{"syntax error with position", []byte("{\n  \"schema\": 1,\n  \"id\": }"), []string{"line 3, column 9"}},
		{"wrong type", []byte(`{"schema": "one"}`), []string{`field "schema"`, "int"}},
		{"unknown field", mutate(func(m map[string]any) { m["tone"] = "warm" }), []string{`unknown field "tone"`}},
		{"empty document", []byte(""), []string{"empty"}},
		{"trailing data", append(append([]byte{}, valid...), []byte("{}")...), []string{"after the document"}},
		{"future schema", mutate(func(m map[string]any) { m["schema"] = 2 }), []string{"schema: this build reads schema 1"}},
		{"bad severity and kind", mutate(func(m map[string]any) {
			rules := m["rules"].([]any)
			rules[0].(map[string]any)["severity"] = "error"
			rules[1].(map[string]any)["kind"] = "vibe"
		}), []string{`rules[0].severity: must be "block" or "warn", got "error"`, `rules[1].kind`}},
		{"bad regexp", mutate(func(m map[string]any) {
			m["rules"] = append(m["rules"].([]any), map[string]any{"id": "x", "kind": "pattern", "severity": "warn", "pattern": "(", "message": "m"})
		}), []string{"rules[12].pattern"}},
		{"duplicate rule id", mutate(func(m map[string]any) {
			rules := m["rules"].([]any)
			rules[1].(map[string]any)["id"] = rules[0].(map[string]any)["id"]
		}), []string{"is used twice"}},
		{"unknown crisis category", mutate(func(m map[string]any) {
			m["crisis"].([]any)[0].(map[string]any)["category"] = "weather"
		}), []string{`crisis[0].category`, `"weather"`}},
		{"bad target and domain", mutate(func(m map[string]any) {
			m["response_time"] = map[string]any{"target_minutes": 0}
			m["approved_domains"] = []any{"https://x.example/"}
		}), []string{"response_time.target_minutes", "approved_domains[0]"}},
		{"escalation rule picking nothing", mutate(func(m map[string]any) {
			m["response_time"] = map[string]any{"target_minutes": 60, "escalate": map[string]any{"level": "store", "severity": "urgent"}}
		}), []string{"response_time.escalate: picks nothing", "response_time.escalate.level", "response_time.escalate.severity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMarshalRoundTrips(t *testing.T) {
	p := Default()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if q.ID != p.ID || len(q.Rules) != len(p.Rules) || len(q.Crisis) != len(p.Crisis) {
		t.Errorf("round trip changed the pack")
	}
}

// FuzzParse feeds arbitrary documents to the loader: it must never panic,
// and whatever it accepts must validate and survive a round trip.
func FuzzParse(f *testing.F) {
	f.Add(DefaultJSON())
	f.Add([]byte(`{"schema":1,"id":"a","version":1,"title":"t","response_time":{"target_minutes":5}}`))
	f.Add([]byte(`{"schema":1,"rules":[{"id":"x","kind":"pattern","pattern":"(?i)a+","severity":"warn","message":"m"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted pack fails validation: %v", err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("accepted pack does not re-parse: %v", err)
		}
	})
}

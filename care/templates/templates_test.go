package templates

import (
	"errors"
	"strings"
	"testing"
)

var ctxVars = map[string]string{
	"customer_name": "Jess Miller", "customer_first_name": "Jess", "location_name": "Copper Kettle Riverside",
	"location_short_name": "Riverside", "manager_name": "Maria", "staff_name": "Sam Chen", "staff_first_name": "Sam",
	"location_phone": "(503) 555-0142", "location_address": "1200 NW Riverside Drive", "opening_hours_today": "11 am to 10 pm",
	"brand_name": "Copper Kettle Burgers", "platform": "facebook",
}

func TestRender(t *testing.T) {
	tpl := Template{Name: "cold-food", Body: "Hi {{customer_first_name}}, sorry your {{ item }} was cold. {{note}}\n– {{staff_first_name}}",
		Prompts: []Prompt{{Name: "item", Label: "What they ordered"}, {Name: "note", Label: "Extra note", Optional: true}}}
	tests := []struct {
		name    string
		vars    map[string]string
		answers map[string]string
		want    string
		wantErr error
		errText []string
	}{
		{"all values", ctxVars, map[string]string{"item": "burger", "note": "We'll fix it."}, "Hi Jess, sorry your burger was cold. We'll fix it.\n– Sam", nil, nil},
		{"optional prompt left out", ctxVars, map[string]string{"item": "burger"}, "Hi Jess, sorry your burger was cold.\n– Sam", nil, nil},
		{"missing prompt answer", ctxVars, nil, "", ErrMissing, []string{"{{item}}", "What they ordered"}},
		{"missing context value", map[string]string{"staff_first_name": "Sam"}, map[string]string{"item": "fries"}, "", ErrMissing, []string{"{{customer_first_name}}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tpl.Render(tt.vars, tt.answers)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.errText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderAndValidateReportBadPlaceholders(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    error
		errText    string
	}{
		{"unknown name", "Hi {{customer_nmae}}", ErrUnknown, "{{customer_nmae}}"},
		{"unclosed", "Hi {{customer_first_name", ErrSyntax, "line 1, column 4"},
		{"empty", "Hi {{ }}", ErrSyntax, "empty placeholder"},
		{"bad name on line 2", "Hi\nthere {{Customer-Name}}", ErrSyntax, "line 2, column 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := Template{Name: "t", Body: tt.body}
			_, err := tpl.Render(ctxVars, nil)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Render error = %v, want %v mentioning %q", err, tt.wantErr, tt.errText)
			}
			if err := tpl.Validate(); err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Validate error = %v, want one mentioning %q", err, tt.errText)
			}
		})
	}
}

func TestValidateRejectsUnusedAndClashingPrompts(t *testing.T) {
	tpl := Template{Name: "x", Body: "Hi {{customer_first_name}}", Prompts: []Prompt{{Name: "item", Label: "Item"}, {Name: "manager_name", Label: "M"}}}
	err := tpl.Validate()
	if err == nil || !strings.Contains(err.Error(), `prompt "item" is never used`) || !strings.Contains(err.Error(), "is a context value") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestDefaultTemplatesAreValidAndRender(t *testing.T) {
	ts := Defaults()
	if len(ts) < 20 {
		t.Fatalf("only %d default templates", len(ts))
	}
	for _, tpl := range ts {
		answers := map[string]string{}
		for _, p := range tpl.Prompts {
			answers[p.Name] = "value for " + p.Name
		}
		out, err := tpl.Render(ctxVars, answers)
		if err != nil {
			t.Errorf("%s: %v", tpl.Name, err)
			continue
		}
		if strings.Contains(out, "{{") {
			t.Errorf("%s: placeholder left in %q", tpl.Name, out)
		}
	}
}

func TestParseListReportsEveryBadTemplate(t *testing.T) {
	_, err := ParseList([]byte(`[{"name":"a","body":"{{nope}}"},{"name":"a","body":"ok"},{"name":"b","body":""}]`))
	for _, want := range []string{"{{nope}}", `"a" is used twice`, "body is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseList error %v does not mention %q", err, want)
		}
	}
}

// FuzzRender checks that rendering never panics, reports only its own
// errors, and puts each value exactly where its placeholder stood.
func FuzzRender(f *testing.F) {
	f.Add("Hi {{customer_first_name}}, sorry about the {{item}}.", "fries")
	f.Add("{{", "x")
	f.Add("{{ }} {{a}}}", "")
	f.Add("}}{{staff_first_name}}{{", "Sam")
	f.Add("Hi {{customer_first_name}}\n{{ location_name }}", "Zoë 🍔")
	f.Fuzz(func(t *testing.T, body, value string) {
		tpl := Template{Name: "fuzz", Body: body, Prompts: []Prompt{{Name: "item", Label: "Item"}}}
		vars := map[string]string{}
		for name := range ContextVars {
			vars[name] = value
		}
		out, err := tpl.Render(vars, map[string]string{"item": value})
		parts, perr := Parse(body)
		if perr != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("body %q does not parse (%v) but Render said %v", body, perr, err)
			}
			return
		}
		var want strings.Builder
		unknown := false
		for _, p := range parts {
			switch {
			case p.name == "":
				want.WriteString(p.text)
			case p.name == "item" || ContextVars[p.name] != "":
				want.WriteString(strings.TrimSpace(value))
			default:
				unknown = true
			}
		}
		switch {
		case unknown:
			if !errors.Is(err, ErrUnknown) {
				t.Fatalf("unknown placeholder in %q, Render said %v", body, err)
			}
		case strings.TrimSpace(value) == "" && hasPlaceholder(parts):
			if !errors.Is(err, ErrMissing) {
				t.Fatalf("empty value for %q, Render said %v", body, err)
			}
		case err != nil:
			t.Fatalf("Render(%q) failed: %v", body, err)
		case out != tidy(want.String()):
			t.Fatalf("Render(%q) = %q, want %q", body, out, tidy(want.String()))
		}
	})
}

func hasPlaceholder(parts []part) bool {
	for _, p := range parts {
		if p.name != "" {
			return true
		}
	}
	return false
}

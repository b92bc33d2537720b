package triage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/branchline/branchline/care/guidelines"
)

// labelled is one hand-labelled message of testdata/labelled-*.jsonl.
type labelled struct {
	ID            string `json:"id"`
	Platform      string `json:"platform"`
	Kind          string `json:"kind"`
	Rating        int    `json:"rating"`
	Text          string `json:"text"`
	NeedsResponse bool   `json:"needs_response"`
	Stage         string `json:"stage"`
	Department    string `json:"department"`
	Crisis        string `json:"crisis"`
	Sentiment     string `json:"sentiment"`
	Note          string `json:"note"`
}

func loadLabelled(t *testing.T, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var l labelled
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Polarity buckets VADER's usual thresholds.
func polarity(s float64) string {
	switch {
	case s >= positiveThreshold:
		return "positive"
	case s <= negativeThreshold:
		return "negative"
	}
	return "neutral"
}

type fieldScore struct {
	right, total int
	misses       []string
}

func (f *fieldScore) add(ok bool, miss string) {
	f.total++
	if ok {
		f.right++
	} else {
		f.misses = append(f.misses, miss)
	}
}

func (f *fieldScore) accuracy() float64 { return float64(f.right) / float64(f.total) }

// evaluate triages every labelled message and scores each field.
func evaluate(t *testing.T, set []labelled) map[string]*fieldScore {
	tr := New(guidelines.Default())
	scores := map[string]*fieldScore{}
	for _, name := range []string{"needs_response", "stage", "department", "crisis", "crisis_flag", "sentiment"} {
		scores[name] = &fieldScore{}
	}
	for _, l := range set {
		r := tr.Triage(Input{Text: l.Text, Kind: l.Kind, Platform: l.Platform, Rating: l.Rating})
		crisis := r.Crisis
		if crisis == "" {
			crisis = "none"
		}
		miss := func(got, want any) string {
			return fmt.Sprintf("%s got %v want %v: %q %v", l.ID, got, want, l.Text, r.Reasons)
		}
		scores["needs_response"].add(r.NeedsResponse == l.NeedsResponse, miss(r.NeedsResponse, l.NeedsResponse))
		scores["stage"].add(r.Stage == l.Stage, miss(r.Stage, l.Stage))
		scores["department"].add(r.Department == l.Department, miss(r.Department, l.Department))
		scores["crisis"].add(crisis == l.Crisis, miss(crisis, l.Crisis))
		scores["crisis_flag"].add((crisis == "none") == (l.Crisis == "none"), miss(crisis, l.Crisis))
		scores["sentiment"].add(polarity(r.Sentiment) == l.Sentiment, miss(fmt.Sprintf("%s (%.2f)", polarity(r.Sentiment), r.Sentiment), l.Sentiment))
	}
	return scores
}

func report(t *testing.T, name string, scores map[string]*fieldScore) {
	keys := make([]string, 0, len(scores))
	for k := range scores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "triage accuracy on %s:\n", name)
	for _, k := range keys {
		s := scores[k]
		fmt.Fprintf(&b, "  %-15s %5.1f%%  (%d/%d)\n", k, 100*s.accuracy(), s.right, s.total)
	}
	t.Log(b.String())
	if testing.Verbose() && os.Getenv("TRIAGE_MISSES") != "" {
		for _, k := range keys {
			for _, m := range scores[k].misses {
				t.Logf("%s miss: %s", k, m)
			}
		}
	}
}

// TestTriageAccuracy measures triage against hand-labelled messages. The
// rules were tuned on the dev set only; the holdout set was written at the
// same time by the same labelling guide and kept out of the tuning, so its
// figures are the honest ones. Run with -v to see them, and with
// TRIAGE_MISSES=1 to list every miss.
func TestTriageAccuracy(t *testing.T) {
	floors := map[string]map[string]float64{
		// Floors a little under what the rules reach today, so a change
		// that makes triage worse fails here.
		"dev":     {"needs_response": 0.95, "stage": 0.90, "department": 0.92, "crisis": 0.97, "crisis_flag": 0.97, "sentiment": 0.77},
		"holdout": {"needs_response": 0.90, "stage": 0.78, "department": 0.80, "crisis": 0.92, "crisis_flag": 0.92, "sentiment": 0.70},
	}
	for _, set := range []string{"dev", "holdout"} {
		t.Run(set, func(t *testing.T) {
			data := loadLabelled(t, "testdata/labelled-"+set+".jsonl")
			if len(data) < 100 {
				t.Fatalf("only %d labelled messages", len(data))
			}
			scores := evaluate(t, data)
			report(t, fmt.Sprintf("%s (%d messages)", set, len(data)), scores)
			for field, floor := range floors[set] {
				if got := scores[field].accuracy(); got < floor {
					t.Errorf("%s accuracy %.1f%% is below the floor of %.1f%%", field, 100*got, 100*floor)
				}
			}
		})
	}
}

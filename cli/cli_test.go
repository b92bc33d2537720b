package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/channels/demo"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

var now = time.Date(2026, 11, 22, 19, 30, 0, 0, time.UTC)

// demoTemplate is a demo data folder made once; each test works on a copy.
var demoTemplate string

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// Started by a test as the branchline command itself.
		os.Exit(Main(context.Background(), os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
	}
	dir, err := os.MkdirTemp("", "branchline-cli-demo")
	if err != nil {
		panic(err)
	}
	if err := node.SetupDemo(context.Background(), dir, now); err != nil {
		panic(err)
	}
	demoTemplate = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func demoCopy(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(demoTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(demoTemplate, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("output is not JSON (%v): %s\nstderr: %s", err, r.stdout, r.stderr)
	}
}

func runCLI(t *testing.T, dir string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"--data", dir}, args...), Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, Now: func() time.Time { return now },
	})
	return result{code, out.String(), errb.String()}
}

func platformReplies(t *testing.T, dir, inReplyTo string) int {
	t.Helper()
	p, err := demo.Open(context.Background(), filepath.Join(dir, node.DemoPlatformFile), demo.Options{}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rs, err := p.Replies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		if r.InReplyTo == inReplyTo {
			n++
		}
	}
	return n
}

func TestReplyLoopOnTheDemoData(t *testing.T) {
	dir := demoCopy(t)
	res := runCLI(t, dir, "", "inbox", "--filter", "needs-response", "--limit", "20", "--json")
	if res.code != 0 {
		t.Fatalf("inbox: %d %s", res.code, res.stderr)
	}
	var items []map[string]any
	res.decode(t, &items)
	if len(items) < 5 {
		t.Fatalf("only %d messages need a response", len(items))
	}
	for _, field := range []string{"id", "platform", "account", "platform_id", "author", "text", "created_at", "kind",
		"needs_response", "stage", "department", "sentiment", "crisis", "reasons", "status"} {
		if _, ok := items[0][field]; !ok {
			t.Errorf("inbox item lacks %q", field)
		}
	}
	var first, second desk.Item
	b, _ := json.Marshal(items[2])
	json.Unmarshal(b, &first)
	b, _ = json.Marshal(items[3])
	json.Unmarshal(b, &second)

	// Crew replies with a template: sent at once, exactly once.
	res = runCLI(t, dir, "", "reply", fmt.Sprint(first.ID), "--template", "take-private-dm", "--as", "sam", "--json")
	if res.code != 0 {
		t.Fatalf("reply: %d %s", res.code, res.stderr)
	}
	var out replyOut
	res.decode(t, &out)
	if !out.Sent || out.Reply.State != models.ReplySent || !strings.Contains(out.Reply.Text, "– Sam, Copper Kettle Riverside") {
		t.Fatalf("reply: %+v", out)
	}
	if n := platformReplies(t, dir, first.PlatformID); n != 1 {
		t.Fatalf("%d replies on the platform, want 1", n)
	}
	// It left the needs-response list and its status says so.
	res = runCLI(t, dir, "", "show", fmt.Sprint(first.ID), "--json")
	var sh shown
	res.decode(t, &sh)
	if sh.Message.Status != models.StatusAnswered || sh.Message.ReplyState != models.ReplySent {
		t.Fatalf("after the reply: %+v", sh.Message)
	}
	// Sending again changes nothing.
	runCLI(t, dir, "", "send")
	if n := platformReplies(t, dir, first.PlatformID); n != 1 {
		t.Fatalf("%d replies on the platform after another send", n)
	}

	// A trainee's reply waits for approval, then goes out.
	res = runCLI(t, dir, "", "reply", fmt.Sprint(second.ID), "--template", "take-private-dm", "--as", "tom", "--json")
	res.decode(t, &out)
	if out.Sent || out.Reply.State != models.ReplyPendingApproval {
		t.Fatalf("trainee reply: %+v", out)
	}
	if n := platformReplies(t, dir, second.PlatformID); n != 0 {
		t.Fatalf("an unapproved reply reached the platform")
	}
	res = runCLI(t, dir, "", "approve", fmt.Sprint(out.Reply.ID), "--as", "sam")
	if res.code != ExitFailure || !strings.Contains(res.stderr, "only a manager") {
		t.Fatalf("crew approval: %d %s", res.code, res.stderr)
	}
	res = runCLI(t, dir, "", "approve", fmt.Sprint(out.Reply.ID), "--as", "maria", "--note", "Good one.", "--json")
	res.decode(t, &out)
	if res.code != 0 || !out.Sent || out.Reply.State != models.ReplySent || out.Reply.ReviewNote != "Good one." {
		t.Fatalf("approve: %d %+v %s", res.code, out, res.stderr)
	}
	if n := platformReplies(t, dir, second.PlatformID); n != 1 {
		t.Fatalf("%d replies on the platform after approval, want 1", n)
	}
}

func TestLintExitStatus(t *testing.T) {
	dir := demoCopy(t)
	res := runCLI(t, dir, "", "lint", "--text", "Call me on 503-555-0199!!", "--platform", "facebook", "--json")
	if res.code != ExitBlocked {
		t.Fatalf("exit %d, want 3; %s", res.code, res.stderr)
	}
	var out struct {
		Findings []struct {
			Rule, Severity, Message, Fix string
			Start, End                   int
		}
	}
	res.decode(t, &out)
	rules := map[string]bool{}
	for _, f := range out.Findings {
		rules[f.Rule] = true
		if f.Message == "" || f.Fix == "" || f.End < f.Start || (f.End == f.Start && f.Rule != "sign-off") {
			t.Errorf("finding %+v lacks a message, fix or span", f)
		}
	}
	if !rules["personal-data.phone"] || !rules["exclamations"] || !rules["sign-off"] {
		t.Errorf("rules found: %v", rules)
	}
	res = runCLI(t, dir, "", "lint", "--text", "Thanks Jess, see you soon.\n\n– Maria, Copper Kettle Riverside", "--json")
	if res.code != 0 || !strings.Contains(res.stdout, `"findings": []`) {
		t.Fatalf("clean draft: %d %s", res.code, res.stdout)
	}
}

func TestImportReportsBadRowsAndIsIdempotent(t *testing.T) {
	dir := demoCopy(t)
	file := filepath.Join(t.TempDir(), "export.jsonl")
	os.WriteFile(file, []byte(`{"platform":"facebook","account":"copperkettle.riverside","id":"imp-1","author":"Ann","text":"Do you have high chairs?","created_at":"2026-11-22T18:00:00Z","kind":"comment"}
{"platform":"facebook","account":"copperkettle.riverside","id":"imp-2","author":"Bo","text":"hi","created_at":"tomorrow","kind":"comment"}
{"platform":"facebook","account":"copperkettle.riverside","id":"imp-3","author":"Cy","text":"Loved it","created_at":"2026-11-22T18:05:00Z","kind":"comment"}
`), 0o600)
	for i, want := range []int{2, 0} {
		res := runCLI(t, dir, "", "import", file, "--json")
		var rep desk.ImportReport
		res.decode(t, &rep)
		if res.code != 0 || rep.Inserted != want || rep.Rejected != 1 || rep.Errors[0].Line != 2 || rep.Errors[0].Field != "created_at" {
			t.Fatalf("import %d: %d %+v", i+1, res.code, rep)
		}
	}
	res := runCLI(t, dir, "", "inbox", "--search", "high chairs", "--filter", "all", "--json")
	var items []desk.Item
	res.decode(t, &items)
	if len(items) != 1 || items[0].PlatformID != "imp-1" || !items[0].NeedsResponse || items[0].Stage != "pre_purchase" {
		t.Fatalf("search after import: %+v", items)
	}
	res = runCLI(t, dir, "", "import", filepath.Join(t.TempDir(), "missing.csv"))
	if res.code != ExitFailure || !strings.Contains(res.stderr, "missing.csv") {
		t.Fatalf("missing file: %d %s", res.code, res.stderr)
	}
}

func TestImportAPlatformExportByItsColumns(t *testing.T) {
	dir := demoCopy(t)
	file := filepath.Join(t.TempDir(), "reviews-export.csv")
	os.WriteFile(file, []byte("Reviewer,Stars,Date,Review Text\n"+
		"Dana W.,2,11/21/2026 7:15 PM,Waited 40 minutes for a burger. Is the kitchen short-staffed?\n"+
		"Eli P.,5,yesterday,Best shakes in town\n"+
		"Fay W.,5,11/22/2026 12:05 PM,Lovely staff and great fries\n"), 0o600)
	args := []string{"import", file, "--map", "author=Reviewer,rating=Stars,created_at=Date", "--map", "text=Review Text",
		"--platform", "yelp", "--account", "copper-kettle-riverside", "--kind", "review", "--time-layout", "01/02/2006 3:04 PM", "--json"}
	for i, want := range []int{2, 0} {
		res := runCLI(t, dir, "", args...)
		var rep desk.ImportReport
		res.decode(t, &rep)
		if res.code != 0 || rep.Inserted != want || rep.Rejected != 1 || rep.Errors[0].Line != 3 || !strings.Contains(rep.Errors[0].Error(), "Date") {
			t.Fatalf("import %d: %d %+v %s", i+1, res.code, rep, res.stderr)
		}
	}
	res := runCLI(t, dir, "", "inbox", "--search", "short staffed", "--filter", "all", "--json")
	var items []desk.Item
	res.decode(t, &items)
	if len(items) != 1 || items[0].Platform != "yelp" || items[0].Kind != "review" || items[0].Rating != 2 || items[0].Author != "Dana W." {
		t.Fatalf("the mapped review: %+v", items)
	}
	if res := runCLI(t, dir, "", "import", file, "--map", "text"); res.code != ExitUsage || !strings.Contains(res.stderr, "FIELD=COLUMN") {
		t.Fatalf("bad --map: %d %s", res.code, res.stderr)
	}
	if res := runCLI(t, dir, "", "import", file, "--map", "colour=Stars"); res.code != ExitFailure || !strings.Contains(res.stderr, "colour") {
		t.Fatalf("unknown field in --map: %d %s", res.code, res.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := demoCopy(t)
	tests := [][]string{
		{"frobnicate"},
		{"inbox", "--filter", "urgent"},
		{"inbox", "--limit", "0"},
		{"reply", "12"},
		{"reply", "twelve", "--text", "hi"},
		{"reply", "1", "--text", "hi", "--template", "x"},
		{"reject", "1"},
		{"show"},
		{"lint"},
		{"inbox", "--bogus"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := runCLI(t, dir, "", args...)
			if res.code != ExitUsage || !strings.HasPrefix(res.stderr, "branchline: ") || strings.Count(res.stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want 2 and one line", res.code, res.stderr)
			}
		})
	}
}

func TestFailuresSayWhatWasWrong(t *testing.T) {
	dir := demoCopy(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"show", "999999"}, "message 999999: not found"},
		{[]string{"reply", "1", "--text", "hi", "--as", "nobody"}, `staff "nobody": not found`},
		{[]string{"inbox", "--after", "garbage"}, "invalid cursor"},
		{[]string{"reply", "1", "--template", "nope"}, `no template called "nope"`},
	}
	for _, tt := range tests {
		res := runCLI(t, dir, "", tt.args...)
		if res.code != ExitFailure || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	code := Main(context.Background(), []string{"help"}, Env{Stdout: &out, Stderr: io.Discard})
	if code != 0 || !strings.Contains(out.String(), "approve") || !strings.Contains(out.String(), "Exit status") {
		t.Fatalf("help: %d %s", code, out.String())
	}
}

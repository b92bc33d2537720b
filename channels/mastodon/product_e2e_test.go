package mastodon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/cli"
)

// TestGoToSocialThroughTheCommandLine is the whole product against a real
// server: a location set up from scratch connects its Mastodon account
// with a pasted token (kept in the encrypted credentials file, never in
// the database), polls, sees the customer's mention in its inbox, replies
// from the desk, and the reply lands on the server once.
func TestGoToSocialThroughTheCommandLine(t *testing.T) {
	requireGoToSocial(t)
	dir := t.TempDir()
	env := map[string]string{"BRANCHLINE_CREDENTIALS": "file", "BRANCHLINE_PASSPHRASE": "correct horse battery"}
	run := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), append([]string{"--data", dir}, args...), cli.Env{
			Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return env[k] }, Now: time.Now,
		})
		return code, out.String(), errb.String()
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errs := run(stdin, args...)
		if code != 0 {
			t.Fatalf("branchline %s: exit %d: %s", strings.Join(args, " "), code, errs)
		}
		return out
	}
	must("", "init", "--location", "Copper Kettle Riverside", "--timezone", "UTC", "--manager-name", "Maria Lopez", "--manager-handle", "maria")

	// A wrong token is refused and nothing is kept.
	if code, _, errs := run("not-a-token", "connect", "mastodon", "--server", gtsURL, "--token-stdin", "--json"); code != cli.ExitFailure || !strings.Contains(errs, "reconnect needed") || strings.Contains(errs, "not-a-token") {
		t.Fatalf("connect with a bad token: exit %d: %s", code, errs)
	}
	var acc struct {
		ID     int64  `json:"id"`
		Handle string `json:"handle"`
		State  string `json:"state"`
	}
	if err := json.Unmarshal([]byte(must(zorkToken, "connect", "mastodon", "--server", gtsURL, "--token-stdin", "--json")), &acc); err != nil {
		t.Fatal(err)
	}
	// The handle names the server: two stores' "the_mighty_zork" on
	// different servers are two accounts.
	if acc.Handle != "the_mighty_zork@127.0.0.1:8080" || acc.State != "connected" {
		t.Fatalf("connected account = %+v", acc)
	}
	// The first poll takes what the server already holds; the customer
	// writes after it.
	must("", "poll")
	text := "@the_mighty_zork do you deliver to the riverside flats? " + time.Now().Format("150405.000")
	status := turtleWrites(t, text, "public", "")
	var items []struct {
		ID         int64  `json:"id"`
		PlatformID string `json:"platform_id"`
		Kind       string `json:"kind"`
		Author     string `json:"author"`
		Text       string `json:"text"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		must("", "poll")
		items = nil
		if err := json.Unmarshal([]byte(must("", "inbox", "--filter", "all", "--search", "riverside flats", "--json")), &items); err != nil {
			t.Fatal(err)
		}
		if len(items) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(items) != 1 || items[0].PlatformID != status || items[0].Kind != "mention" || !strings.Contains(items[0].Text, "riverside flats") {
		t.Fatalf("inbox after the poll: %+v", items)
	}
	must("", "reply", itoa(items[0].ID), "--text", "Hi! We deliver there every evening from 5pm.\n\n– Maria, Copper Kettle Riverside", "--as", "maria")
	must("", "send")
	must("", "send") // a second send finds nothing to do
	zork := whoami(t, zorkToken)
	if got := repliesBy(t, turtleToken, status, zork.ID); len(got) != 1 {
		t.Fatalf("%d replies on the server, want 1", len(got))
	}
	var accs []struct {
		State         string     `json:"state"`
		LastSuccessAt *time.Time `json:"last_success_at"`
	}
	if err := json.Unmarshal([]byte(must("", "accounts", "--json")), &accs); err != nil {
		t.Fatal(err)
	}
	if len(accs) != 1 || accs[0].State != "connected" || accs[0].LastSuccessAt == nil {
		t.Fatalf("accounts = %+v", accs)
	}
	// The token is in the encrypted file, nowhere in the database.
	db := readFile(t, dir+"/branchline.db") + readFile(t, dir+"/branchline.db-wal")
	if strings.Contains(db, zorkToken) || strings.Contains(readFile(t, dir+"/credentials.enc"), zorkToken) {
		t.Fatal("the token is stored in clear")
	}
	// Disconnecting deletes the token: polling stops, the messages stay.
	must("", "disconnect", "mastodon/the_mighty_zork@127.0.0.1:8080", "--as", "maria")
	if out := must("", "poll", "--json"); !strings.Contains(out, `"accounts": 0`) {
		t.Fatalf("poll after disconnecting: %s", out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// readFile reads a file that may not exist ("" then).
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

//go:build ci

package app

import (
	"context"
	"strings"
	"testing"

	"github.com/branchline/branchline/models"
)

func TestImportAPlatformExportThroughTheForm(t *testing.T) {
	n := openDemo(t)
	u, _ := newTestUI(t, n)
	ctx := context.Background()
	export := "Reviewer,Stars,Date,Review Text\n" +
		"Dana W.,2,11/21/2026 7:15 PM,Waited forty minutes for a burger. Is the kitchen short-staffed?\n" +
		"Eli P.,5,last week,Best shakes in town\n"

	u.importData("yelp-export.csv", []byte(export))
	f := u.importForm
	if f == nil {
		t.Fatal("a platform's export did not open the import form")
	}
	// The columns are guessed from their names.
	for field, want := range map[string]string{"text": "Review Text", "created_at": "Date", "author": "Reviewer", "rating": "Stars", "id": noColumn} {
		if got := f.columns[field].Selected; got != want {
			t.Errorf("column for %s = %q, want %q", field, got, want)
		}
	}
	// Without a platform, the form says what is missing.
	if _, err := f.options(); err == nil || !strings.Contains(err.Error(), "platform") {
		t.Fatalf("options without a platform: %v", err)
	}
	f.platform.SetSelected("yelp")
	f.kind.SetSelected("review")
	f.account.SetText("copper-kettle-riverside")
	f.layout.SetText("01/02/2006 3:04 PM")
	opts, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	before, _ := n.Store.CountInbox(ctx, models.FilterAll)
	u.runImport(opts, f.data)
	after, _ := n.Store.CountInbox(ctx, models.FilterAll)
	if after != before+1 {
		t.Fatalf("the inbox went from %d to %d messages, want one more", before, after)
	}
	if !strings.Contains(u.banner.Text, "1 new") || !strings.Contains(u.banner.Text, "1 row with problems") || !strings.Contains(u.banner.Text, "line 3") {
		t.Errorf("banner: %q", u.banner.Text)
	}
	// The same export again adds nothing.
	u.runImport(opts, f.data)
	if again, _ := n.Store.CountInbox(ctx, models.FilterAll); again != after {
		t.Errorf("importing the export again added %d", again-after)
	}
	// Branchline's own format needs no form.
	u.importForm = nil
	u.importData("own.jsonl", []byte(`{"platform":"facebook","account":"copperkettle.riverside","id":"own-1","author":"Ann","text":"Do you have high chairs?","created_at":"2026-11-22T18:00:00Z","kind":"comment"}`+"\n"))
	if u.importForm != nil {
		t.Error("Branchline's own format opened the form")
	}
	if !strings.Contains(u.banner.Text, "1 new") {
		t.Errorf("banner after a plain import: %q", u.banner.Text)
	}
}

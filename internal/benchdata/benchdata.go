// Package benchdata builds data folders for the desktop app's benchmarks:
// the demo location (staff, accounts, guideline pack, templates and three
// weeks of history) plus a large number of synthetic messages spread over
// the three years before, triaged for real. Most of the older messages
// that needed a response are marked answered, as at a store that keeps up;
// about 0.07 % stay open, scattered over the years.
package benchdata

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/triage"
	"github.com/branchline/branchline/channels/demo"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

// Folder makes dir a data folder with total synthetic messages besides
// the demo's, unless it was already built with that many (a marker file
// records it). now is the demo's present.
func Folder(ctx context.Context, dir string, total int, now time.Time) error {
	marker := filepath.Join(dir, fmt.Sprintf("benchdata-%d-schema%d.done", total, models.SchemaVersion()))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := node.SetupDemo(ctx, dir, now); err != nil {
		return fmt.Errorf("set up the demo location: %w", err)
	}
	path := filepath.Join(dir, node.DatabaseFile)
	store, err := models.Open(ctx, path)
	if err != nil {
		return err
	}
	loc, err := store.Location(ctx)
	if err != nil {
		store.Close()
		return err
	}
	tr := triage.New(guidelines.Default())
	start := now.Add(-3*365*24*time.Hour - node.DemoHistory)
	step := 3 * 365 * 24 * time.Hour / time.Duration(total)
	items := demo.Synthetic(7, total, start, step)
	const batchSize = 5000
	for lo := 0; lo < total; lo += batchSize {
		batch := make([]models.Inbound, 0, batchSize)
		for i, it := range items[lo:min(lo+batchSize, total)] {
			n := lo + i
			res := tr.Triage(triage.Input{Text: it.Text, Kind: it.Kind, Platform: it.Platform, Rating: it.Rating})
			listening, _ := json.Marshal(res.Listening)
			if res.Listening == nil {
				listening = []byte("[]")
			}
			reasons, _ := json.Marshal(res.Reasons)
			batch = append(batch, models.Inbound{Platform: it.Platform, Account: it.Account, PlatformID: "bench-" + it.PlatformID,
				ThreadID: it.ThreadID, AuthorName: it.AuthorName, AuthorID: fmt.Sprintf("%s-%d", it.AuthorID, n%20000),
				Text: it.Text, Kind: it.Kind, Rating: it.Rating, CreatedAt: it.CreatedAt, Source: "bench",
				Triage: models.Triaged{NeedsResponse: res.NeedsResponse, Stage: res.Stage, Department: res.Department,
					Sentiment: res.Sentiment, Crisis: res.Crisis, Priority: res.Priority, Listening: string(listening),
					Reasons: string(reasons)}})
		}
		if _, err := store.InsertInbound(ctx, loc.ID, batch); err != nil {
			store.Close()
			return fmt.Errorf("insert messages %d–%d: %w", lo, lo+len(batch), err)
		}
	}
	if err := store.Close(); err != nil {
		return err
	}
	// The store has no API to answer a million messages without replies;
	// this is test data, so it is done in SQL.
	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{})
	if err != nil {
		return err
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if err := db.Exec(`UPDATE messages SET status = 'answered', answered_at = created_at
		WHERE source = 'bench' AND needs_response = 1 AND id % 1429 <> 0`).Error; err != nil {
		return fmt.Errorf("mark answered: %w", err)
	}
	if err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`).Error; err != nil {
		return err
	}
	return os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

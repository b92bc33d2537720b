package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/branchline/branchline/care/ingest"
	"github.com/branchline/branchline/care/triage"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// ImportReport says what an import did.
type ImportReport struct {
	File       string            `json:"file"`
	Read       int               `json:"read"`       // valid rows
	Inserted   int               `json:"inserted"`   // new messages
	Duplicates int               `json:"duplicates"` // already there
	Rejected   int               `json:"rejected"`   // bad rows
	Errors     []ingest.RowError `json:"errors"`     // the first MaxReportedErrors bad rows
}

// MaxReportedErrors bounds the bad rows an import report lists.
const MaxReportedErrors = 1000

// importBatch is the most rows that go into one transaction, and
// importChunk how many rows move through parsing and triage at a time.
const (
	importBatch = 5000
	importChunk = 250
)

// Import reads messages from r (JSON Lines or CSV; name picks the format
// by extension), triages them and stores the new ones. Bad rows are
// reported and skipped; rows already stored are skipped, so importing the
// same file twice adds nothing. progress, if not nil, is called with the
// number of rows read so far.
func (d *Desk) Import(ctx context.Context, r io.Reader, name string, progress func(read int)) (ImportReport, error) {
	return d.ImportWith(ctx, r, ingest.Options{Name: name}, progress)
}

// ImportWith is Import with the reading options of a platform's export:
// its column map, default platform, account and kind, and time layout
// (ingest.Options; opts.Name is the file's name). The location's time
// zone and the clock are the desk's.
func (d *Desk) ImportWith(ctx context.Context, r io.Reader, opts ingest.Options, progress func(read int)) (ImportReport, error) {
	name := opts.Name
	rep := ImportReport{File: name, Errors: []ingest.RowError{}}
	// An import allocates a lot of short-lived memory (parsing, triage);
	// collecting garbage less often while it runs saves a tenth of its time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	loc := d.Location()
	triager, _, _ := d.tools()
	source := "import:" + name

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Rows move through the pipeline in small chunks, so storing starts
	// as soon as the first chunk is triaged; the writer then takes every
	// chunk that is ready, up to importBatch rows, into one transaction.
	// While storing is the slower stage (it is: one SQLite writer) the
	// chunks queue up and transactions grow to full size, and the writer
	// never waits for a big batch to be triaged.
	raw := make(chan []ingest.Record, 4)
	ready := make(chan []models.Inbound, importBatch/importChunk)
	var parseErrs []ingest.RowError
	var parseErr error

	// Parse.
	parsed := make(chan struct{}) // closed when parseErrs and parseErr are set
	go func() {
		defer close(parsed)
		defer close(raw)
		batch := make([]ingest.Record, 0, importChunk)
		opts.Zone, opts.Now = loc.Zone(), d.now()
		parseErrs, parseErr = ingest.Parse(r, opts, func(rec ingest.Record) error {
			batch = append(batch, rec)
			if len(batch) == importChunk {
				select {
				case raw <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]ingest.Record, 0, importChunk)
			}
			return nil
		})
		if len(batch) > 0 {
			select {
			case raw <- batch:
			case <-ctx.Done():
			}
		}
	}()

	// Triage, on every core.
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for recs := range raw {
				out := make([]models.Inbound, len(recs))
				for i, rec := range recs {
					out[i] = inboundOf(triager, rec.Platform, rec.Account, channels.Item{
						PlatformID: rec.ID, ThreadID: rec.Thread, AuthorName: rec.Author, AuthorID: rec.AuthorID,
						Text: rec.Text, Kind: rec.Kind, Rating: rec.Rating, CreatedAt: rec.CreatedAt}, source)
				}
				select {
				case ready <- out:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(ready) }()

	// Store, one transaction per batch of the chunks that are ready.
	// One buffer holds every batch in turn: growing a batch chunk by
	// chunk would copy its rows again and again on the writer's time.
	var storeErr error
	buf := make([]models.Inbound, 0, importBatch+importChunk)
	for chunk := range ready {
		if storeErr != nil {
			continue // drain
		}
		batch := takeReady(append(buf[:0], chunk...), ready, importBatch)
		buf = batch[:0]
		res, err := d.store.InsertInbound(ctx, loc.ID, batch)
		if err != nil {
			storeErr = err
			cancel()
			continue
		}
		rep.Read += len(batch)
		rep.Inserted += res.Inserted
		rep.Duplicates += res.Duplicates
		if progress != nil {
			progress(rep.Read)
		}
	}
	<-parsed
	rep.Rejected = len(parseErrs)
	rep.Errors = append(rep.Errors, parseErrs[:min(len(parseErrs), MaxReportedErrors)]...)
	failure := storeErr
	if failure == nil && ctx.Err() != nil {
		failure = ctx.Err() // stopped from outside: rows may be left unread
	}
	if failure == nil {
		failure = parseErr
	}
	detail := map[string]any{"read": rep.Read, "inserted": rep.Inserted, "duplicates": rep.Duplicates, "rejected": rep.Rejected}
	if failure != nil {
		detail["error"] = failure.Error()
	}
	// The audit entry is also the commit that makes the stored rows
	// durable (InsertInbound's commits do not wait for the disk), so it is
	// written for a failed import too.
	auditErr := d.store.Audit(context.WithoutCancel(ctx), "system", "import", source, detail)
	switch {
	case failure != nil && rep.Inserted > 0:
		return rep, fmt.Errorf("import %s: %w (the %d new messages stored before it stopped are kept)", name, failure, rep.Inserted)
	case failure != nil:
		return rep, fmt.Errorf("import %s: %w", name, failure)
	}
	return rep, auditErr
}

// takeReady appends to batch the chunks already waiting in ready, without
// waiting for more, until batch holds at least limit rows or ready is
// empty (or closed).
func takeReady(batch []models.Inbound, ready <-chan []models.Inbound, limit int) []models.Inbound {
	for len(batch) < limit {
		select {
		case more, ok := <-ready:
			if !ok {
				return batch
			}
			batch = append(batch, more...)
		default:
			return batch
		}
	}
	return batch
}

// inboundOf triages an item into a row to store.
func inboundOf(t *triage.Triager, platform, account string, it channels.Item, source string) models.Inbound {
	res := t.Triage(triage.Input{Text: it.Text, Kind: it.Kind, Platform: platform, Rating: it.Rating})
	listening, _ := json.Marshal(res.Listening)
	if res.Listening == nil {
		listening = []byte("[]")
	}
	reasons, _ := json.Marshal(res.Reasons)
	return models.Inbound{
		Platform: platform, Account: account, PlatformID: it.PlatformID, ThreadID: it.ThreadID,
		AuthorName: it.AuthorName, AuthorID: it.AuthorID, Text: it.Text, Kind: it.Kind, Rating: it.Rating,
		CreatedAt: it.CreatedAt, Source: source,
		Triage: models.Triaged{NeedsResponse: res.NeedsResponse, Stage: res.Stage, Department: res.Department,
			Sentiment: res.Sentiment, Crisis: res.Crisis, Priority: res.Priority, Listening: string(listening), Reasons: string(reasons)},
	}
}

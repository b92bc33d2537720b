package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/ingest"
)

// importResult is an import's outcome, carried to the UI goroutine.
type importResult struct {
	r   desk.ImportReport
	err error
}

// maxImportBytes bounds a file the app reads to import (a platform's
// export of a location: far smaller).
const maxImportBytes = ingest.MaxDocumentBytes

// noColumn is the column pickers' choice for none.
const noColumn = "(none)"

// mappedFields are the fields a platform's export may hold, in the order
// the import form asks for them.
var mappedFields = []string{"text", "created_at", "author", "author_id", "rating", "id", "thread"}

// columnHints are words that, in an export's column name, suggest a field.
var columnHints = map[string][]string{
	"text":       {"text", "review", "comment", "message", "content", "body"},
	"created_at": {"created", "date", "time", "posted"},
	"author":     {"author", "reviewer", "name", "user"},
	"author_id":  {"author_id", "user_id", "userid", "profile"},
	"rating":     {"rating", "stars", "score"},
	"id":         {"id"},
	"thread":     {"thread", "conversation"},
}

// importForm is the import dialog for a platform's export: which of the
// file's columns holds which field, and the platform, account and kind the
// file does not name.
type importForm struct {
	name     string
	data     []byte
	preview  ingest.Preview
	platform *widget.Select
	account  *widget.SelectEntry
	kind     *widget.Select
	layout   *widget.Entry
	columns  map[string]*widget.Select
	dialog   dialog.Dialog
}

// importData imports a file's bytes: Branchline's own format at once, a
// platform's export through the import form.
func (u *ui) importData(name string, data []byte) {
	p, err := ingest.Inspect(bytes.NewReader(data), name)
	if err != nil {
		u.showError("read "+name, err)
		return
	}
	if p.Format == ingest.GoogleReviews || len(p.Missing()) > 0 {
		u.showImportForm(name, data, p)
		return
	}
	u.runImport(ingest.Options{Name: name}, data)
}

func (u *ui) showImportForm(name string, data []byte, p ingest.Preview) {
	f := &importForm{name: name, data: data, preview: p, columns: map[string]*widget.Select{}}
	f.platform = widget.NewSelect(ingest.Platforms, nil)
	f.kind = widget.NewSelect(ingest.Kinds, nil)
	var handles []string
	if accs, err := u.node.Store.Accounts(context.Background()); err == nil {
		for _, a := range accs {
			handles = append(handles, a.Handle)
		}
	}
	f.account = widget.NewSelectEntry(handles)
	f.account.SetPlaceHolder("the location's account on that platform")
	f.layout = widget.NewEntry()
	f.layout.SetPlaceHolder("e.g. 01/02/2006 3:04 PM, if dates are not like 2026-11-21T19:15:00Z")
	items := []*widget.FormItem{}
	if p.Format == ingest.GoogleReviews {
		f.platform.SetSelected("google")
		f.platform.Disable()
		f.kind.SetSelected("review")
		f.kind.Disable()
		items = append(items, widget.NewFormItem("", wrapped("A Google Business Profile reviews file: say which of the location's accounts it belongs to.")))
	} else {
		items = append(items, widget.NewFormItem("", wrapped("This file is a platform's export, not Branchline's format: say which of its columns holds what. "+
			"Rows without an ID get one made from their content, so importing the same export again adds nothing.")))
		options := append([]string{noColumn}, p.Columns...)
		for _, field := range mappedFields {
			sel := widget.NewSelect(options, nil)
			sel.SetSelected(guessColumn(field, p.Columns))
			f.columns[field] = sel
			items = append(items, widget.NewFormItem(strings.ReplaceAll(field, "_", " "), sel))
		}
		items = append(items, widget.NewFormItem("Date format", f.layout))
	}
	items = append(items, widget.NewFormItem("Platform", f.platform), widget.NewFormItem("Account", f.account), widget.NewFormItem("Kind", f.kind))
	f.dialog = dialog.NewForm("Import "+name, "Import", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		opts, err := f.options()
		if err != nil {
			u.showError("import "+name, err)
			return
		}
		u.runImport(opts, data)
	}, u.win)
	f.dialog.Resize(fyne.NewSize(620, 0))
	u.importForm = f
	f.dialog.Show()
}

// guessColumn picks the column whose name suggests field, or none.
func guessColumn(field string, columns []string) string {
	for _, c := range columns {
		if strings.EqualFold(c, field) {
			return c
		}
	}
	for _, hint := range columnHints[field] {
		for _, c := range columns {
			if strings.Contains(strings.ToLower(c), hint) && !(field == "id" && !strings.EqualFold(strings.TrimSpace(c), "id")) {
				return c
			}
		}
	}
	return noColumn
}

// options reads the form into import options.
func (f *importForm) options() (ingest.Options, error) {
	opts := ingest.Options{Name: f.name, Platform: f.platform.Selected, Account: strings.TrimSpace(f.account.Text),
		Kind: f.kind.Selected, TimeLayout: strings.TrimSpace(f.layout.Text)}
	if f.preview.Format == ingest.GoogleReviews {
		opts.Platform, opts.Kind = "", ""
	}
	if len(f.columns) > 0 {
		opts.Map = map[string]string{}
		for field, sel := range f.columns {
			if sel.Selected != "" && sel.Selected != noColumn {
				opts.Map[field] = sel.Selected
			}
		}
		var missing []string
		for _, field := range []string{"text", "created_at"} {
			if _, ok := opts.Map[field]; !ok {
				missing = append(missing, strings.ReplaceAll(field, "_", " "))
			}
		}
		if opts.Platform == "" && !slices.ContainsFunc(f.preview.Columns, func(c string) bool { return strings.EqualFold(c, "platform") }) {
			missing = append(missing, "platform")
		}
		if opts.Kind == "" && !slices.ContainsFunc(f.preview.Columns, func(c string) bool { return strings.EqualFold(c, "kind") }) {
			missing = append(missing, "kind")
		}
		if len(missing) > 0 {
			return opts, fmt.Errorf("choose the %s", strings.Join(missing, ", "))
		}
	}
	if opts.Account == "" && !slices.ContainsFunc(f.preview.Columns, func(c string) bool { return strings.EqualFold(c, "account") }) {
		return opts, fmt.Errorf("give the account the file belongs to")
	}
	return opts, nil
}

// runImport imports data with opts, with a progress bar; bad rows are
// reported and the good ones kept.
func (u *ui) runImport(opts ingest.Options, data []byte) {
	name := opts.Name
	u.importing = true
	u.progressStart("Importing " + name + "…")
	var rep importResult
	u.background(func() {
		rep.r, rep.err = u.node.Desk.ImportWith(context.Background(), bytes.NewReader(data), opts, func(read int) {
			if !u.inline {
				fyne.Do(func() { u.notice(fmt.Sprintf("Importing %s: %d rows read…", name, read)) })
			}
		})
	}, func() {
		u.importing = false
		if rep.err != nil {
			u.progressDone("")
			u.showError("import "+name, rep.err)
			return
		}
		msg := fmt.Sprintf("Imported %s: %d new, %d already stored, %d row%s with problems.", name, rep.r.Inserted, rep.r.Duplicates, rep.r.Rejected, plural(rep.r.Rejected))
		if len(rep.r.Errors) > 0 {
			msg += " First: " + rep.r.Errors[0].Error()
		}
		u.progressDone(msg)
		u.inbox.refreshKeepingPlace()
		u.refreshCounts()
	})
}

// readImport reads a chosen file, at most maxImportBytes.
func readImport(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImportBytes {
		return nil, fmt.Errorf("the file is larger than %d MB", maxImportBytes>>20)
	}
	return b, nil
}

// showImportPicker asks for a file and imports it.
func (u *ui) showImportPicker() {
	dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			u.showError("open the file", err)
			return
		}
		if r == nil {
			return
		}
		name := r.URI().Name()
		var data []byte
		u.background(func() {
			defer r.Close()
			data, err = readImport(r)
		}, func() {
			if err != nil {
				u.showError("read "+name, err)
				return
			}
			u.importData(name, data)
		})
	}, u.win)
}

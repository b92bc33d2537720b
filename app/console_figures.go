package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"io"
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/app/charts"
	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/node"
)

const wholeBrand = "Whole brand"

// leagueColumns are the league table's columns.
var leagueColumns = []string{"Location", "Region", "Received", "Answered", "Median", "90th pct.", "In target", "> 72 h", "Sentiment"}

// leagueSorts are the orders the league table offers.
var leagueSorts = []string{"Within target, worst first", "Median, slowest first", "Unanswered > 72 h, most first", "Messages, most first", "Name"}

// leagueScreen is the figures across locations: totals for the brand or a
// region, a league table of its locations, and a location's trend when
// one is picked. Figures come from the daily summaries the stores share.
type leagueScreen struct {
	c       *console
	scope   *widget.Select
	rng     *widget.Select
	sortBy  *widget.Select
	status  *widget.Label
	totals  *widget.Label
	table   *widget.Table
	rows    []kpi.LocationRow
	report  kpi.Report
	drill   *widget.Label
	charts  []*canvas.Image
	picked  string
	gen     int
	onShown func()
}

var leagueRanges = []struct {
	label string
	days  int
}{{"Last 7 days", 7}, {"Last 30 days", 30}, {"Last 90 days", 90}, {"Last 365 days", 365}}

func newLeagueScreen(c *console) *leagueScreen {
	s := &leagueScreen{c: c}
	s.scope = widget.NewSelect([]string{wholeBrand}, func(string) { s.reload() })
	s.scope.Selected = wholeBrand
	if !c.isHQ() {
		s.scope.Options = []string{c.self.Region}
		s.scope.Selected = c.self.Region
		s.scope.Disable()
	}
	var labels []string
	for _, r := range leagueRanges {
		labels = append(labels, r.label)
	}
	s.rng = widget.NewSelect(labels, func(string) { s.reload() })
	s.rng.Selected = leagueRanges[1].label
	s.sortBy = widget.NewSelect(leagueSorts, func(string) { s.sortRows(); s.table.Refresh() })
	s.sortBy.Selected = leagueSorts[0]
	s.status = widget.NewLabel("")
	s.totals = widget.NewLabel("")
	s.totals.Wrapping = fyne.TextWrapWord
	s.drill = widget.NewLabel("Pick a location in the table to see its trend.")
	s.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(s.rows), len(leagueColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("Copper Kettle Riverside")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row < len(s.rows) {
				o.(*widget.Label).SetText(leagueCell(s.rows[id.Row], id.Col))
			}
		})
	s.table.ShowHeaderColumn = false
	s.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(leagueColumns) {
			o.(*widget.Label).SetText(leagueColumns[id.Col])
		}
	}
	for i, w := range []float32{240, 170, 90, 90, 80, 90, 90, 70, 90} {
		s.table.SetColumnWidth(i, w)
	}
	s.table.OnSelected = func(id widget.TableCellID) {
		if id.Row >= 0 && id.Row < len(s.rows) {
			s.picked = s.rows[id.Row].Location
			s.loadTrend()
		}
	}
	return s
}

func leagueCell(r kpi.LocationRow, col int) string {
	switch col {
	case 0:
		return r.Location
	case 1:
		return r.Region
	case 2:
		return strconv.Itoa(r.Received)
	case 3:
		return kpi.Share(r.ResponseRate)
	case 4:
		return kpi.Minutes(r.MedianMinutes)
	case 5:
		return kpi.Minutes(r.P90Minutes)
	case 6:
		return kpi.Share(r.WithinTarget)
	case 7:
		return strconv.Itoa(r.Unanswered72h)
	case 8:
		if r.SentimentMean == nil {
			return "–"
		}
		return fmt.Sprintf("%+.2f", *r.SentimentMean)
	}
	return ""
}

func (s *leagueScreen) content() fyne.CanvasObject {
	export := widget.NewButtonWithIcon("CSV…", theme.DocumentSaveIcon(), s.exportCSV)
	pdf := widget.NewButtonWithIcon("PDF…", theme.DocumentSaveIcon(), s.exportPDF)
	bar := container.NewHBox(s.scope, s.rng, widget.NewLabel("Sort by"), container.NewGridWrap(fyne.NewSize(260, s.sortBy.MinSize().Height), s.sortBy),
		widget.NewLabel("Export"), export, pdf)
	plots := container.NewGridWithColumns(2)
	for range 2 {
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(float32(chartSize.W)/1.6, float32(chartSize.H)/1.6))
		s.charts = append(s.charts, img)
		plots.Add(img)
	}
	bottom := container.NewVBox(widget.NewSeparator(), s.drill, plots)
	top := container.NewVBox(bar, s.status, s.totals)
	return container.NewBorder(top, bottom, nil, nil, s.table)
}

func (s *leagueScreen) query() node.KPIQuery {
	days := 30
	for _, r := range leagueRanges {
		if r.label == s.rng.Selected {
			days = r.days
		}
	}
	now := s.c.now()
	q := node.KPIQuery{From: now.AddDate(0, 0, -(days - 1)).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	if s.scope.Selected == wholeBrand {
		q.Brand = true
	} else {
		q.Region = s.scope.Selected
	}
	return q
}

// reload rolls the figures up in the background.
func (s *leagueScreen) reload() {
	if s.table == nil {
		return
	}
	s.gen++
	gen := s.gen
	s.status.SetText("Rolling up the figures…")
	q := s.query()
	n := s.c.node
	var rep kpi.Report
	var err error
	var regions []string
	s.c.background(func() {
		rep, err = n.KPI(context.Background(), q)
		if err == nil && q.Brand {
			for _, r := range rep.ByLocation {
				if !slices.Contains(regions, r.Region) {
					regions = append(regions, r.Region)
				}
			}
			slices.Sort(regions)
		}
	}, func() {
		if gen != s.gen {
			return
		}
		s.show(rep, err, regions)
		if s.onShown != nil {
			s.onShown()
		}
	})
}

func (s *leagueScreen) show(rep kpi.Report, err error, regions []string) {
	if err != nil {
		s.status.SetText("Could not roll up the figures: " + err.Error())
		return
	}
	if regions != nil {
		s.scope.Options = append([]string{wholeBrand}, regions...)
	}
	s.report = rep
	s.rows = slices.Clone(rep.ByLocation)
	s.sortRows()
	t := rep.Totals
	if len(s.rows) == 0 {
		s.status.SetText(fmt.Sprintf("No daily figures from any location between %s and %s yet: stores share theirs every hour.", rep.From, rep.To))
	} else {
		s.status.SetText(fmt.Sprintf("%d locations, %s to %s (from the stores' daily summaries)", rep.Locations, rep.From, rep.To))
	}
	s.totals.SetText(fmt.Sprintf("Received %d · needing a response %d · answered %s · first response median %s, 90th percentile %s · within target %s · unanswered over 72 h %d",
		t.Received, t.NeedsResponse, kpi.Share(t.ResponseRate), kpi.Minutes(t.MedianMinutes), kpi.Minutes(t.P90Minutes), kpi.Share(t.WithinTarget), t.Unanswered72h))
	s.table.Refresh()
}

// sortRows orders the league table as chosen; missing figures sort last.
func (s *leagueScreen) sortRows() {
	val := func(p *float64, missing float64) float64 {
		if p == nil {
			return missing
		}
		return *p
	}
	slices.SortStableFunc(s.rows, func(a, b kpi.LocationRow) int {
		var d float64
		switch s.sortBy.Selected {
		case leagueSorts[0]:
			d = val(a.WithinTarget, 2) - val(b.WithinTarget, 2)
		case leagueSorts[1]:
			d = val(b.MedianMinutes, -1) - val(a.MedianMinutes, -1)
		case leagueSorts[2]:
			d = float64(b.Unanswered72h - a.Unanswered72h)
		case leagueSorts[3]:
			d = float64(b.Received - a.Received)
		}
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
		if a.Location < b.Location {
			return -1
		}
		if a.Location > b.Location {
			return 1
		}
		return 0
	})
}

// loadTrend draws the picked location's response times and share within
// target.
func (s *leagueScreen) loadTrend() {
	q := s.query()
	q.Brand, q.Region, q.Location = false, "", s.picked
	name := s.picked
	s.drill.SetText("Loading " + name + "…")
	pal := charts.Light
	if s.c.app.Settings().ThemeVariant() == theme.VariantDark {
		pal = charts.Dark
	}
	n := s.c.node
	var rep kpi.Report
	var err error
	var imgs [2]image.Image
	s.c.background(func() {
		rep, err = n.KPI(context.Background(), q)
		if err == nil {
			imgs[0], _ = charts.ResponseTimes(rep, pal, chartSize)
			imgs[1], _ = charts.WithinTarget(rep, pal, chartSize)
		}
	}, func() {
		if name != s.picked {
			return
		}
		if err != nil {
			s.drill.SetText(fmt.Sprintf("%s: %v", name, err))
			return
		}
		t := rep.Totals
		s.drill.SetText(fmt.Sprintf("%s (%s to %s): %d received, answered %s, median %s, within target %s",
			name, rep.From, rep.To, t.Received, kpi.Share(t.ResponseRate), kpi.Minutes(t.MedianMinutes), kpi.Share(t.WithinTarget)))
		for i, img := range s.charts {
			img.Image = imgs[i]
			img.Refresh()
		}
	})
}

func (s *leagueScreen) exportCSV() {
	if len(s.rows) == 0 {
		dialog.ShowInformation("Export", "There is nothing to export in this range.", s.c.win)
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		if err := writeLeagueCSV(w, s.report, s.rows); err != nil {
			s.c.showError("Export CSV", err)
			return
		}
		s.c.notice("Exported " + w.URI().Name() + ".")
	}, s.c.win)
	d.SetFileName(fmt.Sprintf("branchline-figures-%s-%s.csv", s.report.From, s.report.To))
	d.Show()
}

func (s *leagueScreen) exportPDF() {
	if len(s.rows) == 0 {
		dialog.ShowInformation("Export", "There is nothing to export in this range.", s.c.win)
		return
	}
	title := fmt.Sprintf("%s: customer care figures, %s", s.c.node.Net.Config.Name, s.scope.Selected)
	rep, rows := s.report, slices.Clone(s.rows)
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		defer w.Close()
		if err := charts.WritePDF(w, title, rep, rows); err != nil {
			s.c.showError("Export PDF", err)
			return
		}
		s.c.notice("Exported " + w.URI().Name() + ".")
	}, s.c.win)
	d.SetFileName(fmt.Sprintf("branchline-figures-%s-%s.pdf", rep.From, rep.To))
	d.Show()
}

// writeLeagueCSV writes the league table: one row per location, figures
// as numbers (shares from 0 to 1, times in minutes), empty when unknown.
func writeLeagueCSV(w io.Writer, rep kpi.Report, rows []kpi.LocationRow) error {
	cw := csv.NewWriter(w)
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 4, 64)
	}
	if err := cw.Write([]string{"location", "region", "from", "to", "received", "needs_response", "answered", "response_rate",
		"first_response_median_minutes", "first_response_p90_minutes", "within_target_share", "unanswered_over_72h", "sentiment_mean"}); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write([]string{r.Location, r.Region, rep.From, rep.To, strconv.Itoa(r.Received), strconv.Itoa(r.NeedsResponse),
			strconv.Itoa(r.Answered), num(r.ResponseRate), num(r.MedianMinutes), num(r.P90Minutes), num(r.WithinTarget),
			strconv.Itoa(r.Unanswered72h), num(r.SentimentMean)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

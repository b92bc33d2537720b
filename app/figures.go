package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/app/charts"
	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/node"
)

// figureRanges are the ranges the store dashboard offers, in days.
var figureRanges = []struct {
	label string
	days  int
}{{"Last 7 days", 7}, {"Last 30 days", 30}, {"Last 90 days", 90}}

// chartSize is what each chart is drawn at.
var chartSize = charts.Size{W: 560, H: 270}

// figuresScreen is the store's dashboard: its own figures over a range,
// with charts drawn by gonum/plot. The figures are computed and the
// charts drawn off the UI goroutine.
type figuresScreen struct {
	ui      *ui
	rng     *widget.Select
	status  *widget.Label
	cards   map[string]*widget.Label
	charts  []*canvas.Image
	empty   []*widget.Label
	gen     int        // the latest load; older results are dropped
	report  kpi.Report // what is shown
	onShown func()     // tests: called when a load has been shown
}

var figureCards = []string{"Received", "Needing a response", "Response rate", "Median first response",
	"90th percentile", "Within target", "Unanswered > 72 h", "Sentiment"}

func newFiguresScreen(u *ui) *figuresScreen {
	s := &figuresScreen{ui: u, cards: map[string]*widget.Label{}}
	var labels []string
	for _, r := range figureRanges {
		labels = append(labels, r.label)
	}
	s.rng = widget.NewSelect(labels, func(string) { s.reload() })
	s.status = widget.NewLabel("")
	s.status.Wrapping = fyne.TextWrapWord
	return s
}

func (s *figuresScreen) content() fyne.CanvasObject {
	grid := container.NewGridWithColumns(4)
	for _, name := range figureCards {
		v := widget.NewLabelWithStyle("–", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		v.SizeName = theme.SizeNameSubHeadingText
		s.cards[name] = v
		caption := widget.NewLabel(name)
		caption.SizeName = theme.SizeNameCaptionText
		grid.Add(container.NewVBox(caption, v))
	}
	plots := container.NewGridWithColumns(2)
	for range 4 {
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		img.ScaleMode = canvas.ImageScaleSmooth
		img.SetMinSize(fyne.NewSize(float32(chartSize.W)/1.5, float32(chartSize.H)/1.5))
		empty := widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
		s.charts = append(s.charts, img)
		s.empty = append(s.empty, empty)
		plots.Add(container.NewStack(img, container.NewCenter(empty)))
	}
	s.rng.Selected = figureRanges[1].label // the tab loads when it is opened
	title := widget.NewLabelWithStyle("This location's figures", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	note := widget.NewLabel("Response times count opening hours only, in the location's time zone.")
	note.SizeName = theme.SizeNameCaptionText
	refresh := widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), s.reload)
	top := container.NewVBox(container.NewBorder(nil, nil, title, container.NewHBox(s.rng, refresh)), note, s.status, grid)
	return container.NewBorder(top, nil, nil, nil, container.NewVScroll(plots))
}

func (s *figuresScreen) days() int {
	for _, r := range figureRanges {
		if r.label == s.rng.Selected {
			return r.days
		}
	}
	return 30
}

// reload computes the figures and draws the charts in the background.
func (s *figuresScreen) reload() {
	if s.cards["Received"] == nil {
		return // not built yet
	}
	s.gen++
	gen := s.gen
	s.status.SetText("Loading the figures…")
	s.status.Importance = widget.MediumImportance
	s.status.Show()
	days := s.days()
	n := s.ui.node
	now := s.ui.now().In(n.Desk.Location().Zone())
	q := node.KPIQuery{Location: n.Desk.Location().Name,
		From: now.AddDate(0, 0, -(days - 1)).Format(time.DateOnly), To: now.Format(time.DateOnly)}
	pal := charts.Light
	if s.ui.app.Settings().ThemeVariant() == theme.VariantDark {
		pal = charts.Dark
	}
	var rep kpi.Report
	var err error
	var imgs [4]image.Image
	var errs [4]error
	s.ui.background(func() {
		rep, err = n.KPI(context.Background(), q)
		if err == nil {
			for i, draw := range []func(kpi.Report, charts.Palette, charts.Size) (image.Image, error){
				charts.ResponseTimes, charts.WithinTarget, charts.Volume, charts.Sentiment} {
				imgs[i], errs[i] = draw(rep, pal, chartSize)
			}
		}
	}, func() {
		if gen != s.gen {
			return // a newer load is on its way
		}
		s.show(rep, err, imgs, errs)
		if s.onShown != nil {
			s.onShown()
		}
	})
}

func (s *figuresScreen) show(rep kpi.Report, err error, imgs [4]image.Image, errs [4]error) {
	if err != nil {
		s.status.SetText("Could not compute the figures: " + err.Error())
		s.status.Importance = widget.DangerImportance
		s.status.Refresh()
		return
	}
	s.report = rep
	t := rep.Totals
	if t.Received == 0 {
		s.status.SetText(fmt.Sprintf("No messages between %s and %s.", rep.From, rep.To))
		s.status.Importance = widget.MediumImportance
		s.status.Refresh()
	} else {
		s.status.Hide()
	}
	set := func(name, v string) { s.cards[name].SetText(v) }
	set("Received", fmt.Sprint(t.Received))
	set("Needing a response", fmt.Sprint(t.NeedsResponse))
	set("Response rate", kpi.Share(t.ResponseRate))
	set("Median first response", kpi.Minutes(t.MedianMinutes))
	set("90th percentile", kpi.Minutes(t.P90Minutes))
	within := kpi.Share(t.WithinTarget)
	if rep.TargetMinutes > 0 && t.WithinTarget != nil {
		within += fmt.Sprintf(" of %.0f min", rep.TargetMinutes)
	}
	set("Within target", within)
	set("Unanswered > 72 h", fmt.Sprint(t.Unanswered72h))
	sent := "–"
	if t.SentimentMean != nil {
		sent = fmt.Sprintf("%+.2f (%d+ / %d−)", *t.SentimentMean, t.Sentiment["positive"], t.Sentiment["negative"])
	}
	set("Sentiment", sent)
	for i, img := range s.charts {
		switch {
		case errs[i] == nil:
			img.Image = imgs[i]
			s.empty[i].SetText("")
		case errors.Is(errs[i], charts.ErrNoData):
			img.Image = nil
			s.empty[i].SetText("Nothing to chart in this range")
		default:
			img.Image = nil
			s.empty[i].SetText("Could not draw: " + errs[i].Error())
		}
		img.Refresh()
	}
}

// Package charts draws a figures report's charts with gonum/plot into
// images for the app's dashboards: response times against the target,
// the share answered within it, volume by channel and sentiment, day by
// day. It draws; it does not touch widgets.
package charts

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/branchline/branchline/care/kpi"
)

// Palette colours a chart to match the app's theme.
type Palette struct {
	Background, Foreground, Grid color.Color
	Primary, Secondary, Warning  color.Color
	Positive, Neutral, Negative  color.Color
}

// Light is a palette for a light theme.
var Light = Palette{
	Background: color.White, Foreground: color.NRGBA{0x33, 0x33, 0x33, 0xff}, Grid: color.NRGBA{0xe0, 0xe0, 0xe0, 0xff},
	Primary: color.NRGBA{0x29, 0x6f, 0xf6, 0xff}, Secondary: color.NRGBA{0x8e, 0x44, 0xad, 0xff}, Warning: color.NRGBA{0xe6, 0x7e, 0x22, 0xff},
	Positive: color.NRGBA{0x2e, 0xa0, 0x4f, 0xff}, Neutral: color.NRGBA{0xb0, 0xb0, 0xb0, 0xff}, Negative: color.NRGBA{0xd6, 0x3c, 0x3c, 0xff},
}

// Dark is a palette for a dark theme.
var Dark = Palette{
	Background: color.NRGBA{0x17, 0x17, 0x18, 0xff}, Foreground: color.NRGBA{0xe8, 0xe8, 0xe8, 0xff}, Grid: color.NRGBA{0x3a, 0x3a, 0x3c, 0xff},
	Primary: color.NRGBA{0x5a, 0x95, 0xff, 0xff}, Secondary: color.NRGBA{0xc3, 0x8b, 0xe0, 0xff}, Warning: color.NRGBA{0xf3, 0x9c, 0x4b, 0xff},
	Positive: color.NRGBA{0x4c, 0xc2, 0x6e, 0xff}, Neutral: color.NRGBA{0x80, 0x80, 0x80, 0xff}, Negative: color.NRGBA{0xf0, 0x5a, 0x5a, 0xff},
}

// ErrNoData means the report has nothing for the chart to show.
var ErrNoData = errors.New("nothing to draw")

// Size is a chart's size in pixels.
type Size struct{ W, H int }

const dpi = 96

func newPlot(title string, pal Palette) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Color = pal.Foreground
	p.BackgroundColor = pal.Background
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Color = pal.Foreground
		ax.Label.TextStyle.Color = pal.Foreground
		ax.Tick.Color = pal.Foreground
		ax.Tick.Label.Color = pal.Foreground
	}
	p.Legend.TextStyle.Color = pal.Foreground
	p.Legend.Top = true
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = pal.Grid, pal.Grid
	g.Vertical.Width = 0
	p.Add(g)
	return p
}

func render(p *plot.Plot, s Size) image.Image {
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(s.W)*vg.Inch/dpi, vg.Length(s.H)*vg.Inch/dpi), vgimg.UseDPI(dpi))
	p.Draw(draw.New(c))
	return c.Image()
}

// dayX is a day's position on a time axis: noon UTC of the day, in seconds.
func dayX(day string) (float64, error) {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return 0, fmt.Errorf("day %q: %w", day, err)
	}
	return float64(t.Add(12 * time.Hour).Unix()), nil
}

func timeAxis(p *plot.Plot, days int) {
	format := "Jan 2"
	if days > 120 {
		format = "Jan"
	}
	p.X.Tick.Marker = plot.TimeTicks{Format: format, Time: plot.UTCUnixTime}
}

// ResponseTimes draws the daily median and 90th percentile of the first
// response, in opening-hour minutes, against the target.
func ResponseTimes(r kpi.Report, pal Palette, s Size) (image.Image, error) {
	var med, p90 plotter.XYs
	for _, d := range r.Daily {
		x, err := dayX(d.Day)
		if err != nil {
			return nil, err
		}
		if d.MedianMinutes != nil {
			med = append(med, plotter.XY{X: x, Y: *d.MedianMinutes})
			p90 = append(p90, plotter.XY{X: x, Y: *d.P90Minutes})
		}
	}
	if len(med) == 0 {
		return nil, ErrNoData
	}
	p := newPlot("First response (minutes open)", pal)
	timeAxis(p, len(r.Daily))
	p.Y.Min = 0
	if err := addLine(p, med, pal.Primary, "median", true); err != nil {
		return nil, err
	}
	if err := addLine(p, p90, pal.Secondary, "90th percentile", true); err != nil {
		return nil, err
	}
	most := r.TargetMinutes
	for _, pt := range p90 {
		most = max(most, pt.Y)
	}
	p.Y.Max = most * 1.4 // room for the legend
	if r.TargetMinutes > 0 {
		target := plotter.XYs{{X: med[0].X, Y: r.TargetMinutes}, {X: med[len(med)-1].X, Y: r.TargetMinutes}}
		l, err := plotter.NewLine(target)
		if err != nil {
			return nil, err
		}
		l.Color = pal.Warning
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("target %.0f min", r.TargetMinutes), l)
	}
	return render(p, s), nil
}

// WithinTarget draws the daily share answered within the target.
func WithinTarget(r kpi.Report, pal Palette, s Size) (image.Image, error) {
	var pts plotter.XYs
	for _, d := range r.Daily {
		x, err := dayX(d.Day)
		if err != nil {
			return nil, err
		}
		if d.WithinTarget != nil {
			pts = append(pts, plotter.XY{X: x, Y: *d.WithinTarget * 100})
		}
	}
	if len(pts) == 0 {
		return nil, ErrNoData
	}
	p := newPlot("Answered within target (%)", pal)
	timeAxis(p, len(r.Daily))
	p.Y.Min, p.Y.Max = 0, 105
	if err := addLine(p, pts, pal.Positive, "", true); err != nil {
		return nil, err
	}
	return render(p, s), nil
}

// Volume draws the messages received by channel.
func Volume(r kpi.Report, pal Palette, s Size) (image.Image, error) {
	var names []string
	var vals plotter.Values
	for _, ch := range kpi.Channels {
		if n := r.Totals.ByChannel[ch]; n > 0 {
			names = append(names, channelName(ch))
			vals = append(vals, float64(n))
		}
	}
	if len(vals) == 0 {
		return nil, ErrNoData
	}
	p := newPlot("Messages by channel", pal)
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return nil, err
	}
	bars.Color = pal.Primary
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(vals))-0.4
	p.Y.Min = 0
	most := 0.0
	for _, v := range vals {
		most = max(most, v)
	}
	p.Y.Max = most * 1.15
	return render(p, s), nil
}

// Sentiment draws each day's positive, neutral and negative messages as
// stacked bars.
func Sentiment(r kpi.Report, pal Palette, s Size) (image.Image, error) {
	if len(r.Daily) == 0 || r.Totals.Received == 0 {
		return nil, ErrNoData
	}
	var pos, neu, neg plotter.Values
	for _, d := range r.Daily {
		pos = append(pos, float64(d.Sentiment["positive"]))
		neu = append(neu, float64(d.Sentiment["neutral"]))
		neg = append(neg, float64(d.Sentiment["negative"]))
	}
	p := newPlot("Sentiment by day", pal)
	width := vg.Points(max(2, 300/float64(len(r.Daily))))
	var below *plotter.BarChart
	var legend []plot.Thumbnailer
	for _, layer := range []struct {
		vals  plotter.Values
		col   color.Color
		label string
	}{{neg, pal.Negative, "negative"}, {neu, pal.Neutral, "neutral"}, {pos, pal.Positive, "positive"}} {
		b, err := plotter.NewBarChart(layer.vals, width)
		if err != nil {
			return nil, err
		}
		b.Color = layer.col
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		legend = append(legend, b)
	}
	// Top of the legend is the top of the stack; headroom keeps it off the bars.
	p.Legend.Add("positive", legend[2])
	p.Legend.Add("neutral", legend[1])
	p.Legend.Add("negative", legend[0])
	most := 0.0
	for i := range pos {
		most = max(most, pos[i]+neu[i]+neg[i])
	}
	p.Y.Max = most * 1.45
	labels := make([]string, len(r.Daily))
	step := max(1, len(r.Daily)/6)
	for i, d := range r.Daily {
		if i%step == 0 {
			if t, err := time.Parse(time.DateOnly, d.Day); err == nil {
				labels[i] = t.Format("Jan 2")
			}
		}
	}
	p.NominalX(labels...)
	p.X.Tick.Width = 0
	p.Y.Min = 0
	return render(p, s), nil
}

func addLine(p *plot.Plot, pts plotter.XYs, col color.Color, label string, points bool) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = col
	l.Width = vg.Points(1.5)
	p.Add(l)
	if points && len(pts) <= 45 {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = col
		sc.Radius = vg.Points(1.8)
		p.Add(sc)
	}
	if label != "" {
		p.Legend.Add(label, l)
	}
	return nil
}

func channelName(ch string) string {
	switch ch {
	case "google":
		return "Google"
	case "facebook":
		return "Facebook"
	case "instagram":
		return "Instagram"
	case "mastodon":
		return "Mastodon"
	case "bluesky":
		return "Bluesky"
	}
	return "Other"
}

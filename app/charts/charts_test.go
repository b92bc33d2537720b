package charts

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/branchline/branchline/care/kpi"
)

// report is a location's month with a slow week in the middle.
func report(t *testing.T) kpi.Report {
	t.Helper()
	start := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	var msgs []kpi.Message
	for d := range 30 {
		took := 20 * time.Minute
		if d >= 10 && d < 17 {
			took = 150 * time.Minute
		}
		for i := range 8 {
			at := start.AddDate(0, 0, d).Add(time.Duration(i) * 20 * time.Minute)
			m := kpi.Message{CreatedAt: at, NeedsResponse: i%4 != 0, Platform: []string{"facebook", "instagram", "google"}[i%3],
				Sentiment: []float64{0.6, 0, -0.5}[(i+d)%3]}
			if m.NeedsResponse {
				m.FirstResponse = at.Add(took + time.Duration(i)*time.Minute)
			}
			msgs = append(msgs, m)
		}
	}
	h, _ := kpi.NewHours(time.UTC, nil)
	days, frt := kpi.Compute(msgs, kpi.Options{Location: "Riverside", Hours: h, Target: time.Hour, Now: start.AddDate(0, 1, 0)})
	return kpi.ForLocation("Riverside", days, frt, kpi.Filter{}, time.Hour)
}

// has reports whether img has a pixel close to c.
func has(img image.Image, c color.Color) bool {
	r0, g0, b0, _ := c.RGBA()
	near := func(a, b uint32) bool { return a>>8 <= b>>8+24 && b>>8 <= a>>8+24 }
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if near(r, r0) && near(g, g0) && near(b, b0) {
				return true
			}
		}
	}
	return false
}

func TestChartsDrawTheReport(t *testing.T) {
	r := report(t)
	size := Size{W: 480, H: 260}
	out := os.Getenv("CHARTS_OUT") // set to a folder to look at the charts
	for _, c := range []struct {
		name string
		draw func(kpi.Report, Palette, Size) (image.Image, error)
		ink  color.Color // a colour the chart must use
	}{
		{"response-times", ResponseTimes, Light.Primary},
		{"within-target", WithinTarget, Light.Positive},
		{"volume", Volume, Light.Primary},
		{"sentiment", Sentiment, Light.Negative},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := c.draw(r, Light, size)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != size.W || b.Dy() != size.H {
				t.Errorf("size %v, want %dx%d", b, size.W, size.H)
			}
			if !has(img, c.ink) {
				t.Errorf("nothing drawn in the series colour")
			}
			if _, err := c.draw(kpi.Report{}, Dark, size); !errors.Is(err, ErrNoData) {
				t.Errorf("an empty report: %v", err)
			}
			if out != "" {
				f, err := os.Create(filepath.Join(out, c.name+".png"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := png.Encode(f, img); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestWritePDF(t *testing.T) {
	r := report(t)
	rows := []kpi.LocationRow{{Location: "Copper Kettle Riverside – Café", Region: "Pacific Northwest", Figures: r.Totals}}
	var buf bytes.Buffer
	if err := WritePDF(&buf, "Copper Kettle figures", r, rows); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", b[:min(20, len(b))])
	}
	// Two chart images and the table's text.
	if n := bytes.Count(b, []byte("/Subtype /Image")); n != 2 {
		t.Errorf("%d images, want 2", n)
	}
	if out := os.Getenv("CHARTS_OUT"); out != "" {
		os.WriteFile(filepath.Join(out, "figures.pdf"), b, 0o644)
	}
}

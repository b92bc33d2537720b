package charts

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"strconv"

	"codeberg.org/go-pdf/fpdf"

	"github.com/branchline/branchline/care/kpi"
)

// WritePDF writes a figures report as a PDF: the totals, the response
// time and within-target charts, and the league table of rows (A4,
// landscape).
func WritePDF(w io.Writer, title string, rep kpi.Report, rows []kpi.LocationRow) error {
	pdf := fpdf.New("L", "mm", "A4", "")
	tr := pdf.UnicodeTranslatorFromDescriptor("") // UTF-8 to the core fonts' code page
	pdf.SetTitle(title, true)
	pdf.SetAutoPageBreak(true, 12)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, tr(title), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	t := rep.Totals
	pdf.MultiCell(0, 5, tr(fmt.Sprintf("%s to %s, %d locations. Received %d, needing a response %d, answered %s. First response (opening hours): median %s, 90th percentile %s. Within target%s: %s. Unanswered over 72 h: %d.",
		rep.From, rep.To, rep.Locations, t.Received, t.NeedsResponse, kpi.Share(t.ResponseRate), kpi.Minutes(t.MedianMinutes), kpi.Minutes(t.P90Minutes),
		targetText(rep.TargetMinutes), kpi.Share(t.WithinTarget), t.Unanswered72h)), "", "L", false)
	pdf.Ln(2)
	y := pdf.GetY()
	for i, draw := range []func(kpi.Report, Palette, Size) (image.Image, error){ResponseTimes, WithinTarget} {
		img, err := draw(rep, Light, Size{W: 900, H: 430})
		if err != nil {
			continue // nothing to draw in this range
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return err
		}
		name := "chart" + strconv.Itoa(i)
		pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, &buf)
		pdf.ImageOptions(name, 10+float64(i)*140, y, 135, 0, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	pdf.SetY(y + 70)
	cols := []struct {
		head  string
		width float64
	}{{"Location", 70}, {"Region", 45}, {"Received", 22}, {"Answered", 22}, {"Median", 22}, {"90th pct.", 22}, {"In target", 22}, {"> 72 h", 18}, {"Sentiment", 22}}
	header := func() {
		pdf.SetFont("Helvetica", "B", 9)
		for _, c := range cols {
			pdf.CellFormat(c.width, 6, c.head, "B", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 9)
	}
	header()
	for _, r := range rows {
		if pdf.GetY() > 190 {
			pdf.AddPage()
			header()
		}
		sent := "–"
		if r.SentimentMean != nil {
			sent = fmt.Sprintf("%+.2f", *r.SentimentMean)
		}
		for i, v := range []string{r.Location, r.Region, strconv.Itoa(r.Received), kpi.Share(r.ResponseRate), kpi.Minutes(r.MedianMinutes),
			kpi.Minutes(r.P90Minutes), kpi.Share(r.WithinTarget), strconv.Itoa(r.Unanswered72h), sent} {
			pdf.CellFormat(cols[i].width, 5.5, tr(v), "", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("figures PDF: %w", err)
	}
	return pdf.Output(w)
}

func targetText(m float64) string {
	if m <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%.0f minutes)", m)
}

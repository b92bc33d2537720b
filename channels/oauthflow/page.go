package oauthflow

import (
	"bytes"
	"html/template"
	"net/http"
)

// page is what the browser shows at the end of the sign-in.
type page struct {
	Title, Message string
	status         int
}

func failed(msg string) page {
	return page{Title: "Sign-in failed", Message: msg + " You can close this window and return to Branchline.", status: http.StatusBadRequest}
}

// pageHTML is deliberately plain: no scripts, no external resources.
var pageHTML = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Branchline: {{.Title}}</title></head>
<body style="font-family: sans-serif; margin: 3em; max-width: 40em">
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
</body></html>
`))

func write(w http.ResponseWriter, p page) {
	var b bytes.Buffer
	if err := pageHTML.Execute(&b, p); err != nil {
		http.Error(w, p.Title+": "+p.Message, p.status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The callback address carries the code: never pass it on.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(p.status)
	w.Write(b.Bytes())
}

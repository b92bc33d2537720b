package meta

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// GraphError is an error object the Graph API answered with. It wraps the
// error kind of package channels it stands for (ErrAuth, ErrPermanent) or
// webapi.ErrTransient; rate limits are reported as
// *channels.RateLimitError instead.
type GraphError struct {
	Status  int
	Code    int
	Subcode int
	Type    string
	// Message is the platform's explanation, UserMessage the one it
	// writes for people (when it gives one), both shortened and with any
	// secret removed.
	Message     string
	UserMessage string
	TraceID     string
	kind        error
}

func (e *GraphError) Error() string {
	code := fmt.Sprint(e.Code)
	if e.Subcode != 0 {
		code += fmt.Sprintf("/%d", e.Subcode)
	}
	msg := fmt.Sprintf("%v (Graph API error %s, HTTP %d", e.kind, code, e.Status)
	if hint := authHint(e.Code, e.Subcode); hint != "" && e.kind == channels.ErrAuth {
		msg += ", " + hint
	}
	msg += ")"
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.UserMessage != "" && e.UserMessage != e.Message {
		msg += " (" + e.UserMessage + ")"
	}
	return msg
}

// Unwrap gives the error's kind.
func (e *GraphError) Unwrap() error { return e.kind }

// graphErrorBody is the documented error response:
// {"error":{"message","type","code","error_subcode","error_user_title",
// "error_user_msg","is_transient","fbtrace_id"}}.
type graphErrorBody struct {
	Error *struct {
		Message     string `json:"message"`
		Type        string `json:"type"`
		Code        int    `json:"code"`
		Subcode     int    `json:"error_subcode"`
		UserTitle   string `json:"error_user_title"`
		UserMessage string `json:"error_user_msg"`
		IsTransient bool   `json:"is_transient"`
		TraceID     string `json:"fbtrace_id"`
	} `json:"error"`
}

// authSubcodes are the subcodes of an access token that no longer works.
var authSubcodes = map[int]string{
	458: "the app was removed from the account",
	459: "the user must log in to Facebook to pass a security checkpoint",
	460: "the password was changed",
	463: "the access token has expired",
	464: "the user is not confirmed",
	467: "the access token is invalid or was revoked",
	492: "the session is invalid (the user may have lost their role on the Page)",
}

func authHint(code, sub int) string {
	if h, ok := authSubcodes[sub]; ok {
		return h
	}
	if code == 190 || code == 102 {
		return "the access token has expired, been revoked or is invalid"
	}
	return ""
}

// rateLimited says whether a Graph error code is a throttle: 4 (the app),
// 17 (the user), 32 (the Page), 613 (a custom limit), 341 (the app's
// limit), 80001–80014 (Business Use Case limits: Pages, Instagram,
// Messenger, …).
func rateLimited(code int) bool {
	switch code {
	case 4, 17, 32, 341, 613:
		return true
	}
	return code >= 80001 && code <= 80014
}

// classify turns a Graph answer into an error, or nil for a success. It
// reads the Graph error object first (Meta answers most errors with a 400
// and a code), and falls back on webapi.Check for answers without one.
func (g *graph) classify(key string, resp *http.Response, body []byte, now time.Time, token string) error {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && !bytes.Contains(body, []byte(`"error"`)) {
		return nil
	}
	var eb graphErrorBody
	_ = json.Unmarshal(body, &eb) // not JSON: no error object, handled below
	if eb.Error == nil || (eb.Error.Code == 0 && eb.Error.Message == "") {
		if ok {
			return nil
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return g.rateLimit(key, resp.Header, now, "HTTP 429")
		}
		return webapi.Redact(webapi.Check(resp, body, now), token)
	}
	e := eb.Error
	ge := &GraphError{
		Status: resp.StatusCode, Code: e.Code, Subcode: e.Subcode, Type: e.Type,
		Message:     shorten(webapi.RedactString(e.Message, token), 300),
		UserMessage: shorten(webapi.RedactString(strings.TrimSpace(e.UserTitle+" "+e.UserMessage), token), 300),
		TraceID:     e.TraceID,
	}
	_, authSub := authSubcodes[e.Subcode]
	switch {
	case e.Code == 190 || e.Code == 102 || authSub:
		ge.kind = channels.ErrAuth
	case rateLimited(e.Code) || resp.StatusCode == http.StatusTooManyRequests:
		k := key
		if e.Code == 4 {
			k = appKey
		}
		return g.rateLimit(k, resp.Header, now, fmt.Sprintf("Graph API error %d: %s", e.Code, ge.Message))
	case e.Code == 10 || (e.Code >= 200 && e.Code <= 299):
		ge.kind = channels.ErrPermanent
	case e.IsTransient || e.Code == 1 || e.Code == 2 || resp.StatusCode >= 500:
		ge.kind = webapi.ErrTransient
	default:
		ge.kind = channels.ErrPermanent
	}
	return ge
}

// rateLimit makes the error of a throttled answer, with the wait from the
// usage headers' estimated_time_to_regain_access, else Retry-After, else
// webapi.DefaultRetryAfter, and holds back further calls until then.
func (g *graph) rateLimit(key string, h http.Header, now time.Time, reason string) error {
	wait, ok := regainWait(h)
	if !ok {
		wait = webapi.RetryAfter(h, now, webapi.DefaultRetryAfter)
	}
	wait = clampWait(wait)
	g.pause(key, now.Add(wait), reason)
	return &channels.RateLimitError{RetryAfter: wait, Reason: reason}
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

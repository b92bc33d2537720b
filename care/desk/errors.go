package desk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/branchline/branchline/care/brand"
)

// Errors of the desk; check them with errors.Is.
var (
	// ErrNotPermitted: the member of staff's role does not allow it.
	ErrNotPermitted = errors.New("not permitted")
	// ErrBlocked: the text has a blocking brand finding and no manager's
	// override.
	ErrBlocked = errors.New("blocked by the brand guidelines")
	// ErrInvalid: the request itself is wrong (empty text, unknown
	// template).
	ErrInvalid = errors.New("invalid request")
)

// BlockedError lists the blocking findings.
type BlockedError struct {
	Findings []brand.Finding
	Hint     string
}

func (e *BlockedError) Error() string {
	var rules []string
	for _, f := range e.Findings {
		if f.Blocks() {
			rules = append(rules, fmt.Sprintf("%s (%s)", f.Rule, f.Message))
		}
	}
	msg := fmt.Sprintf("%v: %s", ErrBlocked, strings.Join(rules, "; "))
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Unwrap() error { return ErrBlocked }

func unmarshalList(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain values of our own are marshalled
	}
	return string(b)
}

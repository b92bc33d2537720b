package models

import "errors"

// Errors the store returns; check them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict means a row changed under the caller: a reply was no
	// longer in the state the transition expected.
	ErrConflict = errors.New("changed by someone else")
)

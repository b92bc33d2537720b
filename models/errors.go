package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Errors the store returns; check them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict means a row changed under the caller: a reply was no
	// longer in the state the transition expected.
	ErrConflict = errors.New("changed by someone else")
)

// find loads the one row db and conds select, and names it (what) in the
// error when there is none.
func find[T any](db *gorm.DB, what string, conds ...any) (T, error) {
	var v T
	err := db.Take(&v, conds...).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return v, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return v, err
}

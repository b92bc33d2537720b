package oauthflow

import "errors"

// Errors Run reports; check them with errors.Is.
var (
	// ErrDenied: the user refused access at the provider (access_denied).
	ErrDenied = errors.New("sign-in refused")
	// ErrProvider: the provider came back with another error, or with
	// neither a code nor an error.
	ErrProvider = errors.New("the sign-in provider reported an error")
	// ErrNoCallback: the context ended (deadline or cancellation) before
	// the browser came back with this sign-in's state.
	ErrNoCallback = errors.New("no sign-in came back")
)

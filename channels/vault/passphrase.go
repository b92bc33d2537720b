package vault

import (
	"context"
	"os"
)

// EnvPassphrase is the environment variable PassphraseFromEnv reads.
const EnvPassphrase = "BRANCHLINE_PASSPHRASE"

// MinPassphraseLen is the shortest passphrase, in bytes, a new credentials
// file accepts.
const MinPassphraseLen = 8

// PassphraseFunc returns the passphrase of the credentials file. isNew
// says the file does not exist yet, so the passphrase is being chosen: a
// prompt should ask for it twice. Returning "" means there is none
// (ErrNoPassphrase).
type PassphraseFunc func(ctx context.Context, isNew bool) (string, error)

// PassphraseFromEnv reads the passphrase from the environment variable
// BRANCHLINE_PASSPHRASE, for the command line and services; when it is not
// set, it asks next (a terminal prompt, say), or has none if next is nil.
func PassphraseFromEnv(next PassphraseFunc) PassphraseFunc {
	return func(ctx context.Context, isNew bool) (string, error) {
		if p, ok := os.LookupEnv(EnvPassphrase); ok && p != "" {
			return p, nil
		}
		if next == nil {
			return "", nil
		}
		return next(ctx, isNew)
	}
}

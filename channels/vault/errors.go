package vault

import "errors"

// Errors a vault reports; check them with errors.Is. Errors that mean an
// account has no usable token wrap channels.ErrAuth instead.
var (
	// ErrNoPassphrase: the secrets must be kept in the encrypted file (no
	// system keyring service) and no passphrase was given.
	ErrNoPassphrase = errors.New("no passphrase for the credentials file: this machine has no system keyring service, so Branchline keeps account tokens in a file encrypted with a passphrase; set " + EnvPassphrase + " or enter the passphrase when asked")
	// ErrWeakPassphrase: a new credentials file was to be protected by a
	// passphrase shorter than MinPassphraseLen.
	ErrWeakPassphrase = errors.New("passphrase too short")
	// ErrWrongPassphrase: the passphrase does not open the credentials
	// file. The file is left as it was.
	ErrWrongPassphrase = errors.New("wrong passphrase for the credentials file")
	// ErrDamaged: the credentials file was changed or cut short outside
	// Branchline, so it cannot be trusted or read. The file is left as it
	// was, for a backup to replace it.
	ErrDamaged = errors.New("credentials file is damaged")
	// ErrUnsupportedVersion: the credentials file was written by a newer
	// Branchline in a format this one does not read.
	ErrUnsupportedVersion = errors.New("credentials file format not supported")
	// ErrKeyringUnavailable: the data folder keeps its secrets in the
	// system keyring, which cannot be reached now.
	ErrKeyringUnavailable = errors.New("the system keyring holding this data folder's credentials cannot be reached")
	// ErrSecretTooLarge: a token is larger than MaxSecretBytes.
	ErrSecretTooLarge = errors.New("token too large for the credential vault")
)

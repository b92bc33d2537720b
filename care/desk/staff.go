package desk

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/branchline/branchline/models"
)

// Profiles and PINs. The till computer is shared: staff switch profiles,
// and a profile may have a PIN of 4 to 8 digits. A profile without one
// opens without (the demo, and a store's first start). PINs are kept as
// argon2id hashes with a random salt; five wrong PINs in a row lock the
// profile for five minutes by the desk's clock, and the lock survives a
// restart.

// Errors of signing in.
var (
	ErrBadPIN = errors.New("wrong PIN")
	ErrLocked = errors.New("profile locked after too many wrong PINs")
)

const (
	maxFailedLogins = 5
	lockFor         = 5 * time.Minute
	// argon2id parameters: 64 MiB would suit a server; a till computer
	// signs in often, so 19 MiB, 2 passes (OWASP's minimum), one thread.
	pinTime, pinMemory, pinThreads, pinKeyLen = 2, 19 * 1024, 1, 32
)

// SetPIN sets handle's PIN ("" removes it). Anyone may set their own; only
// a manager may set or remove someone else's.
func (d *Desk) SetPIN(ctx context.Context, actor, handle, pin string) error {
	who, err := d.Staff(ctx, actor)
	if err != nil {
		return err
	}
	st, err := d.store.StaffByHandle(ctx, handle)
	if err != nil {
		return err
	}
	if who.ID != st.ID && who.Role != models.RoleManager {
		return fmt.Errorf("%w: only a manager can set another person's PIN", ErrNotPermitted)
	}
	if pin == "" {
		return d.store.SetPINHash(ctx, who.Handle, st.ID, "")
	}
	if err := validPIN(pin); err != nil {
		return err
	}
	return d.store.SetPINHash(ctx, who.Handle, st.ID, hashPIN(pin))
}

func validPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 8 || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("%w: a PIN is 4 to 8 digits", ErrInvalid)
	}
	return nil
}

// hashPIN encodes argon2id's parameters, the salt and the hash.
func hashPIN(pin string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pin), salt, pinTime, pinMemory, pinThreads, pinKeyLen)
	return fmt.Sprintf("argon2id$t=%d,m=%d,p=%d$%s$%s", pinTime, pinMemory, pinThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func checkPIN(hash, pin string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "argon2id" {
		return false
	}
	var t, m uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[1], "t=%d,m=%d,p=%d", &t, &m, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(pin), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Login signs handle in with pin. A profile without a PIN accepts any.
func (d *Desk) Login(ctx context.Context, handle, pin string) (models.Staff, error) {
	st, err := d.Staff(ctx, handle)
	if err != nil {
		return models.Staff{}, err
	}
	now := d.now()
	if st.LockedUntil != nil && now.Before(*st.LockedUntil) {
		return models.Staff{}, fmt.Errorf("%w: try again after %s", ErrLocked, st.LockedUntil.In(d.Location().Zone()).Format("15:04"))
	}
	if st.PINHash == "" || checkPIN(st.PINHash, pin) {
		if err := d.store.RecordLogin(ctx, st.ID, true, nil); err != nil {
			return models.Staff{}, err
		}
		st.FailedLogins, st.LockedUntil = 0, nil
		return st, nil
	}
	var until *time.Time
	if st.FailedLogins+1 >= maxFailedLogins {
		u := now.Add(lockFor)
		until = &u
	}
	if err := d.store.RecordLogin(ctx, st.ID, false, until); err != nil {
		return models.Staff{}, err
	}
	if until != nil {
		return models.Staff{}, fmt.Errorf("%w: locked until %s", ErrLocked, until.In(d.Location().Zone()).Format("15:04"))
	}
	return models.Staff{}, fmt.Errorf("%w for %s (%d tries left before a 5-minute lock)", ErrBadPIN, st.Name, maxFailedLogins-st.FailedLogins-1)
}

// AddNote adds an internal note to a conversation.
func (d *Desk) AddNote(ctx context.Context, handle string, conversationID int64, text string) (models.Note, error) {
	st, err := d.Staff(ctx, handle)
	if err != nil {
		return models.Note{}, err
	}
	text = strings.TrimSpace(text)
	switch n := len([]rune(text)); {
	case n == 0:
		return models.Note{}, fmt.Errorf("%w: the note is empty", ErrInvalid)
	case n > 2000:
		return models.Note{}, fmt.Errorf("%w: the note has %d characters; at most 2,000", ErrInvalid, n)
	}
	return d.store.AddNote(ctx, st.Handle, conversationID, st.ID, text)
}

// MarkEscalated records that a message was escalated (the escalation
// itself is raised through the network).
func (d *Desk) MarkEscalated(ctx context.Context, handle string, messageID int64, e models.EscalationMark) error {
	st, err := d.Staff(ctx, handle)
	if err != nil {
		return err
	}
	return d.store.MarkEscalated(ctx, st.Handle, messageID, e)
}

// Departments staff can work for: the triage's names.
var Departments = []string{"customer_care", "marketing", "sales", "pr", "hr"}

// SetDepartment sets the department handle works for ("" for none); only
// a manager may.
func (d *Desk) SetDepartment(ctx context.Context, actor, handle, department string) error {
	who, err := d.Staff(ctx, actor)
	if err != nil {
		return err
	}
	if who.Role != models.RoleManager {
		return fmt.Errorf("%w: only a manager assigns departments", ErrNotPermitted)
	}
	if department != "" && !slices.Contains(Departments, department) {
		return fmt.Errorf("%w: department %q: use one of %s", ErrInvalid, department, strings.Join(Departments, ", "))
	}
	st, err := d.store.StaffByHandle(ctx, handle)
	if err != nil {
		return err
	}
	return d.store.SetStaffDepartment(ctx, who.Handle, st.ID, department)
}

package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
)

// Vault keeps accounts' tokens (channels/vault): the desk saves one when
// an account is connected and deletes it when it is disconnected.
type Vault interface {
	channels.Credentials
	Delete(ctx context.Context, acc channels.Account) error
}

// Connect is a request to connect an account.
type Connect struct {
	Actor     string // the manager connecting it
	Connector string // the channel's connector name
	// Account says where the account lives; Handle may be left empty for
	// the platform to say whose token it is.
	Account channels.Account
	Token   channels.Token
	Purpose string // main, care, jobs ("" keeps the account's, or main)
}

// ConnectAccount checks the token with the platform, keeps it in the
// vault and records the account as connected (a manager's call). The
// platform says whose token it is: a handle given that does not match is
// an error, so a token for the wrong account is never saved. An account
// already known by platform and handle (fed by imports before) keeps its
// messages.
func (d *Desk) ConnectAccount(ctx context.Context, reg channels.Registry, vault Vault, c Connect) (models.Account, error) {
	if err := d.requireManager(ctx, c.Actor, "connects accounts"); err != nil {
		return models.Account{}, err
	}
	if strings.TrimSpace(c.Token.AccessToken) == "" {
		return models.Account{}, fmt.Errorf("%w: connect %s: the access token is empty", ErrInvalid, c.Account.Platform)
	}
	ch, err := reg.Lookup(c.Connector)
	if err != nil {
		return models.Account{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	v, ok := ch.(channels.Verifier)
	if !ok {
		return models.Account{}, fmt.Errorf("%w: the %s connector cannot check a token", ErrInvalid, c.Connector)
	}
	acc := c.Account
	id, err := v.Verify(ctx, acc, c.Token)
	if errors.Is(err, channels.ErrAuth) {
		return models.Account{}, fmt.Errorf("the platform did not accept the token: %w", err)
	}
	if err != nil {
		return models.Account{}, err // the channel's error says what it was doing
	}
	if id.Handle == "" {
		return models.Account{}, fmt.Errorf("connect %s account: the platform did not say whose token it is", acc.Platform)
	}
	if acc.Handle != "" && !sameHandle(acc.Handle, id.Handle) {
		return models.Account{}, fmt.Errorf("%w: the token is for %s, not %s", ErrInvalid, id.Handle, acc.Handle)
	}
	acc.Handle = id.Handle
	if acc.RemoteID == "" {
		acc.RemoteID = id.RemoteID
	}
	// When the connection stops working: what the platform says, else
	// the token's own expiry, unless a refresh token renews it (a Google
	// access token lasts an hour and is renewed without anyone noticing).
	expiry := id.Expiry
	if expiry.IsZero() && c.Token.RefreshToken == "" {
		expiry = c.Token.Expiry
	}
	if err := vault.SaveToken(ctx, acc, c.Token); err != nil {
		return models.Account{}, fmt.Errorf("connect %s/%s: keep the token: %w", acc.Platform, acc.Handle, err)
	}
	a, err := d.store.ConnectAccount(ctx, c.Actor, models.Connection{
		Platform: acc.Platform, Handle: acc.Handle, DisplayName: id.DisplayName, Purpose: c.Purpose,
		Connector: c.Connector, Server: acc.Server, RemoteID: acc.RemoteID, TokenExpiresAt: expiry,
	})
	if err != nil {
		return models.Account{}, err
	}
	d.log.Info("account connected", "platform", a.Platform, "handle", a.Handle, "connector", a.Connector, "by", c.Actor)
	return a, nil
}

// DisconnectAccount stops polling and replying for an account and
// deletes its token (a manager's call); its messages stay.
func (d *Desk) DisconnectAccount(ctx context.Context, vault Vault, actor string, id int64) (models.Account, error) {
	if err := d.requireManager(ctx, actor, "disconnects accounts"); err != nil {
		return models.Account{}, err
	}
	before, err := d.store.Account(ctx, id)
	if err != nil {
		return models.Account{}, err
	}
	a, err := d.store.DisconnectAccount(ctx, actor, id)
	if err != nil {
		return models.Account{}, err
	}
	if before.Connected() {
		if err := vault.Delete(ctx, ChannelAccount(before)); err != nil && !errors.Is(err, channels.ErrAuth) {
			return a, fmt.Errorf("disconnected %s/%s, but its token could not be deleted: %w", a.Platform, a.Handle, err)
		}
	}
	d.log.Info("account disconnected", "platform", a.Platform, "handle", a.Handle, "by", actor)
	return a, nil
}

// sameHandle reports whether a handle a person gave names the account the
// platform says a token is for: the same, ignoring case and a leading @,
// or the same user without the server ("riverside" for
// "riverside@social.example").
func sameHandle(given, verified string) bool {
	given, verified = strings.TrimPrefix(given, "@"), strings.TrimPrefix(verified, "@")
	if strings.EqualFold(given, verified) {
		return true
	}
	user, _, ok := strings.Cut(verified, "@")
	return ok && !strings.Contains(given, "@") && strings.EqualFold(given, user)
}

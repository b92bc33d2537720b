package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/gbp"
	"github.com/branchline/branchline/channels/mastodon"
	"github.com/branchline/branchline/channels/meta"
	"github.com/branchline/branchline/channels/oauthflow"
	"github.com/branchline/branchline/channels/vault"
	"github.com/branchline/branchline/models"
)

// ConnectorInfo describes a kind of account a location can connect, for
// the connect dialog and the command line.
type ConnectorInfo struct {
	Connector string // the channel's name in the registry
	Platform  string
	Name      string // what people call it
	// ServerLabel names the server address to ask for ("" when the
	// platform has one address).
	ServerLabel string
	// RemoteIDLabel names the platform ID to ask for ("" when the token
	// says enough).
	RemoteIDLabel string
	// SignIn says the account can be connected by signing in with a
	// browser (OAuth with a loopback redirect); otherwise a token is
	// pasted.
	SignIn bool
	// TokenHelp says where a person finds the token to paste.
	TokenHelp string
}

// lockedRetry is how long automatic work (polls, sends) waits before it
// asks for the passphrase again after an open failed; a person's action
// (connect, disconnect, unlock) asks at once.
const lockedRetry = 10 * time.Minute

// lazyVault opens the data folder's credential vault when first needed
// (the keyring probe talks to the desktop session, and an encrypted file
// asks for its passphrase), and again after a failed attempt. One open
// runs at a time, without holding the lock (a passphrase prompt can take
// a person minutes); others wait for it, or for their context to end.
type lazyVault struct {
	dir  string
	opts []vault.Option
	now  func() time.Time

	mu       sync.Mutex
	v        *vault.Vault
	opening  chan struct{} // closed when the open under way ends
	failed   error         // why the last open failed
	failedAt time.Time
}

var _ desk.Vault = (*lazyVault)(nil)

// open returns the vault, opening it if need be. Unless force, a recent
// failure is returned as it is, without asking again.
func (l *lazyVault) open(ctx context.Context, force bool) (*vault.Vault, error) {
	for {
		l.mu.Lock()
		if l.v != nil {
			v := l.v
			l.mu.Unlock()
			return v, nil
		}
		if wait := l.opening; wait != nil {
			l.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %v", channels.ErrCredentialsLocked, ctx.Err())
			}
		}
		if !force && l.failed != nil && l.now().Sub(l.failedAt) < lockedRetry {
			err := l.failed
			l.mu.Unlock()
			return nil, err
		}
		done := make(chan struct{})
		l.opening = done
		l.mu.Unlock()

		v, err := vault.Open(ctx, l.dir, l.opts...)

		l.mu.Lock()
		l.opening = nil
		close(done)
		if err != nil {
			l.failed, l.failedAt = fmt.Errorf("%w: %v", channels.ErrCredentialsLocked, err), l.now()
			err = l.failed
		} else {
			l.v, l.failed = v, nil
		}
		l.mu.Unlock()
		return v, err
	}
}

// Token gives a channel an account's token (a poll's or a send's: a
// recent failure to open the vault is not asked again).
func (l *lazyVault) Token(ctx context.Context, acc channels.Account) (channels.Token, error) {
	v, err := l.open(ctx, false)
	if err != nil {
		return channels.Token{}, err
	}
	return v.Token(ctx, acc)
}

// SaveToken keeps a token (connecting an account: a person is there).
func (l *lazyVault) SaveToken(ctx context.Context, acc channels.Account, t channels.Token) error {
	v, err := l.open(ctx, true)
	if err != nil {
		return err
	}
	return v.SaveToken(ctx, acc, t)
}

// Delete deletes a token (disconnecting an account: a person is there).
func (l *lazyVault) Delete(ctx context.Context, acc channels.Account) error {
	v, err := l.open(ctx, true)
	if err != nil {
		return err
	}
	return v.Delete(ctx, acc)
}

// state says, without waiting, where the tokens live ("" before the
// vault is open) and why the last open failed (nil if it did not).
func (l *lazyVault) state() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.v != nil {
		return l.v.Backend(), nil
	}
	return "", l.failed
}

// passphrase gives the credentials file's passphrase: Options.Passphrase,
// else $BRANCHLINE_PASSPHRASE, else the prompt the app registered.
func (n *Node) passphrase(ctx context.Context, isNew bool) (string, error) {
	if n.opts.Passphrase != nil {
		return n.opts.Passphrase(ctx, isNew)
	}
	n.mu.Lock()
	prompt := n.prompt
	n.mu.Unlock()
	return vault.PassphraseFromEnv(prompt)(ctx, isNew)
}

// SetPassphrasePrompt registers how to ask a person for the credentials
// file's passphrase (the desktop app's dialog). It is called from
// background work, never from the UI goroutine, and may block until the
// person answers or ctx ends.
func (n *Node) SetPassphrasePrompt(fn vault.PassphraseFunc) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.prompt = fn
}

// UnlockVault opens the vault now, asking for the passphrase if need be
// (a person's request, after a failed or cancelled prompt), and says where
// the tokens live.
func (n *Node) UnlockVault(ctx context.Context) (string, error) {
	v, err := n.vault.open(ctx, true)
	if err != nil {
		return "", err
	}
	return v.Backend(), nil
}

// VaultState says, without waiting or asking anything, where the tokens
// live ("" before the vault has been opened) and why the last attempt to
// open it failed (nil if it did not).
func (n *Node) VaultState() (backend string, problem error) { return n.vault.state() }

// Connectors lists the kinds of account this build can connect.
func (n *Node) Connectors() []ConnectorInfo {
	var out []ConnectorInfo
	for _, c := range connectorInfos {
		if _, ok := n.Channels[c.Connector]; ok {
			out = append(out, c)
		}
	}
	return out
}

// ConnectorInfo returns one connector's description.
func (n *Node) ConnectorInfo(connector string) (ConnectorInfo, error) {
	for _, c := range n.Connectors() {
		if c.Connector == connector {
			return c, nil
		}
	}
	return ConnectorInfo{}, fmt.Errorf("%w: no connector %q in this build", desk.ErrInvalid, connector)
}

// ConnectAccount connects an account (desk.ConnectAccount) with the
// node's channels and vault, and polls it at once.
func (n *Node) ConnectAccount(ctx context.Context, c desk.Connect) (models.Account, error) {
	if n.Desk == nil {
		return models.Account{}, errors.New("this node has no location: only a store connects accounts")
	}
	if c.Account.Platform == "" {
		info, err := n.ConnectorInfo(c.Connector)
		if err != nil {
			return models.Account{}, err
		}
		c.Account.Platform = info.Platform
	}
	return n.Desk.ConnectAccount(ctx, n.Channels, &n.vault, c)
}

// DisconnectAccount disconnects an account and deletes its token.
func (n *Node) DisconnectAccount(ctx context.Context, actor string, id int64) (models.Account, error) {
	if n.Desk == nil {
		return models.Account{}, errors.New("this node has no location")
	}
	return n.Desk.DisconnectAccount(ctx, &n.vault, actor, id)
}

// SignIn signs in to a platform with the browser (OAuth with a loopback
// redirect) and returns the token, to connect an account with. open shows
// the sign-in page; server is the account's server, where it has one.
func (n *Node) SignIn(ctx context.Context, connector, server string, open func(url string) error) (channels.Token, error) {
	info, err := n.ConnectorInfo(connector)
	if err != nil {
		return channels.Token{}, err
	}
	if !info.SignIn {
		return channels.Token{}, fmt.Errorf("%w: %s accounts are connected with a pasted token: %s", desk.ErrInvalid, info.Name, info.TokenHelp)
	}
	return n.signIn(ctx, info, server, open)
}

// connectorInfos are the real platforms' connectors.
var connectorInfos = []ConnectorInfo{
	{Connector: mastodon.Connector, Platform: "mastodon", Name: "Mastodon", ServerLabel: "Server (https://…)", SignIn: true,
		TokenHelp: "Sign in with the browser, or paste an access token with read and write scopes " +
			"(Preferences → Development → New application on the account's server)."},
	{Connector: meta.FacebookConnector, Platform: "facebook", Name: "Facebook Page", RemoteIDLabel: "Page ID",
		TokenHelp: "Paste a Page access token with pages_read_engagement, pages_manage_engagement and pages_messaging " +
			"(from Meta Business Suite: a system user's token for the Page, which does not expire)."},
	{Connector: gbp.Connector, Platform: "google", Name: "Google Business Profile", RemoteIDLabel: "Location (accounts/…/locations/…)",
		SignIn: true, TokenHelp: "Sign in with the Google account that manages the location's Business Profile."},
	{Connector: meta.InstagramConnector, Platform: "instagram", Name: "Instagram", RemoteIDLabel: "Instagram account ID",
		TokenHelp: "Paste the access token of the Facebook Page linked to the Instagram professional account, " +
			"with instagram_basic, instagram_manage_comments and instagram_manage_messages."},
}

// addConnectors puts the real platforms' channels in the registry, with
// the vault for their tokens.
func (n *Node) addConnectors() {
	opts := []meta.Option{meta.WithClock(n.now), meta.WithLogger(n.log)}
	n.Channels[mastodon.Connector] = mastodon.New(&n.vault, mastodon.WithClock(n.now), mastodon.WithLogger(n.log))
	n.Channels[meta.FacebookConnector] = meta.NewFacebook(&n.vault, opts...)
	n.Channels[meta.InstagramConnector] = meta.NewInstagram(&n.vault, opts...)
	// Without the brand's OAuth client Google tokens cannot be renewed:
	// the connector still polls until the access token expires.
	var google *oauth2.Config
	if cfg, err := n.googleOAuth(); err == nil {
		google = cfg
	}
	n.Channels[gbp.Connector] = gbp.New(&n.vault, google, gbp.WithClock(n.now), gbp.WithLogger(n.log))
}

func (n *Node) signIn(ctx context.Context, info ConnectorInfo, server string, open func(string) error) (channels.Token, error) {
	var cfg *oauth2.Config
	var opts []oauthflow.Option
	switch info.Connector {
	case mastodon.Connector:
		m, ok := n.Channels[mastodon.Connector].(*mastodon.Channel)
		if !ok || server == "" {
			return channels.Token{}, fmt.Errorf("%w: give the Mastodon server's address (https://…) to sign in", desk.ErrInvalid)
		}
		// The app is registered for this sign-in's loopback address; its
		// client secret is needed only for the exchange and not kept.
		opts = append(opts, oauthflow.WithConfigFor(func(ctx context.Context, redirect string) (*oauth2.Config, error) {
			return m.RegisterApp(ctx, server, redirect)
		}))
	case gbp.Connector:
		var err error
		if cfg, err = n.googleOAuth(); err != nil {
			return channels.Token{}, err
		}
		opts = append(opts, oauthflow.WithAuthCodeOptions(gbp.AuthCodeOptions()...))
	default:
		return channels.Token{}, fmt.Errorf("%w: no browser sign-in for %s", desk.ErrInvalid, info.Name)
	}
	opts = append(opts, oauthflow.WithLogger(n.log))
	tok, err := oauthflow.Run(ctx, cfg, open, opts...)
	if err != nil {
		return channels.Token{}, fmt.Errorf("sign in to %s: %w", info.Name, err)
	}
	return channels.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry}, nil
}

// googleOAuth is the OAuth client Google accounts sign in with.
func (n *Node) googleOAuth() (*oauth2.Config, error) {
	if n.opts.GoogleClientID == "" {
		return nil, fmt.Errorf("%w: Google sign-in needs the brand's OAuth client: set %s and %s (from the Google Cloud project that has Business Profile API access)",
			desk.ErrInvalid, EnvGoogleClientID, EnvGoogleClientSecret)
	}
	return gbp.OAuthConfig(n.opts.GoogleClientID, n.opts.GoogleClientSecret), nil
}

// The environment variables that name the brand's Google OAuth client,
// and EnvCredentials, which set to "file" keeps tokens in the encrypted
// file rather than the system keyring.
const (
	EnvCredentials        = "BRANCHLINE_CREDENTIALS"
	EnvGoogleClientID     = "BRANCHLINE_GOOGLE_CLIENT_ID"
	EnvGoogleClientSecret = "BRANCHLINE_GOOGLE_CLIENT_SECRET"
)

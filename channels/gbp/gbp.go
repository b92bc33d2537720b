// Package gbp connects Branchline to Google Business Profile reviews: it
// polls a location's reviews, answers them, finds out after a crash
// whether an answer landed, and checks a token when an account is
// connected.
//
// Google offers no Go client for the reviews API (My Business API v4), so
// this package speaks it over net/http with golang.org/x/oauth2 tokens:
//
//   - list: GET {base}/accounts/{a}/locations/{l}/reviews, newest update
//     first, 50 a page;
//   - reply: PUT {base}/accounts/{a}/locations/{l}/reviews/{id}/reply with
//     {"comment": text}. Google keeps one owner reply per review and this
//     call creates or replaces it, so a repeated attempt cannot make a
//     second reply (it would replace a reply someone wrote on Google in
//     the meantime);
//   - get: GET …/reviews/{id}, which shows the review's reply, for
//     FindReply;
//   - the location's title from the Business Information API v1, for
//     Verify.
//
// An account's Account.RemoteID is the location's v4 resource name,
// "accounts/{a}/locations/{l}". A review's Item.PlatformID (and ThreadID)
// is its reviewId, Google's stable encrypted identifier, which stays the
// same when the review is edited.
//
// Google gives no reviewer ID. Google lets a Google account leave one
// review per place, so at a location a review stands for its author:
// Item.AuthorID is "review:" followed by the reviewId. Names are no
// substitute: they are not unique, and anonymous reviewers all show the
// same placeholder.
//
// An edited review comes back with a newer updateTime and the same
// PlatformID; the store de-duplicates on PlatformID, so an edit is not
// imported again and the stored text stays the original one.
//
// Google can hold a review back for moderation and release it later with
// its original updateTime, which may then be at or below the mark the last
// poll stopped at: a poll that stopped at the mark would never see it. So
// a poll reads on past its mark, down to the mark less a look-back window
// (DefaultLookBack, 24 hours; WithLookBack), and hands over every review in
// the window except those the cursor records as handed out at the mark
// itself. The cursor does not record the rest of the window (it would grow
// with every review of the last day), so the window's reviews are handed
// over again at each poll, at most once per poll, and the store, which
// de-duplicates on PlatformID, keeps each once. The window costs more
// pages only where more than a page (50) of reviews were updated in the
// day below the mark, and the page bound still holds. A review released
// with an updateTime further below the mark than the window is not seen.
//
// Tokens come from the account's channels.Credentials. An access token
// that has expired (by the injected clock, a minute early) is refreshed
// with the refresh token and saved; a 401 from Google before that is
// answered by one refresh and one retry (the token may have been revoked,
// or this machine's clock may be off). A refresh token Google refuses
// (invalid_grant: revoked, expired, or the password changed) means the
// account must be connected again: the error wraps channels.ErrAuth. A
// 429 from the token endpoint is a *channels.RateLimitError with Google's
// Retry-After, a 408 or 5xx there a transient failure (webapi.ErrTransient).
// A 403 because the sign-in did not grant the business.manage scope (the
// consent screen lets the user untick it) wraps channels.ErrAuth too.
// Tokens never appear in errors or logs.
//
// Access to these APIs must be requested from Google: until it is
// approved, the Cloud project's quota is 0 requests a minute, and the
// errors say so instead of waiting for a rate limit that never lifts.
package gbp

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"

	"github.com/branchline/branchline/channels"
)

// Connector is the connector name of Google Business Profile accounts.
const Connector = "google"

// Scope is the OAuth scope the reviews and location APIs need.
const Scope = "https://www.googleapis.com/auth/business.manage"

// DefaultBase is the reviews API (My Business API v4); an account's
// Server replaces it (a test server).
const DefaultBase = "https://mybusiness.googleapis.com/v4"

// DefaultInformationBase is the Business Information API v1, which Verify
// asks for the location's title.
const DefaultInformationBase = "https://mybusinessbusinessinformation.googleapis.com/v1"

// MaxReplyBytes is the longest reply Google accepts: "The maximum length
// is 4096 bytes" (ReviewReply.comment in the v4 reference).
const MaxReplyBytes = 4096

// PageSize is the number of reviews asked for per page, the maximum
// reviews.list allows.
const PageSize = 50

// DefaultMaxPages bounds the pages one Poll reads (50 reviews each); a
// poll that stops there says More and carries on from there.
const DefaultMaxPages = 20

// DefaultLookBack is how far below its mark a poll looks again for
// reviews that appeared late (see the package doc).
const DefaultLookBack = 24 * time.Hour

// DefaultSkew is how much earlier than the reply's first attempt a reply
// found on Google may have been updated and still count as that attempt's:
// this machine's clock and Google's differ a little.
const DefaultSkew = 5 * time.Minute

// expiryMargin refreshes a token this long before it expires, so it does
// not expire in flight.
const expiryMargin = time.Minute

// OAuthConfig is the OAuth client configuration for Google sign-in with
// the business.manage scope. Pass it to oauthflow.Run with
// AuthCodeOptions, and to New.
func OAuthConfig(clientID, clientSecret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   endpoints.Google.AuthURL,
			TokenURL:  endpoints.Google.TokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{Scope},
	}
}

// AuthCodeOptions are the extra sign-in parameters Google needs to hand
// out a refresh token: offline access, and the consent screen every time
// (Google issues a refresh token only on consent, so a reconnection
// without it would come back without one).
func AuthCodeOptions() []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")}
}

// Channel is the Google Business Profile reviews channel.
type Channel struct {
	creds    channels.Credentials
	oauth    *oauth2.Config
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger
	infoBase string
	maxPages int
	lookBack time.Duration
	skew     time.Duration
	// refreshing holds one mutex per account, so two calls do not refresh
	// the same token at once.
	refreshing sync.Map
	// warned holds the reviews a poll stepped over and warned of, so that
	// one read again by later polls (the look-back) is warned of once.
	warnedMu sync.Mutex
	warned   map[string]bool
}

var (
	_ channels.Channel  = (*Channel)(nil)
	_ channels.Verifier = (*Channel)(nil)
)

// Option configures a Channel.
type Option func(*Channel)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(c *Channel) { c.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Channel) { c.log = l } }

// WithHTTPClient sets the HTTP client for the APIs and the token endpoint.
func WithHTTPClient(h *http.Client) Option { return func(c *Channel) { c.client = h } }

// WithInformationBase replaces DefaultInformationBase (a test server).
func WithInformationBase(url string) Option { return func(c *Channel) { c.infoBase = url } }

// WithMaxPages replaces DefaultMaxPages.
func WithMaxPages(n int) Option { return func(c *Channel) { c.maxPages = max(n, 1) } }

// WithLookBack replaces DefaultLookBack; 0 turns the look-back off (a
// poll then stops at its mark).
func WithLookBack(d time.Duration) Option { return func(c *Channel) { c.lookBack = max(d, 0) } }

// WithSkew replaces DefaultSkew.
func WithSkew(d time.Duration) Option { return func(c *Channel) { c.skew = d } }

// New makes the channel. cfg is the OAuth client the accounts' tokens were
// issued to (OAuthConfig); it refreshes them.
func New(creds channels.Credentials, cfg *oauth2.Config, opts ...Option) *Channel {
	c := &Channel{creds: creds, oauth: cfg, client: &http.Client{Timeout: time.Minute}, now: time.Now,
		log: slog.New(slog.DiscardHandler), infoBase: DefaultInformationBase, maxPages: DefaultMaxPages, lookBack: DefaultLookBack, skew: DefaultSkew}
	for _, o := range opts {
		o(c)
	}
	return c
}

package gbp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// token returns an access token for acc that has not expired, refreshing
// and saving it when needed. stale, when not "", is an access token Google
// just refused: unless another call has replaced it meanwhile, it is
// refreshed whatever its expiry says.
func (c *Channel) token(ctx context.Context, acc channels.Account, stale string) (channels.Token, error) {
	mu, _ := c.refreshing.LoadOrStore(acc.Key(), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	t, err := c.creds.Token(ctx, acc)
	if err != nil {
		return channels.Token{}, fmt.Errorf("read the token of %s: %w", acc.Key(), err)
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return channels.Token{}, fmt.Errorf("%w: %s has no Google token", channels.ErrAuth, acc.Key())
	}
	refused := stale != "" && t.AccessToken == stale
	if !refused && t.AccessToken != "" && !c.expired(t) {
		return t, nil
	}
	nt, err := c.refresh(ctx, t)
	if err != nil {
		return channels.Token{}, fmt.Errorf("refresh the Google token of %s: %w", acc.Key(), err)
	}
	if nt == t {
		return t, nil
	}
	if err := c.creds.SaveToken(ctx, acc, nt); err != nil {
		err = webapi.Redact(err, t.AccessToken, t.RefreshToken, nt.AccessToken, nt.RefreshToken)
		if nt.RefreshToken != t.RefreshToken {
			// Google handed out a new refresh token: losing it would lose
			// the account, so stop here.
			return channels.Token{}, fmt.Errorf("save the refreshed Google token of %s: %w", acc.Key(), err)
		}
		// The stored refresh token still works: carry on with the new
		// access token, and refresh again next time.
		c.log.Error("could not save a refreshed Google token", "account", acc.Key(), "err", err)
		return nt, nil
	}
	c.log.Info("refreshed the Google token", "account", acc.Key(), "expires", nt.Expiry)
	return nt, nil
}

// expired says whether t has expired or will within expiryMargin; a token
// without a known expiry is taken as valid until Google refuses it.
func (c *Channel) expired(t channels.Token) bool {
	return !t.Expiry.IsZero() && !c.now().Add(expiryMargin).Before(t.Expiry)
}

// refresh gets a new access token with t's refresh token.
func (c *Channel) refresh(ctx context.Context, t channels.Token) (channels.Token, error) {
	if t.RefreshToken == "" {
		return channels.Token{}, fmt.Errorf("%w: the access token no longer works (expired or refused) and there is no refresh token to get another", channels.ErrAuth)
	}
	if c.oauth == nil {
		return channels.Token{}, errors.New("no Google OAuth client is configured in this build to refresh tokens")
	}
	secrets := []string{t.AccessToken, t.RefreshToken, c.oauth.ClientSecret}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.client)
	// Without an access token the source refreshes at once.
	ot, err := c.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: t.RefreshToken}).Token()
	if err != nil {
		return channels.Token{}, c.refreshError(err, secrets)
	}
	nt := channels.Token{AccessToken: ot.AccessToken, RefreshToken: ot.RefreshToken, TokenType: ot.TokenType, Expiry: ot.Expiry}
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.RefreshToken
	}
	if ot.ExpiresIn > 0 {
		// By this channel's clock, like the expiry check.
		nt.Expiry = c.now().Add(time.Duration(ot.ExpiresIn) * time.Second).UTC()
	}
	return nt, nil
}

// refreshError classifies a failed refresh. A refresh token Google
// refuses (invalid_grant) needs the account connected again. Otherwise the
// token endpoint's status is read like any API's (webapi.Check): a 429 is
// a rate limit with Google's Retry-After, a 408 or a 5xx is transient, and
// no answer at all (a network error) is transient too. The remaining
// refusals (invalid_client, unauthorized_client and the like, a 401
// included) mean this build's OAuth client is wrong, which neither a retry
// nor a reconnection fixes.
func (c *Channel) refreshError(err error, secrets []string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("%w: %w", webapi.ErrTransient, webapi.Redact(err, secrets...))
	}
	desc := webapi.RedactString(describe(re), secrets...)
	if re.ErrorCode == "invalid_grant" {
		return fmt.Errorf("%w: Google refused the refresh token (%s); the refresh token was revoked or has expired", channels.ErrAuth, desc)
	}
	cerr := webapi.Check(re.Response, []byte(desc), c.now())
	var rl *channels.RateLimitError
	switch {
	case errors.As(cerr, &rl):
		rl.Reason = "HTTP 429 from Google's token endpoint"
		return fmt.Errorf("the token endpoint of Google asks to slow down (%s): %w", desc, rl)
	case errors.Is(cerr, webapi.ErrTransient):
		return fmt.Errorf("the token endpoint of Google failed: %w", cerr)
	default:
		// A 2xx lands here only when it carries an error code anyway.
		return fmt.Errorf("%w: Google's token endpoint refused the request (HTTP %d: %s)", channels.ErrPermanent, re.Response.StatusCode, desc)
	}
}

func describe(re *oauth2.RetrieveError) string {
	s := re.ErrorCode
	if re.ErrorDescription != "" {
		s += ": " + re.ErrorDescription
	}
	if s == "" && re.Response != nil {
		s = re.Response.Status
	}
	return s
}

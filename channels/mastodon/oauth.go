package mastodon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/branchline/branchline/channels/webapi"
)

// AppName is the name Branchline registers under on a server; people see
// it on the server's sign-in page and beside the replies it posts.
const AppName = "Branchline"

// scopes are what Branchline asks a server for: reading mentions and
// writing replies.
const scopes = "read write"

// RegisterApp registers Branchline with a server (POST /api/v1/apps) for
// the OAuth sign-in that redirects to redirectURL, and returns the
// sign-in's configuration: the new client ID and secret, the server's
// /oauth/authorize and /oauth/token endpoints and the scopes "read write".
// Mastodon wants the client's credentials in the token request's form
// (oauth2.AuthStyleInParams). The token exchange should use this channel's
// HTTP client too: pass it in the context under oauth2.HTTPClient.
//
// The client secret is a secret: keep it in the credential vault, never
// in the database or a log.
func (c *Channel) RegisterApp(ctx context.Context, server, redirectURL string) (*oauth2.Config, error) {
	base, err := baseURL(server)
	if err != nil {
		return nil, fmt.Errorf("register Branchline on mastodon: %w", err)
	}
	if u, err := url.Parse(redirectURL); err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return nil, fmt.Errorf("register Branchline on mastodon %s: redirect %q is not an absolute URL", base, redirectURL)
	}
	form := url.Values{}
	form.Set("client_name", AppName)
	form.Set("redirect_uris", redirectURL)
	form.Set("scopes", scopes)
	var app wireApp
	if _, err := c.do(ctx, base, call{method: http.MethodPost, path: "/api/v1/apps", form: form}, &app); err != nil {
		return nil, fmt.Errorf("register Branchline on mastodon %s: %w", base, err)
	}
	if app.ClientID == "" || app.ClientSecret == "" {
		return nil, fmt.Errorf("register Branchline on mastodon %s: %w: the server answered without a client id or secret", base, webapi.ErrTransient)
	}
	return &oauth2.Config{
		ClientID:     app.ClientID,
		ClientSecret: app.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/oauth/authorize",
			TokenURL:  base + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURL,
		Scopes:      strings.Fields(scopes),
	}, nil
}

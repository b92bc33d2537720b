package gbp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/channels/webapi"
)

// Verify checks a token before it is saved for acc: it reads the
// location's name and title from the Business Information API v1
// (GET {info}/locations/{l}?readMask=name,title), then asks the reviews
// API for one review, so that an app whose access to the Business Profile
// APIs Google has not approved yet (quota 0) is refused when the account
// is connected rather than at its first poll. An expired token is
// refreshed for the check only; nothing is saved.
//
// The identity's Expiry is the access token's only when there is no
// refresh token: with one, the account works until Google revokes it.
// Google locations have no handle: the identity's Handle is acc.Handle,
// or the location's resource name when that is empty.
func (c *Channel) Verify(ctx context.Context, acc channels.Account, t channels.Token) (channels.Identity, error) {
	loc, err := parseLocation(acc)
	if err != nil {
		return channels.Identity{}, err
	}
	base, err := baseOf(acc)
	if err != nil {
		return channels.Identity{}, err
	}
	info, err := checkBase(c.infoBase)
	if err != nil {
		return channels.Identity{}, err
	}
	if t.AccessToken == "" || c.expired(t) {
		if t, err = c.refresh(ctx, t); err != nil {
			return channels.Identity{}, fmt.Errorf("verify Google location %s: %w", loc.name, err)
		}
	}
	b, _, err := c.send(ctx, t, http.MethodGet, info+"/locations/"+loc.id+"?"+url.Values{"readMask": {"name,title"}}.Encode(), nil)
	var se *webapi.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return channels.Identity{}, fmt.Errorf("verify Google location %s: no such location for this Google account: %w", loc.name, err)
	}
	if err != nil {
		return channels.Identity{}, fmt.Errorf("verify Google location %s: %w", loc.name, err)
	}
	var l struct {
		Name  string `json:"name"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return channels.Identity{}, fmt.Errorf("verify Google location %s: %w: the answer is not a location: %v", loc.name, webapi.ErrTransient, err)
	}
	if l.Name != "locations/"+loc.id {
		return channels.Identity{}, fmt.Errorf("verify Google location %s: %w: Google answered for %q", loc.name, webapi.ErrTransient, l.Name)
	}
	q := url.Values{"pageSize": {strconv.Itoa(1)}, "orderBy": {"updateTime desc"}}
	if _, _, err := c.send(ctx, t, http.MethodGet, base+"/"+loc.name+"/reviews?"+q.Encode(), nil); err != nil {
		return channels.Identity{}, fmt.Errorf("verify access to the reviews of Google location %s: %w", loc.name, err)
	}
	id := channels.Identity{Handle: acc.Handle, DisplayName: l.Title, RemoteID: loc.name}
	if t.RefreshToken == "" {
		// Without a refresh token the account stops working when the
		// access token expires; with one it lasts until revoked.
		id.Expiry = t.Expiry
	}
	if id.Handle == "" {
		id.Handle = loc.name
	}
	if id.DisplayName == "" {
		id.DisplayName = loc.name
	}
	return id, nil
}

package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/channels"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

func init() {
	commands = append(commands,
		command{"accounts", "", "list the location's accounts and the state of their connections", runAccounts},
		command{"connect", "CONNECTOR [--server URL] [--id PLATFORM_ID] [--handle H] (--token-stdin | --sign-in) [--purpose main|care|jobs] [--as MANAGER]",
			"connect an account: the token is read from standard input (never the command line), or got by signing in with the browser", runConnect},
		command{"disconnect", "ACCOUNT_ID|PLATFORM/HANDLE [--as MANAGER]", "stop polling and replying for an account and delete its token", runDisconnect},
	)
}

// accountJSON is an account as `accounts --json` prints it.
type accountJSON struct {
	ID               int64      `json:"id"`
	Platform         string     `json:"platform"`
	Handle           string     `json:"handle"`
	Purpose          string     `json:"purpose"`
	Connector        string     `json:"connector"`
	State            string     `json:"state"`
	Server           string     `json:"server,omitempty"`
	RemoteID         string     `json:"remote_id,omitempty"`
	LastPolledAt     *time.Time `json:"last_polled_at"`
	LastSuccessAt    *time.Time `json:"last_success_at"`
	RateLimitedUntil *time.Time `json:"rate_limited_until"`
	TokenExpiresAt   *time.Time `json:"token_expires_at"`
	ExpiresSoon      bool       `json:"expires_soon"`
	LastError        string     `json:"last_error,omitempty"`
}

func accountOut(a models.Account, now time.Time) accountJSON {
	return accountJSON{ID: a.ID, Platform: a.Platform, Handle: a.Handle, Purpose: a.Purpose, Connector: a.Connector,
		State: a.State, Server: a.Server, RemoteID: a.RemoteID, LastPolledAt: a.LastPolledAt, LastSuccessAt: a.LastSuccessAt,
		RateLimitedUntil: a.RateLimitedUntil, TokenExpiresAt: a.TokenExpiresAt, ExpiresSoon: a.ExpiresSoon(now), LastError: a.LastError}
}

func runAccounts(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	accs, err := n.Store.Accounts(ctx)
	if err != nil {
		return err
	}
	now := c.env.Now()
	if c.json {
		out := []accountJSON{}
		for _, a := range accs {
			out = append(out, accountOut(a, now))
		}
		return c.printJSON(out)
	}
	for _, a := range accs {
		line := fmt.Sprintf("%3d  %-9s %-28s %-5s %s", a.ID, a.Platform, a.Handle, a.Purpose, strings.ReplaceAll(a.State, "_", " "))
		if a.Waiting(now) {
			line += " until " + a.RateLimitedUntil.Format(time.RFC3339)
		}
		if a.ExpiresSoon(now) {
			line += ", sign-in expires " + a.TokenExpiresAt.Format(time.RFC3339)
		}
		if a.LastError != "" {
			line += " (" + a.LastError + ")"
		}
		c.printf("%s\n", line)
	}
	if len(accs) == 0 {
		c.printf("No accounts. Connect one with: branchline connect CONNECTOR --token-stdin\n")
	}
	return nil
}

func runConnect(ctx context.Context, c *cmdCtx) error {
	server := c.fs.String("server", "", "the account's server (Mastodon)")
	remoteID := c.fs.String("id", "", "the platform's ID of the account (Facebook Page ID, Instagram account ID, Google location accounts/A/locations/L)")
	handle := c.fs.String("handle", "", "the account's handle, checked against the token's")
	tokenStdin := c.fs.Bool("token-stdin", false, "read the access token from standard input")
	signIn := c.fs.Bool("sign-in", false, "sign in with the browser instead")
	purpose := c.fs.String("purpose", "", "main, care or jobs")
	as := c.fs.String("as", "", "manager's staff handle")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	if *tokenStdin == *signIn {
		return usagef("connect: give one of --token-stdin and --sign-in")
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	info, err := n.ConnectorInfo(pos[0])
	if err != nil {
		var names []string
		for _, i := range n.Connectors() {
			names = append(names, i.Connector)
		}
		return usagef("connect: unknown connector %q; this build has %s", pos[0], strings.Join(names, ", "))
	}
	if info.ServerLabel != "" && *server == "" {
		return usagef("connect %s: --server is required (%s)", info.Connector, info.ServerLabel)
	}
	if info.RemoteIDLabel != "" && *remoteID == "" {
		return usagef("connect %s: --id is required (%s)", info.Connector, info.RemoteIDLabel)
	}
	var tok channels.Token
	if *tokenStdin {
		b, err := io.ReadAll(io.LimitReader(c.env.Stdin, 64<<10))
		if err != nil {
			return fmt.Errorf("read the token from standard input: %w", err)
		}
		tok.AccessToken = strings.TrimSpace(string(b))
		if tok.AccessToken == "" {
			return usagef("connect: standard input held no token")
		}
	} else {
		tok, err = n.SignIn(ctx, info.Connector, *server, func(url string) error {
			fmt.Fprintf(c.env.Stderr, "Open this address in a browser to sign in:\n%s\n", url)
			return nil
		})
		if err != nil {
			return err
		}
	}
	a, err := n.ConnectAccount(ctx, desk.Connect{Actor: who, Connector: info.Connector, Purpose: *purpose, Token: tok,
		Account: channels.Account{Platform: info.Platform, Handle: *handle, Server: *server, RemoteID: *remoteID}})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(accountOut(a, c.env.Now()))
	}
	c.printf("Connected %s %s (account %d). New messages arrive with the next poll (branchline poll).\n", info.Name, a.Handle, a.ID)
	return nil
}

func runDisconnect(ctx context.Context, c *cmdCtx) error {
	as := c.fs.String("as", "", "manager's staff handle")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	id, err := findAccount(ctx, n, pos[0])
	if err != nil {
		return err
	}
	a, err := n.DisconnectAccount(ctx, who, id)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(accountOut(a, c.env.Now()))
	}
	c.printf("Disconnected %s %s; its messages stay.\n", a.Platform, a.Handle)
	return nil
}

// findAccount reads an account given by ID or as PLATFORM/HANDLE.
func findAccount(ctx context.Context, n *node.Node, arg string) (int64, error) {
	if platform, handle, ok := strings.Cut(arg, "/"); ok {
		accs, err := n.Store.Accounts(ctx)
		if err != nil {
			return 0, err
		}
		for _, a := range accs {
			if a.Platform == platform && a.Handle == handle {
				return a.ID, nil
			}
		}
		return 0, fmt.Errorf("%w: no account %s", models.ErrNotFound, arg)
	}
	id, err := parseID(arg, "account")
	if err != nil {
		return 0, err
	}
	if _, err := n.Store.Account(ctx, id); err != nil {
		return 0, err
	}
	return id, nil
}

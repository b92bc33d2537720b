// Package cli is Branchline's command line: `branchline` with no command
// opens the desktop app; the commands work headless on the same data
// folder, each with --json for scripts.
//
// Exit status: 0 on success, 1 when something failed, 2 for a usage error,
// 3 when a brand check blocks (lint, reply, approve). Errors are one line on
// standard error saying what was wrong.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/channels/vault"
	"github.com/branchline/branchline/node"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	ExitBlocked = 3
)

// Env is what a command runs with.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	// RunApp opens the desktop app on a node; nil in builds and tests
	// without a UI.
	RunApp func(ctx context.Context, n *node.Node) error
	// Logger receives the node's log (a file in the data folder by
	// default).
	Logger *slog.Logger
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, c *cmdCtx) error
}

// commands are the command line's commands; network.go adds the network's.
var commands = []command{
	{"inbox", "[--filter needs-response|unanswered|all] [--search TEXT] [--limit N] [--after CURSOR]", "list messages, newest first", runInbox},
	{"show", "ID", "show a message, its conversation, triage reasons and replies", runShow},
	{"import", "FILE [--map FIELD=COLUMN ...] [--platform P] [--account A] [--kind K] [--time-layout L]",
		"import messages from JSON Lines or CSV (fields: platform,account,id,thread,author,author_id,text,created_at,kind,rating), " +
			"a platform's CSV export with its columns named by --map, or a Google reviews file (see docs/import.md)", runImport},
	{"reply", "ID (--text T | --template NAME [--var k=v ...]) [--as STAFF] [--private] [--override REASON] [--for-approval]", "reply to a message", runReply},
	{"approve", "REPLY_ID [--note T] [--text EDITED] [--override REASON] [--as MANAGER]", "approve a reply waiting for a manager", runApprove},
	{"reject", "REPLY_ID --note T [--as MANAGER]", "send a reply back to its author with feedback", runReject},
	{"resubmit", "REPLY_ID --text T [--as STAFF]", "edit a rejected reply and send it on", runResubmit},
	{"dismiss", "ID [--as STAFF]", "mark a message as needing no response", runDismiss},
	{"lint", "--text T [--platform P] [--private]", "check a draft against the brand guidelines", runLint},
	{"templates", "", "list reply templates", runTemplates},
	{"outbox", "", "list replies not yet sent", runOutbox},
	{"send", "", "send due replies now", runSend},
	{"retry", "REPLY_ID [--as STAFF]", "queue a failed reply again", runRetry},
	{"poll", "", "fetch new messages from connected accounts", runPoll},
	{"staff", "[add --name N --handle H --role manager|crew|trainee | role HANDLE ROLE]", "list or change staff", runStaff},
	{"audit", "[--subject KIND:ID] [--verify]", "show the audit log", runAudit},
	{"init", "--location NAME --timezone TZ --manager-name N --manager-handle H [--brand B] [--phone P] [--address A]", "set up a real location in an empty data folder", runInit},
}

// Main runs the command line and returns the exit status.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	err := run(ctx, args, env)
	if err == nil {
		return ExitOK
	}
	var ue usageError
	var ee exitError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "branchline: %v (see branchline help)\n", ue)
		return ExitUsage
	case errors.As(err, &ee):
		fmt.Fprintf(env.Stderr, "branchline: %v\n", oneLine(ee.err))
		return ee.code
	default:
		fmt.Fprintf(env.Stderr, "branchline: %v\n", oneLine(err))
		var be *desk.BlockedError
		if errors.As(err, &be) {
			return ExitBlocked
		}
		return ExitFailure
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// globals are the flags every command takes.
type globals struct {
	data string
	json bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.data, "data", g.data, "data folder (default: $BRANCHLINE_DATA, or Branchline in your config folder)")
	fs.BoolVar(&g.json, "json", g.json, "print JSON")
}

func run(ctx context.Context, args []string, env Env) error {
	g := &globals{}
	top := flag.NewFlagSet("branchline", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	help := top.Bool("help", false, "show help")
	if err := top.Parse(args); err != nil {
		return usagef("%v", err)
	}
	rest := top.Args()
	if *help || (len(rest) > 0 && (rest[0] == "help" || rest[0] == "-h")) {
		printHelp(env.Stdout)
		return nil
	}
	if len(rest) == 0 || rest[0] == "app" {
		return runApp(ctx, g, env)
	}
	for _, c := range commands {
		if c.name == rest[0] {
			cc := &cmdCtx{globals: g, env: env, name: c.name, usage: c.args}
			cc.fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
			cc.fs.SetOutput(io.Discard)
			g.register(cc.fs)
			cc.args = rest[1:]
			defer cc.close()
			return c.run(ctx, cc)
		}
	}
	return usagef("unknown command %q", rest[0])
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "Branchline: social media customer care for every location of a brand.")
	fmt.Fprintln(w, "\nUsage:\n  branchline [--data DIR]            open the desktop app\n  branchline [--data DIR] COMMAND [--json] ...")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
		if c.args != "" {
			fmt.Fprintf(w, "  %-10s   %s %s\n", "", c.name, c.args)
		}
	}
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 failure, 2 usage error, 3 blocked by a brand check.")
}

// cmdCtx is one command's parsing and node.
type cmdCtx struct {
	*globals
	env   Env
	name  string
	usage string
	fs    *flag.FlagSet
	args  []string
	node  *node.Node
}

// parse parses the command's flags, wherever they stand among its
// positional arguments, and returns the positional ones.
func (c *cmdCtx) parse(minPos, maxPos int) ([]string, error) {
	var pos []string
	args := c.args
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, usagef("%s: %v; usage: branchline %s %s", c.name, err, c.name, c.usage)
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		return nil, usagef("%s: usage: branchline %s %s", c.name, c.name, c.usage)
	}
	return pos, nil
}

// idArg parses the command's one positional argument as an ID.
func (c *cmdCtx) idArg(what string) (int64, error) {
	pos, err := c.parse(1, 1)
	if err != nil {
		return 0, err
	}
	return parseID(pos[0], what)
}

// openAs opens the node and names who acts: as, $BRANCHLINE_STAFF, or the
// default staff member.
func (c *cmdCtx) openAs(ctx context.Context, as string) (*node.Node, string, error) {
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return nil, "", err
	}
	who, err := c.staff(ctx, n, as)
	return n, who, err
}

// readText returns s, or standard input when s is "-".
func (c *cmdCtx) readText(s string) (string, error) {
	if s != "-" {
		return s, nil
	}
	b, err := io.ReadAll(io.LimitReader(c.env.Stdin, 1<<20))
	return string(b), err
}

// dataDir is the data folder: --data, $BRANCHLINE_DATA, or the default.
func (g *globals) dataDir(env Env) (string, error) {
	if g.data != "" {
		return g.data, nil
	}
	if d := env.Getenv("BRANCHLINE_DATA"); d != "" {
		return d, nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find a data folder: %w; pass --data DIR", err)
	}
	return filepath.Join(cfg, "Branchline"), nil
}

// open opens the node.
func (c *cmdCtx) open(ctx context.Context, opts node.Options) (*node.Node, error) {
	dir, err := c.dataDir(c.env)
	if err != nil {
		return nil, err
	}
	opts.Now = c.env.Now
	if opts.Passphrase == nil {
		// The credentials file's passphrase, where the machine has no
		// keyring service: from the environment only, never an argument.
		opts.Passphrase = func(context.Context, bool) (string, error) { return c.env.Getenv(vault.EnvPassphrase), nil }
	}
	if c.env.Getenv(node.EnvCredentials) == "file" {
		opts.CredentialsFile = true
	}
	if opts.GoogleClientID == "" {
		opts.GoogleClientID = c.env.Getenv(node.EnvGoogleClientID)
		opts.GoogleClientSecret = c.env.Getenv(node.EnvGoogleClientSecret)
	}
	if opts.Logger == nil {
		opts.Logger = c.env.Logger
	}
	n, err := node.Open(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	c.node = n
	return n, nil
}

func (c *cmdCtx) close() {
	if c.node != nil {
		c.node.Close()
	}
}

func (c *cmdCtx) printJSON(v any) error {
	enc := json.NewEncoder(c.env.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (c *cmdCtx) printf(format string, args ...any) {
	fmt.Fprintf(c.env.Stdout, format, args...)
}

func runApp(ctx context.Context, g *globals, env Env) error {
	if env.RunApp == nil {
		return errors.New("this build has no desktop app; use the commands (branchline help)")
	}
	c := &cmdCtx{globals: g, env: env}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	defer n.Close()
	return env.RunApp(ctx, n)
}

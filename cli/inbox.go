package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/ingest"
	"github.com/branchline/branchline/internal/humanize"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
)

func parseID(s, what string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("%s %q is not a number", what, s)
	}
	return id, nil
}

func runInbox(ctx context.Context, c *cmdCtx) error {
	filter := c.fs.String("filter", models.FilterNeedsResponse, "needs-response, unanswered or all")
	search := c.fs.String("search", "", "full-text search")
	limit := c.fs.Int("limit", 50, "how many messages (1-1000)")
	after := c.fs.String("after", "", "cursor of the last message of the previous page")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	switch *filter {
	case models.FilterNeedsResponse, models.FilterUnanswered, models.FilterAll:
	default:
		return usagef("inbox: --filter must be needs-response, unanswered or all, not %q", *filter)
	}
	if *limit < 1 || *limit > 1000 {
		return usagef("inbox: --limit must be from 1 to 1000, not %d", *limit)
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	items, _, err := n.Desk.Inbox(ctx, models.InboxQuery{Filter: *filter, Search: *search, Limit: *limit, After: *after})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(items)
	}
	if len(items) == 0 {
		c.printf("Nothing here.\n")
		return nil
	}
	now := c.env.Now()
	for _, it := range items {
		flags := []string{}
		if it.Crisis != "" {
			flags = append(flags, "CRISIS:"+it.Crisis)
		}
		if it.NeedsResponse {
			flags = append(flags, "needs-response")
		}
		if it.ReplyState != "" {
			flags = append(flags, "reply:"+it.ReplyState)
		}
		c.printf("%6d  %-5s %-9s %-18.18s %-28s %s\n", it.ID, humanize.Age(now.Sub(it.CreatedAt)), it.Platform, it.Author,
			strings.Join(flags, " "), humanize.Snippet(it.Text, 70))
	}
	return nil
}

// shown is what `show --json` prints.
type shown struct {
	Message      desk.Item      `json:"message"`
	Conversation []desk.Item    `json:"conversation"`
	Replies      []models.Reply `json:"replies"`
}

func runShow(ctx context.Context, c *cmdCtx) error {
	id, err := c.idArg("message ID")
	if err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	it, err := n.Desk.Message(ctx, id)
	if err != nil {
		return err
	}
	rows, err := n.Store.ConversationMessages(ctx, it.ConversationID, 200)
	if err != nil {
		return err
	}
	replies, err := n.Store.Replies(ctx, models.RepliesQuery{MessageID: id})
	if err != nil {
		return err
	}
	out := shown{Message: it, Replies: replies}
	for _, r := range rows {
		out.Conversation = append(out.Conversation, desk.ItemOf(r))
	}
	if c.json {
		return c.printJSON(out)
	}
	c.printf("Message %d on %s %s (%s), %s\n", it.ID, it.Platform, it.Account, it.Kind, it.CreatedAt.Format(time.RFC1123))
	c.printf("From: %s\n", it.Author)
	if it.Rating > 0 {
		c.printf("Rating: %d/5\n", it.Rating)
	}
	c.printf("\n%s\n\n", it.Text)
	c.printf("Status: %s   Needs response: %v   Stage: %s   Department: %s   Sentiment: %+.2f\n",
		it.Status, it.NeedsResponse, it.Stage, it.Department, it.Sentiment)
	if it.Crisis != "" {
		c.printf("CRISIS: %s: escalate\n", it.Crisis)
	}
	c.printf("\nWhy:\n")
	for _, r := range it.Reasons {
		words := ""
		if len(r.Words) > 0 {
			words = fmt.Sprintf(" (%s)", strings.Join(r.Words, ", "))
		}
		c.printf("  %-15s = %-14s rule %s%s\n", r.Field, r.Value, r.Rule, words)
	}
	if len(rows) > 1 {
		c.printf("\nConversation:\n")
		for _, r := range rows {
			arrow := "←"
			if r.Direction == "out" {
				arrow = "→"
			}
			c.printf("  %s %s %s: %s\n", arrow, r.CreatedAt.Format("Jan 2 15:04"), r.AuthorName, humanize.Snippet(r.Text, 90))
		}
	}
	for _, r := range replies {
		c.printf("\nReply %d: %s (attempts %d)\n  %s\n", r.ID, r.State, r.Attempts, humanize.Snippet(r.Text, 200))
		if r.ReviewNote != "" {
			c.printf("  Manager's note: %s\n", r.ReviewNote)
		}
		if r.LastError != "" {
			c.printf("  Last error: %s\n", r.LastError)
		}
	}
	return nil
}

func runImport(ctx context.Context, c *cmdCtx) error {
	var maps mapFlag
	c.fs.Var(&maps, "map", "FIELD=COLUMN: read a field from the export's column of that name (repeatable, or comma-separated)")
	platform := c.fs.String("platform", "", "platform of rows whose file names none (an export of one account)")
	account := c.fs.String("account", "", "account of rows whose file names none")
	kind := c.fs.String("kind", "", "kind of rows whose file names none (comment, dm, mention, review)")
	layout := c.fs.String("time-layout", "", "how the file writes created_at, as a Go time layout (01/02/2006 3:04 PM)")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	opts := ingest.Options{Name: pos[0], Map: maps.m, Platform: *platform, Account: *account, Kind: *kind, TimeLayout: *layout}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	rep, err := n.Desk.ImportWith(ctx, f, opts, nil)
	if c.json {
		if perr := c.printJSON(rep); perr != nil {
			return perr
		}
	} else {
		c.printf("%s: %d new, %d already there, %d rejected.\n", rep.File, rep.Inserted, rep.Duplicates, rep.Rejected)
		for _, e := range rep.Errors {
			fmt.Fprintf(c.env.Stderr, "%s: %v\n", rep.File, e)
		}
		if rep.Rejected > len(rep.Errors) {
			fmt.Fprintf(c.env.Stderr, "%s: … and %d more rejected rows\n", rep.File, rep.Rejected-len(rep.Errors))
		}
	}
	return err
}

func runDismiss(ctx context.Context, c *cmdCtx) error {
	as := c.fs.String("as", "", "staff handle")
	id, err := c.idArg("message ID")
	if err != nil {
		return err
	}
	n, who, err := c.openAs(ctx, *as)
	if err != nil {
		return err
	}
	if err := n.Desk.Dismiss(ctx, id, who); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"id": id, "status": models.StatusDismissed})
	}
	c.printf("Message %d needs no response.\n", id)
	return nil
}

func runPoll(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{})
	if err != nil {
		return err
	}
	rep, err := n.Desk.Poll(ctx, n.Channels)
	if c.json {
		if perr := c.printJSON(map[string]any{"accounts": rep.Accounts, "new": rep.Inserted, "failed": rep.Failed}); perr != nil {
			return perr
		}
	} else {
		c.printf("Polled %d account(s): %d new message(s).\n", rep.Accounts, rep.Inserted)
	}
	return err
}

// staff picks who acts: --as, $BRANCHLINE_STAFF, or the default.
func (c *cmdCtx) staff(ctx context.Context, n *node.Node, as string) (string, error) {
	if as != "" {
		return as, nil
	}
	if s := c.env.Getenv("BRANCHLINE_STAFF"); s != "" {
		return s, nil
	}
	st, err := n.Desk.DefaultStaff(ctx)
	if err != nil {
		return "", err
	}
	return st.Handle, nil
}

// mapFlag collects --map FIELD=COLUMN pairs.
type mapFlag struct{ m map[string]string }

func (f *mapFlag) String() string { return "" }

func (f *mapFlag) Set(v string) error {
	for _, pair := range strings.Split(v, ",") {
		field, column, ok := strings.Cut(pair, "=")
		field, column = strings.TrimSpace(field), strings.TrimSpace(column)
		if !ok || field == "" || column == "" {
			return fmt.Errorf("--map %q: want FIELD=COLUMN, such as text=Review Text", pair)
		}
		if f.m == nil {
			f.m = map[string]string{}
		}
		f.m[field] = column
	}
	return nil
}

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/templates"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/node"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/network"
	"github.com/branchline/branchline/sync/records"
)

func init() {
	commands = append(commands,
		command{"hq", "init --name NAME --bind HOST:PORT [--advertise HOST:PORT] [--preset lan|wan]", "create the brand network with this data folder as headquarters", runHQ},
		command{"invite", "--role store|region --location NAME --region NAME [--expires 72h] [--node-id ID] [--out FILE]", "issue a join code for a new node (headquarters)", runInvite},
		command{"join", "CODE|FILE|- --bind HOST:PORT [--advertise HOST:PORT] [--preset lan|wan] [--timezone TZ]", "join the network with a code from headquarters", runJoin},
		command{"revoke", "NODE [--reason T]", "revoke a node: its later changes are refused everywhere (headquarters)", runRevoke},
		command{"key", "rotate [--use-in 24h] [--retire-in 168h] | status", "rotate the gossip key without downtime (headquarters)", runKey},
		command{"node", "", "run this node headless (gossip, and at a store the outbox and polling) until interrupted", runNode},
		command{"status", "", "this node, the members, the records it holds", runStatus},
		command{"guideline", "export FILE | publish FILE | list", "the brand's guideline packs", runGuideline},
		command{"template", "export FILE | publish FILE | list", "the templates headquarters and regions publish", runTemplate},
		command{"escalate", "MESSAGE_ID --severity low|medium|high|critical --category C --note T [--level region|hq] [--as STAFF] | --store LOCATION …", "escalate a message to the region or headquarters", runEscalate},
		command{"escalation", "list | show ID | raise ID | ack|progress|resolve|reopen ID --note T | comment ID --text T", "escalations and their status", runEscalation},
		command{"crisis", "publish FILE | list | ack ID", "crisis broadcasts (publish: headquarters; ack: stores)", runCrisis},
	)
	slices.SortFunc(commands, func(a, b command) int { return strings.Compare(a.name, b.name) })
}

// openNet opens the node and requires network membership.
func (c *cmdCtx) openNet(ctx context.Context) (*node.Node, *records.Book, error) {
	n, err := c.open(ctx, node.Options{NoDemo: true})
	if err != nil {
		return nil, nil, err
	}
	if n.Net == nil {
		return nil, nil, network.ErrNotMember
	}
	return n, n.Net.Book, nil
}

func runHQ(ctx context.Context, c *cmdCtx) error {
	name := c.fs.String("name", "", "headquarters' name, e.g. \"Copper Kettle HQ\"")
	bind := c.fs.String("bind", "", "host:port to gossip on, e.g. 10.0.0.5:7946")
	advertise := c.fs.String("advertise", "", "host:port the others reach headquarters on, if not the bind address")
	preset := c.fs.String("preset", "lan", "gossip timings: lan (one site or a fast VPN) or wan (over the internet)")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	if pos[0] != "init" || *name == "" || *bind == "" {
		return usagef("hq: usage: branchline hq init --name NAME --bind HOST:PORT [--advertise HOST:PORT] [--preset lan|wan]")
	}
	dir, err := c.dataDir(c.env)
	if err != nil {
		return err
	}
	id, err := network.InitHQ(dir, *name, *bind, *advertise, *preset, c.env.Now())
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]string{"node": id.Cert.NodeID, "data": dir, "bind": *bind})
	}
	c.printf("%s is headquarters of a new network (node %s, gossip on %s).\n", *name, id.Cert.NodeID, *bind)
	c.printf("The root key and the gossip key are in %s, readable by you only: back them up offline.\n", dir)
	c.printf("Next: branchline invite --role store --location NAME --region NAME\n")
	return nil
}

func runInvite(ctx context.Context, c *cmdCtx) error {
	role := c.fs.String("role", "", "store or region")
	location := c.fs.String("location", "", "the store's location")
	region := c.fs.String("region", "", "the region")
	expires := c.fs.Duration("expires", 72*time.Hour, "how long the code works")
	nodeID := c.fs.String("node-id", "", "the new node's ID (default from role and name)")
	out := c.fs.String("out", "", "write the code to this file (mode 0600) instead of printing it")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	if *role != identity.RoleStore && *role != identity.RoleRegion {
		return usagef("invite: --role must be store or region")
	}
	if *expires <= 0 || *expires > 30*24*time.Hour {
		return usagef("invite: --expires must be between 1s and 720h")
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	dir, _ := c.dataDir(c.env)
	code, id, err := network.Invite(ctx, dir, book, network.InviteRequest{Role: *role, Location: *location, Region: *region,
		NodeID: *nodeID, Expires: *expires}, c.env.Now())
	if err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(code+"\n"), 0o600); err != nil {
			return err
		}
	}
	if c.json {
		v := map[string]any{"node": id.Cert.NodeID, "expires": id.Cert.JoinBy}
		if *out == "" {
			v["code"] = code
		} else {
			v["file"] = *out
		}
		return c.printJSON(v)
	}
	if *out == "" {
		c.printf("%s\n", code)
	}
	fmt.Fprintf(c.env.Stderr, "Join code for %s (%s), valid until %s. It is a secret: pass it on in person or through your password manager, never by e-mail or chat.\n",
		id.Cert.NodeID, *role, id.Cert.JoinBy.Local().Format(time.RFC1123))
	return nil
}

func runJoin(ctx context.Context, c *cmdCtx) error {
	bind := c.fs.String("bind", "", "host:port to gossip on")
	advertise := c.fs.String("advertise", "", "host:port the others reach this node on, if not the bind address")
	preset := c.fs.String("preset", "lan", "gossip timings: lan (one site or a fast VPN) or wan (over the internet); the same as headquarters'")
	tz := c.fs.String("timezone", "UTC", "the store's time zone (stores)")
	mgrName := c.fs.String("manager-name", "Store Manager", "the store's first manager (stores)")
	mgrHandle := c.fs.String("manager-handle", "manager", "the first manager's login name (stores)")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	if *bind == "" {
		return usagef("join: --bind HOST:PORT is required")
	}
	code, err := readCode(pos[0], c.env.Stdin)
	if err != nil {
		return err
	}
	dir, err := c.dataDir(c.env)
	if err != nil {
		return err
	}
	id, err := network.Join(dir, code, *bind, *advertise, *preset, c.env.Now())
	if err != nil {
		return err
	}
	if id.Cert.Role == identity.RoleStore {
		store, err := models.Open(ctx, filepath.Join(dir, node.DatabaseFile), models.WithClock(c.env.Now))
		if err != nil {
			return err
		}
		defer store.Close()
		if _, err := store.Location(ctx); errors.Is(err, models.ErrNoLocation) {
			if err := desk.Setup(ctx, store, desk.LocationSetup{Name: id.Cert.Location, Region: id.Cert.Region, TimeZone: *tz,
				Manager: models.Staff{Name: *mgrName, Handle: *mgrHandle}}); err != nil {
				return err
			}
		}
	}
	if c.json {
		return c.printJSON(map[string]string{"node": id.Cert.NodeID, "role": id.Cert.Role, "data": dir})
	}
	c.printf("Joined as %s (%s). Start it with: branchline --data %s node\n", id.Cert.NodeID, id.Cert.Role, dir)
	return nil
}

// readCode reads a join code given as text, a file name, or - for
// standard input.
func readCode(arg string, stdin io.Reader) (string, error) {
	if strings.HasPrefix(arg, identity.CodePrefix) {
		return arg, nil
	}
	var b []byte
	var err error
	if arg == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 64<<10))
	} else {
		b, err = os.ReadFile(arg)
	}
	if err != nil {
		return "", fmt.Errorf("read the join code: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func runRevoke(ctx context.Context, c *cmdCtx) error {
	reason := c.fs.String("reason", "", "why, for the record")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	upTo, err := book.Revoke(ctx, pos[0], *reason)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"node": pos[0], "up_to": upTo})
	}
	c.printf("%s is revoked: its changes after number %d are refused everywhere.\n", pos[0], upTo)
	return nil
}

func runKey(ctx context.Context, c *cmdCtx) error {
	useIn := c.fs.Duration("use-in", 24*time.Hour, "when every node starts encrypting with the new key")
	retireIn := c.fs.Duration("retire-in", 7*24*time.Hour, "when every node drops the old key")
	pos, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "rotate":
		if *useIn < 0 || *retireIn < *useIn {
			return usagef("key rotate: --retire-in (%s) must not come before --use-in (%s)", *retireIn, *useIn)
		}
		key, err := identity.NewGossipKey()
		if err != nil {
			return err
		}
		now := c.env.Now()
		epoch, err := book.RotateKey(ctx, key, now.Add(*useIn), now.Add(*retireIn))
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]any{"epoch": epoch, "use_at": now.Add(*useIn).UTC(), "retire_at": now.Add(*retireIn).UTC()})
		}
		c.printf("Gossip key %d is on its way to every node, sealed for each. They encrypt with it from %s and drop the old key at %s.\n",
			epoch, now.Add(*useIn).Format(time.RFC3339), now.Add(*retireIn).Format(time.RFC3339))
		c.printf("A node offline from now until after %s misses the new key: invite it again.\n", now.Add(*useIn).Format(time.RFC3339))
		return nil
	case "status":
		r, err := book.KeyRotation(ctx)
		if err != nil {
			return err
		}
		if r == nil {
			if c.json {
				return c.printJSON(map[string]any{"epoch": 0})
			}
			c.printf("The gossip key was never rotated.\n")
			return nil
		}
		state := network.KeyState(r, c.env.Now())
		if c.json {
			return c.printJSON(map[string]any{"epoch": r.Epoch, "use_at": r.UseAt, "retire_at": r.RetireAt, "state": state, "sealed_for_this_node": r.Key != nil})
		}
		c.printf("Gossip key %d (%s): in use from %s, old keys dropped at %s.\n", r.Epoch, state,
			r.UseAt.Format(time.RFC3339), r.RetireAt.Format(time.RFC3339))
		if r.Key == nil {
			c.printf("It was not sealed for this node: ask headquarters for a new join code.\n")
		}
		return nil
	}
	return usagef("key: use rotate or status")
}

func runNode(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, err := c.open(ctx, node.Options{NoDemo: network.IsMember(dataDirOrEmpty(c))})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := n.StartWorkers(ctx)
	who := "this node"
	if n.Net != nil {
		who = n.Net.Self.Cert.NodeID
	}
	fmt.Fprintf(c.env.Stderr, "%s is running; stop it with Ctrl-C.\n", who)
	<-ctx.Done()
	<-done
	return nil
}

func dataDirOrEmpty(c *cmdCtx) string {
	d, _ := c.dataDir(c.env)
	return d
}

// statusOut is what `status --json` prints.
type statusOut struct {
	Node    statusNode        `json:"node"`
	Members []statusMember    `json:"members"`
	Records map[string]int    `json:"records"`
	Heads   map[string]uint64 `json:"heads"`
}

type statusNode struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Location string `json:"location"`
	Region   string `json:"region"`
	Running  bool   `json:"running"`
}

type statusMember struct {
	Name     string `json:"name"`
	Address  string `json:"address"`
	Role     string `json:"role"`
	Location string `json:"location"`
	Region   string `json:"region"`
	State    string `json:"state"`
	Head     uint64 `json:"head"`
}

func runStatus(ctx context.Context, c *cmdCtx) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	n, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	self := n.Net.Self.Cert
	out := statusOut{Node: statusNode{Name: self.NodeID, Role: self.Role, Location: self.Location, Region: self.Region},
		Records: map[string]int{}, Members: []statusMember{}}
	live, running := node.ReadMembers(n.Dir, c.env.Now())
	out.Node.Running = running
	dir, err := book.Directory(ctx)
	if err != nil {
		return err
	}
	for _, d := range dir {
		state := "unknown"
		if d.Revoked {
			state = "revoked"
		} else if m, ok := live[d.NodeID]; ok {
			state = m.State
		} else if running {
			state = "not seen"
		}
		out.Members = append(out.Members, statusMember{Name: d.NodeID, Address: d.Address, Role: d.Role, Location: d.Location,
			Region: d.Region, State: state, Head: d.Head})
	}
	counts, err := n.Store.FedCounts(ctx)
	if err != nil {
		return err
	}
	for _, k := range []change.Kind{change.KindGuideline, change.KindTemplate, change.KindEscalation, change.KindKPI, change.KindCrisis} {
		out.Records[k.String()] = counts[uint8(k)]
	}
	if out.Heads, err = n.Store.FedHeads(ctx); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out)
	}
	run := "not running"
	if running {
		run = "running"
	}
	c.printf("%s (%s %s %s), %s\n\nMembers:\n", self.NodeID, self.Role, self.Location, self.Region, run)
	for _, m := range out.Members {
		c.printf("  %-20s %-7s %-22s %-10s %-21s holds %d\n", m.Name, m.Role, m.Location+" "+m.Region, m.State, m.Address, m.Head)
	}
	c.printf("\nRecords: %d guideline, %d template, %d escalation, %d kpi, %d crisis\n", out.Records["guideline"],
		out.Records["template"], out.Records["escalation"], out.Records["kpi"], out.Records["crisis"])
	return nil
}

func runGuideline(ctx context.Context, c *cmdCtx) error {
	pos, err := c.parse(1, 2)
	if err != nil {
		return err
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "list" && len(pos) == 1:
		vs, err := book.Guidelines(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(vs)
		}
		for _, v := range vs {
			cur := ""
			if v.Current {
				cur = " (current)"
			}
			c.printf("%-16s v%-3d %s  %s by %s%s\n", v.ID, v.Version, v.PublishedAt.Local().Format("2006-01-02 15:04"), v.Title, v.Author, cur)
		}
		return nil
	case pos[0] == "export" && len(pos) == 2:
		doc, err := book.CurrentGuideline(ctx, "")
		if err != nil {
			return err
		}
		return os.WriteFile(pos[1], doc, 0o644)
	case pos[0] == "publish" && len(pos) == 2:
		doc, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		p, err := book.PublishGuideline(ctx, doc)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]any{"id": p.ID, "version": p.Version, "title": p.Title})
		}
		c.printf("Published %s version %d.\n", p.ID, p.Version)
		return nil
	}
	return usagef("guideline: usage: branchline guideline export FILE | publish FILE | list")
}

func runTemplate(ctx context.Context, c *cmdCtx) error {
	pos, err := c.parse(1, 2)
	if err != nil {
		return err
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "list" && len(pos) == 1:
		tvs, err := book.Templates(ctx)
		if err != nil {
			return err
		}
		if c.json {
			type row struct {
				ID          string    `json:"id"`
				Name        string    `json:"name"`
				Title       string    `json:"title"`
				Scope       string    `json:"scope"`
				PublishedAt time.Time `json:"published_at"`
				Author      string    `json:"author"`
			}
			out := []row{}
			for _, tv := range tvs {
				out = append(out, row{tv.Key, tv.Template.Name, tv.Template.Title, tv.Scope, tv.PublishedAt, tv.Author})
			}
			return c.printJSON(out)
		}
		for _, tv := range tvs {
			c.printf("%-32s %-14s %s\n", tv.Key, tv.Scope, tv.Template.Title)
		}
		return nil
	case pos[0] == "export" && len(pos) == 2:
		tvs, err := book.Templates(ctx)
		if err != nil {
			return err
		}
		ts := []templates.Template{}
		for _, tv := range tvs {
			ts = append(ts, tv.Template)
		}
		b, _ := json.MarshalIndent(ts, "", "  ")
		return os.WriteFile(pos[1], append(b, '\n'), 0o644)
	case pos[0] == "publish" && len(pos) == 2:
		b, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		ts, err := templates.ParseList(b)
		if err != nil {
			return err
		}
		if err := book.PublishTemplates(ctx, ts); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]int{"published": len(ts)})
		}
		c.printf("Published %d template(s).\n", len(ts))
		return nil
	}
	return usagef("template: usage: branchline template export FILE | publish FILE | list")
}

func runEscalate(ctx context.Context, c *cmdCtx) error {
	severity := c.fs.String("severity", "", "low, medium, high or critical")
	category := c.fs.String("category", "", "e.g. food_safety, legal, press, complaint")
	note := c.fs.String("note", "", "what happened and what you need")
	level := c.fs.String("level", "", "region or hq (default: critical and crises go to hq)")
	storeLoc := c.fs.String("store", "", "the store concerned (regions)")
	as := c.fs.String("as", "", "staff handle of who escalates (stores)")
	pos, err := c.parse(0, 1)
	if err != nil {
		return err
	}
	n, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	in := records.EscalateInput{Location: *storeLoc, Severity: *severity, Category: *category, Note: *note, Level: *level}
	if len(pos) == 1 {
		id, err := parseID(pos[0], "message ID")
		if err != nil {
			return err
		}
		if n.Desk == nil {
			return errors.New("only a store has messages to escalate; a region escalates with --store")
		}
		m, err := n.Desk.Message(ctx, id)
		if err != nil {
			return err
		}
		in.Excerpt, in.Platform, in.Author, in.PostedAt = m.Text, m.Platform, m.Author, m.CreatedAt
		if in.Category == "" {
			in.Category = m.Crisis
		}
	}
	if in.Category == "" {
		in.Category = "other"
	}
	var who string
	if len(pos) == 1 {
		if who, err = c.staff(ctx, n, *as); err != nil {
			return err
		}
	}
	key, err := book.Escalate(ctx, in)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		// The message carries the escalated badge (and the inbox filter).
		id, _ := parseID(pos[0], "message ID")
		level := in.Level
		if v, err := book.Escalation(ctx, key); err == nil {
			level = v.Level // as chosen when none was asked for
		}
		if err := n.Desk.MarkEscalated(ctx, who, id, models.EscalationMark{EscalationID: key, Level: level,
			Severity: in.Severity, Category: in.Category}); err != nil {
			return fmt.Errorf("escalation %s raised, but not marked on message %d: %w", key, id, err)
		}
	}
	if c.json {
		return c.printJSON(map[string]string{"id": key})
	}
	c.printf("%s\n", key)
	return nil
}

func runEscalation(ctx context.Context, c *cmdCtx) error {
	note := c.fs.String("note", "", "a note for the status change")
	text := c.fs.String("text", "", "the comment")
	department := c.fs.String("department", "", "assign to an HQ department: customer_care, pr, legal")
	pos, err := c.parse(1, 2)
	if err != nil {
		return err
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	verb := pos[0]
	if verb == "list" && len(pos) == 1 {
		es, err := book.Escalations(ctx)
		if err != nil {
			return err
		}
		if c.json {
			if es == nil {
				es = []records.EscalationView{}
			}
			return c.printJSON(es)
		}
		for _, e := range es {
			what := "(sealed)"
			if e.Content != nil {
				what = e.Content.Note
			}
			c.printf("%-22s %-8s %-12s %-9s %-13s %s  %s\n", e.ID, e.Severity, e.Category, e.Level, e.Stage, e.Location, what)
		}
		return nil
	}
	if len(pos) != 2 {
		return usagef("escalation: usage: branchline escalation %s", c.usage)
	}
	id := pos[1]
	switch verb {
	case "show":
		e, err := book.Escalation(ctx, id)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(e)
		}
		b, _ := json.MarshalIndent(e, "", "  ")
		c.printf("%s\n", b)
		return nil
	case "raise":
		err = book.RaiseToHQ(ctx, id, *note)
	case "ack":
		err = book.SetStatus(ctx, id, "acknowledged", *note, *department)
	case "progress":
		err = book.SetStatus(ctx, id, "in_progress", *note, *department)
	case "resolve":
		err = book.SetStatus(ctx, id, "resolved", *note, *department)
	case "reopen":
		err = book.SetStatus(ctx, id, "reopen", *note, *department)
	case "comment":
		err = book.Comment(ctx, id, *text)
	default:
		return usagef("escalation: unknown action %q", verb)
	}
	if err != nil {
		return err
	}
	e, err := book.Escalation(ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(e)
	}
	c.printf("%s is %s (level %s).\n", e.ID, e.Stage, e.Level)
	return nil
}

func runCrisis(ctx context.Context, c *cmdCtx) error {
	pos, err := c.parse(1, 2)
	if err != nil {
		return err
	}
	_, book, err := c.openNet(ctx)
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "list" && len(pos) == 1:
		cs, err := book.Crises(ctx)
		if err != nil {
			return err
		}
		if c.json {
			if cs == nil {
				cs = []records.CrisisView{}
			}
			return c.printJSON(cs)
		}
		for _, cr := range cs {
			c.printf("%s  %s  (%d acknowledged)\n  %s\n", cr.ID, cr.Title, len(cr.Acks), cr.Statement)
		}
		return nil
	case pos[0] == "publish" && len(pos) == 2:
		b, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		var cr change.Crisis
		if err := json.Unmarshal(b, &cr); err != nil {
			return fmt.Errorf("%s: %w (fields: title, statement, keywords, regions)", pos[1], err)
		}
		id, err := book.PublishCrisis(ctx, cr)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]string{"id": id})
		}
		c.printf("%s\n", id)
		return nil
	case pos[0] == "ack" && len(pos) == 2:
		if err := book.AckCrisis(ctx, pos[1]); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]string{"id": pos[1], "acked": "true"})
		}
		c.printf("Acknowledged %s.\n", pos[1])
		return nil
	}
	return usagef("crisis: usage: branchline crisis publish FILE | list | ack ID")
}

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end test runs headquarters, a region and two stores as
// separate processes (this test binary, started again as the branchline
// command) gossiping on 127.0.0.1.

const childEnv = "BRANCHLINE_CLI_CHILD"

type proc struct {
	dir  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func bl(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--data", dir}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "BRANCHLINE_LOG=warn")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, errb.String())
	}
	return out.String(), nil
}

func mustBL(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := bl(t, dir, args...)
	if err != nil {
		t.Fatalf("branchline %v: %v", args, err)
	}
	return out
}

func blJSON(t *testing.T, dir string, v any, args ...string) {
	t.Helper()
	out := mustBL(t, dir, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("branchline %v: not JSON: %v\n%s", args, err, out)
	}
}

func startNode(t *testing.T, dir string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--data", dir, "node")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	p := &proc{dir: dir, cmd: cmd, logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) stop() {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		u, err := net.ListenPacket("udp", addr)
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestNetworkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four node processes")
	}
	root := t.TempDir()
	hq, region, s1, s2 := filepath.Join(root, "hq"), filepath.Join(root, "region"), filepath.Join(root, "s1"), filepath.Join(root, "s2")
	mustBL(t, hq, "hq", "init", "--name", "Copper Kettle HQ", "--bind", freePort(t))
	for _, inv := range [][]string{
		{region, "--role", "region", "--region", "PNW"},
		{s1, "--role", "store", "--location", "Riverside", "--region", "PNW"},
		{s2, "--role", "store", "--location", "Harbor", "--region", "Coast"},
	} {
		codeFile := inv[0] + ".code"
		mustBL(t, hq, append([]string{"invite", "--out", codeFile}, inv[1:]...)...)
		mustBL(t, inv[0], "join", codeFile, "--bind", freePort(t))
	}
	// A join code works once per identity in practice: the same code on a
	// second data folder is refused when both run (checked below), and an
	// expired one is refused at once.
	mustBL(t, hq, "invite", "--role", "store", "--location", "Old", "--region", "PNW", "--expires", "1ms", "--out", filepath.Join(root, "old.code"))
	time.Sleep(5 * time.Millisecond)
	if out, err := bl(t, filepath.Join(root, "old"), "join", filepath.Join(root, "old.code"), "--bind", freePort(t)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired code joined: %s %v", out, err)
	}

	nodes := map[string]*proc{}
	for _, d := range []string{hq, region, s1, s2} {
		nodes[d] = startNode(t, d)
	}
	type status struct {
		Members []struct{ Name, State string }
	}
	waitFor(t, "every node to see four live members", func() bool {
		for _, d := range []string{hq, region, s1, s2} {
			var st status
			blJSON(t, d, &st, "status")
			alive := 0
			for _, m := range st.Members {
				if m.State == "alive" {
					alive++
				}
			}
			if alive != 4 {
				return false
			}
		}
		return true
	})

	// Headquarters publishes a pack; every node has it.
	pack := filepath.Join(root, "pack.json")
	if _, err := bl(t, hq, "guideline", "export", pack); err == nil {
		t.Fatal("exported a pack before any was published")
	}
	src, _ := os.ReadFile("../care/guidelines/default-pack.json")
	var doc map[string]any
	json.Unmarshal(src, &doc)
	doc["version"] = 2
	doc["title"] = "Winter edition"
	b, _ := json.Marshal(doc)
	os.WriteFile(pack, b, 0o600)
	mustBL(t, hq, "guideline", "publish", pack)
	for _, d := range []string{region, s1, s2} {
		waitFor(t, d+" to hold pack version 2", func() bool {
			var vs []struct {
				Version int
				Current bool
			}
			blJSON(t, d, &vs, "guideline", "list")
			return len(vs) == 1 && vs[0].Version == 2 && vs[0].Current
		})
	}
	if _, err := bl(t, s1, "guideline", "publish", pack); err == nil {
		t.Fatal("a store published a guideline pack")
	}

	// A store escalates; the region and headquarters read it; the other
	// store cannot.
	msgs := filepath.Join(root, "m.jsonl")
	os.WriteFile(msgs, []byte(`{"platform":"facebook","account":"ck.riverside","id":"c1","author":"Jess","text":"My son got sick after your chicken, calling my lawyer.","created_at":"2026-11-22T09:00:00Z","kind":"comment"}`+"\n"), 0o600)
	mustBL(t, s1, "import", msgs)
	var esc struct{ ID string }
	blJSON(t, s1, &esc, "escalate", "1", "--severity", "critical", "--note", "Food poisoning claim, legal threat.")
	type escView struct {
		ID, Status, Level string
		Readable          bool
		Content           *struct{ Note, Excerpt string }
	}
	for _, d := range []string{region, hq} {
		waitFor(t, d+" to read the escalation", func() bool {
			var es []escView
			blJSON(t, d, &es, "escalation", "list")
			return len(es) == 1 && es[0].Readable && es[0].Content != nil && strings.Contains(es[0].Content.Excerpt, "got sick")
		})
	}
	time.Sleep(time.Second) // s2 has had every chance to receive it
	var none []escView
	blJSON(t, s2, &none, "escalation", "list")
	if len(none) != 0 {
		t.Fatalf("another store sees the escalation: %+v", none)
	}
	if _, err := bl(t, s2, "escalation", "show", esc.ID); err == nil {
		t.Fatal("another store opened the escalation")
	}

	// Headquarters resolves it; the store sees the status.
	mustBL(t, hq, "escalation", "ack", esc.ID, "--note", "Calling the customer.")
	mustBL(t, hq, "escalation", "resolve", esc.ID, "--note", "Handled.")
	waitFor(t, "the store to see it resolved", func() bool {
		var e escView
		blJSON(t, s1, &e, "escalation", "show", esc.ID)
		return e.Status == "resolved"
	})

	// A store that was stopped catches up with what it missed.
	nodes[s2].stop()
	crisis := filepath.Join(root, "crisis.json")
	os.WriteFile(crisis, []byte(`{"title":"Recall","statement":"We are working with our supplier.","keywords":["recall"]}`), 0o600)
	var cr struct{ ID string }
	blJSON(t, hq, &cr, "crisis", "publish", crisis)
	tpls := filepath.Join(root, "t.json")
	os.WriteFile(tpls, []byte(`[{"name":"recall-reply","title":"Recall","body":"Hi {{customer_first_name}}, thank you for asking.\n\n– {{staff_first_name}}, {{location_name}}"}]`), 0o600)
	mustBL(t, hq, "template", "publish", tpls)
	nodes[s2] = startNode(t, s2)
	waitFor(t, "the restarted store to catch up", func() bool {
		var cs []struct{ ID string }
		blJSON(t, s2, &cs, "crisis", "list")
		var ts []struct{ Name string }
		blJSON(t, s2, &ts, "template", "list")
		return len(cs) == 1 && len(ts) == 1 && ts[0].Name == "recall-reply"
	})
	mustBL(t, s2, "crisis", "ack", cr.ID)
	waitFor(t, "headquarters to see the acknowledgement", func() bool {
		var cs []struct{ Acks []struct{ Location string } }
		blJSON(t, hq, &cs, "crisis", "list")
		return len(cs) == 1 && len(cs[0].Acks) == 1 && cs[0].Acks[0].Location == "Harbor"
	})
	// The published template reached the store's desk.
	waitFor(t, "the template in the store's desk", func() bool {
		out, err := bl(t, s2, "templates")
		return err == nil && strings.Contains(out, "recall-reply")
	})

	// A revoked node's new changes are refused everywhere.
	mustBL(t, hq, "revoke", "store-harbor", "--reason", "laptop stolen")
	waitFor(t, "the revocation to reach the store", func() bool {
		_, err := bl(t, s2, "crisis", "ack", cr.ID)
		return err != nil && strings.Contains(err.Error(), "revoked")
	})
}

package vault

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/branchline/branchline/channels"
)

// The kill test runs a loop of writes in a child process (this test
// binary, started again with BRANCHLINE_VAULT_CHILD set to the data
// folder) and kills it with SIGKILL at random moments.

const childEnv = "BRANCHLINE_VAULT_CHILD"

func TestMain(m *testing.M) {
	keyring.MockInit() // no test may reach the machine's real keyring
	if dir := os.Getenv(childEnv); dir != "" {
		if err := writeLoop(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func counterToken(n int) channels.Token {
	return channels.Token{AccessToken: fmt.Sprintf("access-%08d", n), RefreshToken: strings.Repeat("r", n%200)}
}

func counterOf(t channels.Token) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(t.AccessToken, "access-"))
	if err != nil || counterToken(n) != t {
		return 0, fmt.Errorf("token %q is not one the loop wrote", t.AccessToken)
	}
	return n, nil
}

// writeLoop saves ever higher counters, printing each once it is saved,
// until killed.
func writeLoop(dir string) error {
	ctx := context.Background()
	v, err := Open(ctx, dir, WithFileBackend(), withKDF(cheapKDF), WithPassphrase(PassphraseFromEnv(nil)))
	if err != nil {
		return err
	}
	n := 0
	if t, err := v.Token(ctx, riverside); err == nil {
		if n, err = counterOf(t); err != nil {
			return err
		}
	} else if !errors.Is(err, channels.ErrAuth) {
		return err
	}
	for {
		n++
		if err := v.SaveToken(ctx, riverside, counterToken(n)); err != nil {
			return err
		}
		// A second account, so writes also change the file's length.
		if err := v.SaveToken(ctx, harbor, counterToken(n+1)); err != nil {
			return err
		}
		fmt.Printf("SAVED %d\n", n)
	}
}

func TestKillDuringWritesLeavesAReadableFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	dir := t.TempDir()
	t.Setenv(EnvPassphrase, passphrase)
	last, midWrite := 0, 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		target := last + 1 + rand.IntN(40)
		seen := last
		for seen < target && sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "SAVED ")); err == nil {
				seen = n
			}
		}
		if seen < target {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child stopped at %d before %d", round, seen, target)
		}
		// Killed while it is writing the next counters.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if entries, _ := os.ReadDir(dir); slices.ContainsFunc(entries, func(e os.DirEntry) bool {
			return strings.HasSuffix(e.Name(), ".tmp")
		}) {
			midWrite++ // killed between creating the temporary file and renaming it
		}

		v := openFile(t, dir)
		got, err := v.Token(context.Background(), riverside)
		if err != nil {
			t.Fatalf("round %d: after the kill: %v", round, err)
		}
		n, err := counterOf(got)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// Printed counters were saved; the child may have saved more
		// before the kill landed, never fewer.
		if n < seen {
			t.Fatalf("round %d: file holds counter %d; the child had saved %d", round, n, seen)
		}
		other, err := v.Token(context.Background(), harbor)
		if err != nil {
			t.Fatalf("round %d: second account: %v", round, err)
		}
		if m, err := counterOf(other); err != nil || (m != n+1 && m != n) {
			t.Fatalf("round %d: second account holds %d with the first at %d (%v)", round, m, n, err)
		}
		last = n
	}
	t.Logf("%d kills, %d of them left a temporary file behind (killed mid-write); the last counter was %d", rounds, midWrite, last)
}

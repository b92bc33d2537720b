package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/branchline/branchline/channels"
)

// Secrets used throughout: none of them may show anywhere but in a Token
// read back.
const (
	accessSecret  = "EAAGaccessSECRETzq81kd7Lw0"
	refreshSecret = "refreshSECRETmP44xq09Zt"
	passphrase    = "correct horse battery"
)

var (
	riverside = channels.Account{Platform: "facebook", Handle: "ck.riverside", RemoteID: "1234"}
	harbor    = channels.Account{Platform: "mastodon", Handle: "@ck@social.example"}
	secretTok = channels.Token{AccessToken: accessSecret, RefreshToken: refreshSecret, TokenType: "Bearer",
		Expiry: time.Date(2027, 1, 20, 10, 0, 0, 0, time.UTC)}
)

// cheapKDF keeps argon2id fast in tests; the file records its parameters,
// so the format is the same.
var cheapKDF = kdfParams{time: 1, memoryKiB: 64, threads: 1}

func withKDF(p kdfParams) Option { return func(o *options) { o.kdf = p } }

func withBeforeRename(f func() error) Option { return func(o *options) { o.beforeRename = f } }

func staticPass(p string) PassphraseFunc {
	return func(context.Context, bool) (string, error) { return p, nil }
}

// fakeKeyring is an in-memory keyring whose operations can be made to
// fail or to wait.
type fakeKeyring struct {
	mu                     sync.Mutex
	m                      map[string]string
	setErr, getErr, delErr error
	forget                 bool          // Set succeeds but keeps nothing
	wait                   chan struct{} // Get waits for it to close
}

func (k *fakeKeyring) Get(service, user string) (string, error) {
	if k.wait != nil {
		<-k.wait
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.getErr != nil {
		return "", k.getErr
	}
	s, ok := k.m[service+"|"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return s, nil
}

func (k *fakeKeyring) Set(service, user, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.setErr != nil {
		return k.setErr
	}
	if k.forget {
		return nil
	}
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[service+"|"+user] = secret
	return nil
}

func (k *fakeKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.delErr != nil {
		return k.delErr
	}
	if _, ok := k.m[service+"|"+user]; !ok {
		return keyring.ErrNotFound
	}
	delete(k.m, service+"|"+user)
	return nil
}

// brokenKeyring is a keyring service that is not there.
func brokenKeyring() *fakeKeyring {
	err := errors.New("The name org.freedesktop.secrets was not provided by any .service files")
	return &fakeKeyring{setErr: err, getErr: err, delErr: err}
}

// logTo returns a logger writing text into buf.
func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openFile(t *testing.T, dir string, opts ...Option) *Vault {
	t.Helper()
	v, err := Open(context.Background(), dir, append([]Option{WithFileBackend(), withKDF(cheapKDF), WithPassphrase(staticPass(passphrase))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// assertNoSecret fails if s holds any of the test's secrets.
func assertNoSecret(t *testing.T, what string, s string) {
	t.Helper()
	for _, sec := range []string{accessSecret, refreshSecret, passphrase} {
		if strings.Contains(s, sec) {
			t.Errorf("%s shows a secret: %q", what, s)
		}
	}
}

func assertErrorHidesSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoSecret(t, "error printed with "+verb, fmt.Sprintf(verb, err))
	}
}

func TestKeyringRoundTrip(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	var logs bytes.Buffer
	ctx := context.Background()
	v, err := Open(ctx, dir, WithLogger(logTo(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	if v.Backend() != "system keyring (service Branchline)" {
		t.Errorf("Backend() = %q", v.Backend())
	}
	if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), "credentials are kept in the system keyring") {
		t.Errorf("log does not say the keyring is used: %s", logs.String())
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("Open logged %d lines, want 1: %s", n, logs.String())
	}
	if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	raw, err := keyring.Get(Service, v.ID()+"/"+riverside.Key())
	if err != nil {
		t.Fatalf("the secret is not in the keyring under <vault id>/<account key>: %v", err)
	}
	if !strings.Contains(raw, `"access_token":"`+accessSecret+`"`) {
		t.Errorf("keyring entry is not the token's JSON")
	}
	if _, err := keyring.Get(Service, v.ID()+"/probe"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the probe entry was left in the keyring (err %v)", err)
	}

	again, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID() != v.ID() {
		t.Errorf("vault ID changed on reopen: %s, then %s", v.ID(), again.ID())
	}
	got, err := again.Token(ctx, riverside)
	if err != nil {
		t.Fatal(err)
	}
	if got != secretTok {
		t.Errorf("token read back = %#v, differs", got)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a credentials file was made though the keyring works")
	}
	assertNoSecret(t, "log", logs.String())
}

func TestFallsBackToTheFileWithoutAKeyringService(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func() []Option
	}{
		{"zalando mock with error", func() []Option {
			keyring.MockInitWithError(errors.New("dbus: no session bus"))
			return nil
		}},
		{"injected failing keyring", func() []Option { return []Option{WithKeyring(brokenKeyring())} }},
		{"keyring that keeps nothing", func() []Option { return []Option{WithKeyring(&fakeKeyring{forget: true})} }},
		{"keyring whose delete fails", func() []Option {
			return []Option{WithKeyring(&fakeKeyring{delErr: errors.New("locked collection")})}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs bytes.Buffer
			ctx := context.Background()
			asked := 0
			opts := append(tc.setup(), WithLogger(logTo(&logs)), withKDF(cheapKDF),
				WithPassphrase(func(_ context.Context, isNew bool) (string, error) {
					asked++
					if !isNew {
						t.Error("passphrase asked for an existing file; the file is new")
					}
					return passphrase, nil
				}))
			v, err := Open(ctx, dir, opts...)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, FileName)
			if v.Backend() != "encrypted file "+path {
				t.Errorf("Backend() = %q", v.Backend())
			}
			if asked != 1 {
				t.Errorf("passphrase asked %d times, want 1", asked)
			}
			if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), "no system keyring service found") {
				t.Errorf("log does not say why the file is used: %s", logs.String())
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
			}
			if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
				t.Fatal(err)
			}
			if got, err := v.Token(ctx, riverside); err != nil || got != secretTok {
				t.Errorf("Token = %v, %v", got, err)
			}
			assertNoSecret(t, "log", logs.String())
		})
	}
}

func TestFileRoundTripAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	v := openFile(t, dir)
	other := channels.Token{AccessToken: "mastodon-token-1", TokenType: "Bearer"}
	if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	if err := v.SaveToken(ctx, harbor, other); err != nil {
		t.Fatal(err)
	}
	newer := secretTok
	newer.AccessToken += "-refreshed"
	if err := v.SaveToken(ctx, riverside, newer); err != nil {
		t.Fatal(err)
	}

	var isNew []bool
	again := openFile(t, dir, WithPassphrase(func(_ context.Context, n bool) (string, error) {
		isNew = append(isNew, n)
		return passphrase, nil
	}))
	if fmt.Sprint(isNew) != "[false]" {
		t.Errorf("reopening asked for the passphrase with isNew %v, want [false]", isNew)
	}
	for acc, want := range map[channels.Account]channels.Token{riverside: newer, harbor: other} {
		got, err := again.Token(ctx, acc)
		if err != nil {
			t.Fatalf("%s: %v", acc.Key(), err)
		}
		if got != want {
			t.Errorf("%s: token read back differs", acc.Key())
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{accessSecret, refreshSecret, passphrase, "mastodon-token-1", "access_token", "ck.riverside"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the file's bytes contain %q in clear", s)
		}
	}
	if b[offVersion] != fileVersion {
		t.Errorf("version byte %d", b[offVersion])
	}
}

func TestWrongPassphraseLeavesTheFileUntouched(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	v := openFile(t, dir)
	if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	before, _ := os.ReadFile(path)
	_, err := Open(ctx, dir, WithFileBackend(), WithPassphrase(staticPass("correct horse battery!")))
	if !errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrDamaged) {
		t.Fatalf("Open with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	assertErrorHidesSecrets(t, err)
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the file changed after a wrong passphrase")
	}
	if got, err := openFile(t, dir).Token(ctx, riverside); err != nil || got != secretTok {
		t.Errorf("right passphrase after a wrong one: %v, %v", got, err)
	}
}

func TestDamagedFileIsToldApartAndLeftAlone(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	v := openFile(t, dir)
	if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	good, _ := os.ReadFile(path)

	type damage struct {
		name string
		file []byte
	}
	var cases []damage
	for i := range good { // every single byte, header and ciphertext
		b := bytes.Clone(good)
		b[i] ^= 0x01
		cases = append(cases, damage{fmt.Sprintf("bit flipped at byte %d", i), b})
	}
	for _, n := range []int{0, 3, offSum, headerLen, headerLen + 10, len(good) - 1} {
		cases = append(cases, damage{fmt.Sprintf("cut at %d bytes", n), good[:n]})
	}
	cases = append(cases, damage{"a byte appended", append(bytes.Clone(good), 0)})

	for _, tc := range cases {
		if err := os.WriteFile(path, tc.file, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, dir, WithFileBackend(), WithPassphrase(staticPass(passphrase)))
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "credentials file is damaged") {
			t.Errorf("%s: Open = %v, want the damaged error", tc.name, err)
		}
		assertErrorHidesSecrets(t, err)
		if after, _ := os.ReadFile(path); !bytes.Equal(after, tc.file) {
			t.Errorf("%s: Open changed the damaged file", tc.name)
		}
	}

	// A file from a newer Branchline (valid checksum, version 2).
	newer := bytes.Clone(good)
	newer[offVersion] = 2
	sum := sha256Sum(newer[:offSum])
	copy(newer[offSum:], sum)
	os.WriteFile(path, newer, 0o600)
	if _, err := Open(ctx, dir, WithFileBackend(), WithPassphrase(staticPass(passphrase))); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 2 file: %v, want ErrUnsupportedVersion", err)
	}
	// Parameters out of bounds are refused before any derivation.
	huge := bytes.Clone(good)
	huge[offMemory] = 0xff
	copy(huge[offSum:], sha256Sum(huge[:offSum]))
	os.WriteFile(path, huge, 0o600)
	if _, err := Open(ctx, dir, WithFileBackend(), WithPassphrase(staticPass(passphrase))); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "out of bounds") {
		t.Errorf("4 GiB argon2 memory: %v, want damaged, out of bounds", err)
	}
}

func TestSecretsNeverShow(t *testing.T) {
	ctx := context.Background()
	var errs []error
	var logs bytes.Buffer

	// A keyring whose errors quote what they were given.
	leaky := &fakeKeyring{}
	dir := t.TempDir()
	v, err := Open(ctx, dir, WithKeyring(leaky), WithLogger(logTo(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	leaky.setErr = errors.New("cannot store " + fmt.Sprintf("%q", `{"access_token":"`+accessSecret+`","refresh_token":"`+refreshSecret+`"}`))
	err = v.SaveToken(ctx, riverside, secretTok)
	if err == nil {
		t.Fatal("the leaky keyring's failure was not reported")
	}
	errs = append(errs, err)
	big := secretTok
	big.AccessToken = accessSecret + strings.Repeat("x", MaxSecretBytes)
	errs = append(errs, v.SaveToken(ctx, riverside, big))

	fdir := t.TempDir()
	fv := openFile(t, fdir, WithLogger(logTo(&logs)))
	if err := fv.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, fdir, WithFileBackend(), WithPassphrase(staticPass(passphrase+"x")))
	errs = append(errs, err)
	b, _ := os.ReadFile(filepath.Join(fdir, FileName))
	for _, s := range []string{accessSecret, refreshSecret, passphrase} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("file bytes contain a secret")
		}
	}
	b[len(b)-1] ^= 1
	os.WriteFile(filepath.Join(fdir, FileName), b, 0o600)
	_, err = fv.Token(ctx, riverside)
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d gave no error", i)
		}
		assertErrorHidesSecrets(t, err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoSecret(t, "Token printed with "+verb, fmt.Sprintf(verb, secretTok))
		assertNoSecret(t, "*Token printed with "+verb, fmt.Sprintf(verb, &secretTok))
	}
	logTo(&logs).Info("token", "t", secretTok)
	assertNoSecret(t, "log", logs.String())
}

func TestCrashMidWriteKeepsOldOrNew(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	crash := errors.New("simulated crash after the temporary file was written")
	failing := false
	v := openFile(t, dir, withBeforeRename(func() error {
		if failing {
			return crash
		}
		return nil
	}))
	if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	old, _ := os.ReadFile(path)

	failing = true
	newer := secretTok
	newer.AccessToken = "the-new-access-token"
	if err := v.SaveToken(ctx, riverside, newer); !errors.Is(err, crash) {
		t.Fatalf("SaveToken = %v, want the simulated crash", err)
	}
	if cur, _ := os.ReadFile(path); !bytes.Equal(cur, old) {
		t.Error("a failed write changed the file")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if got, err := openFile(t, dir).Token(ctx, riverside); err != nil || got != secretTok {
		t.Errorf("after the failed write: %v, %v; want the old token", got, err)
	}
	failing = false
	if err := v.SaveToken(ctx, riverside, newer); err != nil {
		t.Fatal(err)
	}
	if got, err := openFile(t, dir).Token(ctx, riverside); err != nil || got != newer {
		t.Errorf("after the write: %v, %v; want the new token", got, err)
	}

	// A temporary file left by a process that died is removed at Open.
	stale := filepath.Join(dir, "."+FileName+".12345.tmp")
	os.WriteFile(stale, []byte("half"), 0o600)
	openFile(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale temporary file not removed at Open")
	}
}

func TestDataFoldersDoNotSeeEachOthersSecrets(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(t *testing.T, dir string) *Vault
	}{
		{"keyring", func(t *testing.T, dir string) *Vault {
			v, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}},
		{"file", func(t *testing.T, dir string) *Vault { return openFile(t, dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyring.MockInit() // one keyring shared by both folders
			a, b := tc.open(t, t.TempDir()), tc.open(t, t.TempDir())
			if a.ID() == b.ID() {
				t.Fatal("two data folders got the same vault ID")
			}
			ta, tb := channels.Token{AccessToken: "token-of-folder-a"}, channels.Token{AccessToken: "token-of-folder-b"}
			if err := a.SaveToken(ctx, riverside, ta); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Token(ctx, riverside); !errors.Is(err, channels.ErrAuth) {
				t.Fatalf("folder b sees folder a's token: %v", err)
			}
			if err := b.SaveToken(ctx, riverside, tb); err != nil {
				t.Fatal(err)
			}
			if err := b.Delete(ctx, riverside); err != nil {
				t.Fatal(err)
			}
			if got, err := a.Token(ctx, riverside); err != nil || got != ta {
				t.Errorf("folder a after folder b saved and deleted: %v, %v", got, err)
			}
		})
	}
}

func TestOversizedSecretIsRefused(t *testing.T) {
	ctx := context.Background()
	big := channels.Token{AccessToken: strings.Repeat("a", MaxSecretBytes)}
	for _, tc := range []struct {
		name string
		kr   *fakeKeyring
		file bool
		tok  channels.Token
	}{
		{"keyring, over the bound", &fakeKeyring{}, false, big},
		{"file, over the bound", nil, true, big},
		{"keyring says too big", &fakeKeyring{}, false, secretTok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var v *Vault
			if tc.file {
				v = openFile(t, dir)
			} else {
				var err error
				if v, err = Open(ctx, dir, WithKeyring(tc.kr)); err != nil {
					t.Fatal(err)
				}
				if tc.tok == secretTok {
					tc.kr.setErr = keyring.ErrSetDataTooBig // a macOS entry over ~3,000 bytes
				}
			}
			err := v.SaveToken(ctx, riverside, tc.tok)
			if !errors.Is(err, ErrSecretTooLarge) {
				t.Fatalf("SaveToken = %v, want ErrSecretTooLarge", err)
			}
			if !strings.Contains(err.Error(), "facebook/ck.riverside") || !strings.Contains(err.Error(), "bytes") {
				t.Errorf("error does not say whose token and how big: %v", err)
			}
			assertErrorHidesSecrets(t, err)
			if _, err := v.Token(ctx, riverside); !errors.Is(err, channels.ErrAuth) {
				t.Errorf("after a refused save, Token = %v, want ErrAuth", err)
			}
		})
	}
	// Just under the bound fits.
	fits := channels.Token{AccessToken: strings.Repeat("a", MaxSecretBytes-len(`{"access_token":""}`))}
	v := openFile(t, t.TempDir())
	if err := v.SaveToken(ctx, riverside, fits); err != nil {
		t.Errorf("a secret of exactly %d bytes: %v", MaxSecretBytes, err)
	}
}

func TestDeletedOrMissingTokenIsErrAuth(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *Vault
	}{
		{"keyring", func(t *testing.T) *Vault {
			v, err := Open(ctx, t.TempDir(), WithKeyring(&fakeKeyring{}))
			if err != nil {
				t.Fatal(err)
			}
			return v
		}},
		{"file", func(t *testing.T) *Vault { return openFile(t, t.TempDir()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.open(t)
			_, err := v.Token(ctx, harbor)
			if !errors.Is(err, channels.ErrAuth) || !strings.Contains(err.Error(), "not connected: connect the account in Settings") {
				t.Errorf("never connected: %v", err)
			}
			if err := v.SaveToken(ctx, harbor, secretTok); err != nil {
				t.Fatal(err)
			}
			if err := v.Delete(ctx, harbor); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Token(ctx, harbor); !errors.Is(err, channels.ErrAuth) {
				t.Errorf("after Delete: %v, want ErrAuth", err)
			}
			if err := v.Delete(ctx, harbor); err != nil {
				t.Errorf("deleting twice: %v", err)
			}
			if err := v.SaveToken(ctx, harbor, channels.Token{}); err == nil {
				t.Error("an empty token was saved")
			}
			if _, err := v.Token(ctx, channels.Account{Platform: "facebook"}); err == nil {
				t.Error("an account without a handle was accepted")
			}
		})
	}
}

func TestPassphraseIsRequiredForTheFile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		env  string // "" leaves BRANCHLINE_PASSPHRASE unset
		opts []Option
		want error
	}{
		{"no passphrase source", "", nil, ErrNoPassphrase},
		{"source gives none", "", []Option{WithPassphrase(staticPass(""))}, ErrNoPassphrase},
		{"environment unset", "", []Option{WithPassphrase(PassphraseFromEnv(nil))}, ErrNoPassphrase},
		{"environment set", "from the environment", []Option{WithPassphrase(PassphraseFromEnv(nil))}, nil},
		{"environment unset, prompt", "", []Option{WithPassphrase(PassphraseFromEnv(staticPass("typed at the prompt")))}, nil},
		{"too short", "", []Option{WithPassphrase(staticPass("short"))}, ErrWeakPassphrase},
		{"source fails", "", []Option{WithPassphrase(func(context.Context, bool) (string, error) {
			return "", errors.New("prompt closed")
		})}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(EnvPassphrase, tc.env)
			} else {
				t.Setenv(EnvPassphrase, "")
				os.Unsetenv(EnvPassphrase)
			}
			dir := t.TempDir()
			_, err := Open(ctx, dir, append([]Option{WithKeyring(brokenKeyring()), withKDF(cheapKDF)}, tc.opts...)...)
			switch {
			case tc.name == "source fails":
				if err == nil || !strings.Contains(err.Error(), "prompt closed") {
					t.Errorf("Open = %v, want the prompt's error", err)
				}
			case tc.want == nil && err != nil:
				t.Errorf("Open = %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("Open = %v, want %v", err, tc.want)
			}
			if tc.want == ErrNoPassphrase && err != nil && !strings.Contains(err.Error(), EnvPassphrase) {
				t.Errorf("the error does not say what to do: %v", err)
			}
			if err != nil {
				if _, serr := os.Stat(filepath.Join(dir, StateName)); !errors.Is(serr, os.ErrNotExist) {
					t.Error("a failed Open recorded a backend for the folder")
				}
			}
		})
	}
}

func TestKeyringFolderDoesNotSwitchToAFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kr := &fakeKeyring{}
	v, err := Open(ctx, dir, WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SaveToken(ctx, riverside, secretTok); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, WithKeyring(brokenKeyring()), WithPassphrase(staticPass(passphrase)))
	if !errors.Is(err, ErrKeyringUnavailable) {
		t.Errorf("keyring gone: %v, want ErrKeyringUnavailable", err)
	}
	if _, err := Open(ctx, dir, WithKeyring(kr), WithFileBackend(), WithPassphrase(staticPass(passphrase))); err == nil {
		t.Error("a keyring folder was switched to a file")
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a credentials file was made for a keyring folder")
	}
	// And a file folder stays on the file even when a keyring appears.
	fdir := t.TempDir()
	openFile(t, fdir)
	fv, err := Open(ctx, fdir, WithKeyring(&fakeKeyring{}), withKDF(cheapKDF), WithPassphrase(staticPass(passphrase)))
	if err != nil || !strings.HasPrefix(fv.Backend(), "encrypted file") {
		t.Errorf("file folder with a keyring now: %v, %v", fv, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Two vaults on one folder stand for two processes: each write is a
	// read-modify-write of the file under the lock file, so none is lost.
	vaults := []*Vault{openFile(t, dir), openFile(t, dir)}
	const perWorker = 8
	var wg sync.WaitGroup
	errc := make(chan error, 4*perWorker*2)
	for w := range 4 {
		wg.Go(func() {
			v := vaults[w%2]
			for i := range perWorker {
				acc := channels.Account{Platform: "facebook", Handle: fmt.Sprintf("store-%d-%d", w, i)}
				if err := v.SaveToken(ctx, acc, channels.Token{AccessToken: "t-" + acc.Handle}); err != nil {
					errc <- err
				}
				if _, err := v.Token(ctx, acc); err != nil {
					errc <- err
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	check := openFile(t, dir)
	for w := range 4 {
		for i := range perWorker {
			acc := channels.Account{Platform: "facebook", Handle: fmt.Sprintf("store-%d-%d", w, i)}
			if got, err := check.Token(ctx, acc); err != nil || got.AccessToken != "t-"+acc.Handle {
				t.Errorf("%s lost: %v, %v", acc.Key(), got, err)
			}
		}
	}
}

func TestKeyringThatDoesNotAnswerHonoursTheContext(t *testing.T) {
	kr := &fakeKeyring{}
	v, err := Open(context.Background(), t.TempDir(), WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	kr.wait = make(chan struct{}) // waiting for the user to unlock it
	defer close(kr.wait)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Token(ctx, riverside); !errors.Is(err, context.Canceled) {
		t.Errorf("Token with a cancelled context = %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := v.Token(ctx, riverside); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Token past its deadline = %v", err)
	}
}

func TestProbeLeavesNothingBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		kr   *fakeKeyring
		file bool
	}{
		{"working keyring", &fakeKeyring{}, false},
		{"keyring that cannot read back", &fakeKeyring{getErr: errors.New("collection is locked")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Open(context.Background(), t.TempDir(), WithKeyring(tc.kr), withKDF(cheapKDF), WithPassphrase(staticPass(passphrase)))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.HasPrefix(v.Backend(), "encrypted file"); got != tc.file {
				t.Errorf("Backend() = %q", v.Backend())
			}
			if len(tc.kr.m) != 0 {
				t.Errorf("the probe left %v in the keyring", tc.kr.m)
			}
		})
	}
}

package vault

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// The credentials file, version 1, is a header followed by the secrets
// sealed with XChaCha20-Poly1305, the whole header being the additional
// authenticated data:
//
//	offset  size  content
//	0       7     magic "BLVAULT"
//	7       1     format version (1)
//	8       16    argon2id salt
//	24      4     argon2id time (passes), big-endian
//	28      4     argon2id memory in KiB, big-endian
//	32      1     argon2id threads
//	33      32    passphrase check: HKDF-SHA256(argon2id key, "…passphrase check")
//	65      24    XChaCha20-Poly1305 nonce, fresh on every write
//	89      32    SHA-256 of bytes 0–88, so damage to the header is told
//	              apart from a wrong passphrase
//	121     …     ciphertext of {"secrets":{"<account key>":<token JSON>}} and its 16-byte tag
//
// The encryption key is HKDF-SHA256(argon2id key, "…encryption key").
const (
	fileVersion = 1
	fileMagic   = "BLVAULT"
	saltLen     = 16
	checkLen    = 32
	offVersion  = len(fileMagic)
	offSalt     = offVersion + 1
	offTime     = offSalt + saltLen
	offMemory   = offTime + 4
	offThreads  = offMemory + 4
	offCheck    = offThreads + 1
	offNonce    = offCheck + checkLen
	offSum      = offNonce + chacha20poly1305.NonceSizeX
	headerLen   = offSum + sha256.Size
)

// kdfParams are argon2id's cost parameters.
type kdfParams struct {
	time      uint32
	memoryKiB uint32
	threads   uint8
}

// defaultKDF follows RFC 9106's second recommended option (64 MiB, three
// passes); four lanes.
var defaultKDF = kdfParams{time: 3, memoryKiB: 64 << 10, threads: 4}

// Bounds on the parameters a file may name, so a damaged or hostile
// header cannot make Open run for hours or take all memory.
const (
	maxKDFTime      = 16
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	maxKDFThreads   = 64
)

func (p kdfParams) valid() bool {
	return p.time >= 1 && p.time <= maxKDFTime && p.threads >= 1 && p.threads <= maxKDFThreads &&
		p.memoryKiB >= 8*uint32(p.threads) && p.memoryKiB <= maxKDFMemoryKiB
}

// fileKey is the key derived from the passphrase for one salt and set of
// parameters.
type fileKey struct {
	salt   [saltLen]byte
	params kdfParams
	check  [checkLen]byte
	aead   cipher.AEAD
}

func deriveKey(pass string, salt [saltLen]byte, p kdfParams) (*fileKey, error) {
	pb := []byte(pass)
	defer clear(pb)
	master := argon2.IDKey(pb, salt[:], p.time, p.memoryKiB, p.threads, 32)
	defer clear(master)
	enc, err := hkdf.Expand(sha256.New, master, "branchline credentials file: encryption key", chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive the file key: %w", err)
	}
	defer clear(enc)
	check, err := hkdf.Expand(sha256.New, master, "branchline credentials file: passphrase check", checkLen)
	if err != nil {
		return nil, fmt.Errorf("derive the file key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(enc)
	if err != nil {
		return nil, fmt.Errorf("derive the file key: %w", err)
	}
	k := &fileKey{salt: salt, params: p, aead: aead}
	copy(k.check[:], check)
	return k, nil
}

// header is a parsed file header.
type header struct {
	salt   [saltLen]byte
	params kdfParams
	check  [checkLen]byte
	nonce  [chacha20poly1305.NonceSizeX]byte
}

// content is the plaintext of the file.
type content struct {
	Secrets map[string]json.RawMessage `json:"secrets"`
}

// fileStore keeps every secret in one encrypted file. Every operation
// holds the data folder's lock file and reads the file afresh, so two
// processes on one folder never lose each other's writes.
type fileStore struct {
	dir, path    string
	pass         PassphraseFunc
	kdf          kdfParams // for a new file
	beforeRename func() error
	key          *fileKey // set by open
}

// open creates the file (asking for a new passphrase) or checks that the
// passphrase opens it. The caller holds the lock.
func (s *fileStore) open(ctx context.Context) error {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		pass, err := s.passphrase(ctx, true)
		if err != nil {
			return err
		}
		if len(pass) < MinPassphraseLen {
			return fmt.Errorf("create %s: %w: choose one of at least %d characters", s.path, ErrWeakPassphrase, MinPassphraseLen)
		}
		var salt [saltLen]byte
		rand.Read(salt[:])
		if s.key, err = deriveKey(pass, salt, s.kdf); err != nil {
			return err
		}
		return s.write(map[string]json.RawMessage{})
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	m, err := s.decode(ctx, b)
	wipe(m)
	return err
}

func (s *fileStore) passphrase(ctx context.Context, isNew bool) (string, error) {
	if s.pass == nil {
		return "", ErrNoPassphrase
	}
	p, err := s.pass(ctx, isNew)
	if err != nil {
		return "", fmt.Errorf("ask for the passphrase of %s: %w", s.path, err)
	}
	if p == "" {
		return "", ErrNoPassphrase
	}
	return p, nil
}

func (s *fileStore) get(ctx context.Context, key string) ([]byte, bool, error) {
	unlock, err := lock(ctx, s.dir)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	m, err := s.load(ctx)
	defer wipe(m)
	if err != nil {
		return nil, false, err
	}
	v, ok := m[key]
	return bytes.Clone(v), ok, nil
}

func (s *fileStore) set(ctx context.Context, key string, secret []byte) error {
	unlock, err := lock(ctx, s.dir)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.load(ctx)
	defer wipe(m)
	if err != nil {
		return err
	}
	m[key] = bytes.Clone(secret)
	return s.write(m)
}

func (s *fileStore) del(ctx context.Context, key string) error {
	unlock, err := lock(ctx, s.dir)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.load(ctx)
	defer wipe(m)
	if err != nil {
		return err
	}
	if _, ok := m[key]; !ok {
		return nil
	}
	delete(m, key)
	return s.write(m)
}

// load reads the secrets; a file deleted since Open holds none (the next
// write makes it again with the same passphrase).
func (s *fileStore) load(ctx context.Context) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	return s.decode(ctx, b)
}

// decode checks and decrypts the file's bytes. A file made with another
// salt (replaced by another process) asks for the passphrase again.
func (s *fileStore) decode(ctx context.Context, b []byte) (map[string]json.RawMessage, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	k := s.key
	if k == nil || k.salt != h.salt || k.params != h.params {
		pass, err := s.passphrase(ctx, false)
		if err != nil {
			return nil, err
		}
		if k, err = deriveKey(pass, h.salt, h.params); err != nil {
			return nil, err
		}
	}
	if subtle.ConstantTimeCompare(k.check[:], h.check[:]) != 1 {
		return nil, fmt.Errorf("open %s: %w", s.path, ErrWrongPassphrase)
	}
	plain, err := k.aead.Open(nil, h.nonce[:], b[headerLen:], b[:headerLen])
	if err != nil {
		return nil, damaged(s.path, "its content does not match its authentication tag")
	}
	defer clear(plain)
	var c content
	if err := json.Unmarshal(plain, &c); err != nil || c.Secrets == nil {
		return nil, damaged(s.path, "its content is not the expected JSON")
	}
	s.key = k
	return c.Secrets, nil
}

func damaged(path, why string) error {
	return fmt.Errorf("read %s: %w: %s; restore it from a backup, or delete it and connect the accounts again", path, ErrDamaged, why)
}

func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < len(fileMagic) || string(b[:len(fileMagic)]) != fileMagic {
		return h, fmt.Errorf("%w: not a Branchline credentials file", ErrDamaged)
	}
	if len(b) < headerLen+chacha20poly1305.Overhead {
		return h, fmt.Errorf("%w: cut short at %d bytes", ErrDamaged, len(b))
	}
	sum := sha256.Sum256(b[:offSum])
	if subtle.ConstantTimeCompare(sum[:], b[offSum:headerLen]) != 1 {
		return h, fmt.Errorf("%w: its header checksum does not match", ErrDamaged)
	}
	if v := b[offVersion]; v != fileVersion {
		return h, fmt.Errorf("%w: version %d, this Branchline reads version %d: use a newer Branchline", ErrUnsupportedVersion, v, fileVersion)
	}
	copy(h.salt[:], b[offSalt:])
	h.params = kdfParams{
		time:      binary.BigEndian.Uint32(b[offTime:]),
		memoryKiB: binary.BigEndian.Uint32(b[offMemory:]),
		threads:   b[offThreads],
	}
	if !h.params.valid() {
		return h, fmt.Errorf("%w: its key derivation parameters (time %d, memory %d KiB, threads %d) are out of bounds",
			ErrDamaged, h.params.time, h.params.memoryKiB, h.params.threads)
	}
	copy(h.check[:], b[offCheck:])
	copy(h.nonce[:], b[offNonce:])
	return h, nil
}

// write encrypts the secrets with a fresh nonce and replaces the file
// atomically.
func (s *fileStore) write(m map[string]json.RawMessage) error {
	plain, err := json.Marshal(content{Secrets: m})
	if err != nil {
		return fmt.Errorf("write %s: encode: %w", s.path, err) // RawMessages were checked on the way in; no secret in this error
	}
	defer clear(plain)
	k := s.key
	hdr := make([]byte, headerLen, headerLen+len(plain)+chacha20poly1305.Overhead)
	copy(hdr, fileMagic)
	hdr[offVersion] = fileVersion
	copy(hdr[offSalt:], k.salt[:])
	binary.BigEndian.PutUint32(hdr[offTime:], k.params.time)
	binary.BigEndian.PutUint32(hdr[offMemory:], k.params.memoryKiB)
	hdr[offThreads] = k.params.threads
	copy(hdr[offCheck:], k.check[:])
	nonce := hdr[offNonce:offSum]
	rand.Read(nonce)
	sum := sha256.Sum256(hdr[:offSum])
	copy(hdr[offSum:], sum[:])
	sealed := k.aead.Seal(nil, nonce, plain, hdr) // the AAD may not overlap dst
	return writeFileAtomic(s.path, append(hdr, sealed...), s.beforeRename)
}

// wipe zeroes the secrets of a loaded file once they are no longer needed.
func wipe(m map[string]json.RawMessage) {
	for _, v := range m {
		clear(v)
	}
}

// writeFileAtomic replaces path with data (mode 0600): a temporary file in
// the same folder is written and synced, renamed over path, and the folder
// synced, so a crash leaves the old file or the new one, never a mix.
func writeFileAtomic(path string, data []byte, beforeRename func() error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if beforeRename != nil {
		if err = beforeRename(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write %s: the file is replaced, but syncing its folder failed: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot sync a folder;
// its renames are journaled by NTFS.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeStaleTemps removes temporary files left by a writer that crashed.
// The caller holds the lock, so no live writer owns one.
func removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		for _, base := range []string{FileName, StateName} {
			if strings.HasPrefix(name, "."+base+".") && strings.HasSuffix(name, ".tmp") {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
}

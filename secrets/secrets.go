// Package secrets keeps the installation's secrets from drifting: a secret
// the configuration does not give is generated once and stored in the
// database (sealed under the key of --secret-key-file when there is one), so
// that restarts, other nodes and `intercomd copy` sign with the same; and a
// keyed hash of every secret a node uses is stored the first time, so that a
// node given another one refuses to start, naming it, rather than signing
// what the others cannot verify. The database never holds a configured
// secret, only its check.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"intercom"
)

// Store keeps named values; the first value put under a name stays.
type Store interface {
	// KeepSecret stores value under name unless a value is stored there
	// already, and returns the value stored: of concurrent first calls, on
	// every node, one value wins and each caller gets it.
	KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error)
	// StoredSecret returns the value stored under name, writing nothing; an
	// error of code ENOTFOUND (intercom.ErrorCode) when there is none.
	StoredSecret(ctx context.Context, name string) ([]byte, error)
}

// A Box seals generated secrets before they are stored, under a key from
// --secret-key-file; a Box without a key, or a nil one, stores them as they
// are.
type Box struct {
	aead cipher.AEAD // nil: no key
}

// MinKeyFile is the shortest key file NewBox takes, in bytes.
const MinKeyFile = 32

// NewBox makes a Box sealing under the contents of a key file (nil: none).
// A key file holds at least 32 bytes, e.g. `openssl rand -base64 32`; its
// SHA-256 is the AES-256-GCM key.
func NewBox(keyFile []byte) (*Box, error) {
	if keyFile == nil {
		return &Box{}, nil
	}
	if len(strings.TrimSpace(string(keyFile))) < MinKeyFile {
		return nil, fmt.Errorf("the secret key file holds %d bytes: it must hold at least %d (make one with `openssl rand -base64 32`)",
			len(strings.TrimSpace(string(keyFile))), MinKeyFile)
	}
	key := sha256.Sum256([]byte(strings.TrimSpace(string(keyFile))))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Sealed reports whether the box has a key.
func (b *Box) Sealed() bool { return b != nil && b.aead != nil }

const (
	plainPrefix  = "plain:"
	sealedPrefix = "aes256gcm:"
)

// Seal is the stored form of value: sealed when the box has a key, with
// name as additional data (a value moved under another name does not open),
// else plain.
func (b *Box) Seal(name string, value []byte) ([]byte, error) {
	if !b.Sealed() {
		return append([]byte(plainPrefix), value...), nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(append([]byte(sealedPrefix), nonce...), nonce, value, []byte(name)), nil
}

// PlainPrefix and SealedPrefix begin the stored forms of a value unsealed
// and sealed: a store may look for them (intercom.Store's
// IntercomsByControlKey).
var (
	PlainPrefix  = []byte(plainPrefix)
	SealedPrefix = []byte(sealedPrefix)
)

// IsPlain reports whether stored is a value stored unsealed.
func IsPlain(stored []byte) bool { return strings.HasPrefix(string(stored), plainPrefix) }

// ControlKey is the name intercoms' control keys are sealed under.
const ControlKey = "control-key"

// ErrNeedKey is the error of a sealed secret and no key to open it.
var ErrNeedKey = errors.New("is sealed in the database: give --secret-key-file with the key it was sealed under")

// Open reads a value Seal stored under name. Its errors complete a
// sentence that names what was stored.
func (b *Box) Open(name string, stored []byte) ([]byte, error) {
	switch s := string(stored); {
	case strings.HasPrefix(s, plainPrefix):
		return stored[len(plainPrefix):], nil
	case strings.HasPrefix(s, sealedPrefix):
		if !b.Sealed() {
			return nil, ErrNeedKey
		}
		rest := stored[len(sealedPrefix):]
		if len(rest) < b.aead.NonceSize() {
			return nil, errors.New("is damaged in the database")
		}
		plain, err := b.aead.Open(nil, rest[:b.aead.NonceSize()], rest[b.aead.NonceSize():], []byte(name))
		if err != nil {
			return nil, errors.New("does not open with the secret key file: it was sealed under another key (give --secret-key-file with that one)")
		}
		return plain, nil
	}
	return nil, errors.New("is stored in a form this intercomd does not know")
}

// keyCheck names the value that tells a key from another: a constant sealed
// under the key the database was first used with.
const keyCheck = "check:secret-key"

// ErrOtherKey is CheckKey's error.
var ErrOtherKey = errors.New("the database's secrets and control keys are sealed under another secret key: " +
	"give --secret-key-file with the key it was used with (on SQLite, the .key file that was beside the database)")

// ProbeKey refuses, writing nothing, a box that cannot open what the store
// already holds sealed: the key check (CheckKey) and the generated secrets
// of flags. A start runs it before anything is sealed under its key, so that
// a start with another key seals nothing the right key could not open.
func ProbeKey(ctx context.Context, store Store, box *Box, flags ...string) error {
	names := []string{keyCheck}
	for _, f := range flags {
		names = append(names, "secret:"+f)
	}
	for _, name := range names {
		stored, err := store.StoredSecret(ctx, name)
		if intercom.ErrorCode(err) == intercom.ENOTFOUND {
			continue
		} else if err != nil {
			return fmt.Errorf("checking the secret key: %w", err)
		}
		if IsPlain(stored) {
			continue
		}
		if _, err := box.Open(name, stored); err != nil {
			if errors.Is(err, ErrNeedKey) {
				return fmt.Errorf("the stored %s %w", strings.TrimPrefix(name, "secret:"), err)
			}
			return ErrOtherKey
		}
	}
	return nil
}

// CheckKey refuses a box whose key is not the one the store's sealed values
// were sealed under: the first sealed box to ask stores a constant sealed
// under its key, which every later box must open. Without it a start with
// another key (a lost key file made anew, a backup restored without its
// key) would serve with control keys it cannot open. Nothing to check
// without a key.
func CheckKey(ctx context.Context, store Store, box *Box) error {
	if !box.Sealed() {
		return nil
	}
	fresh, err := box.Seal(keyCheck, []byte("intercomd secret key check v1"))
	if err != nil {
		return err
	}
	stored, err := store.KeepSecret(ctx, keyCheck, fresh)
	if err != nil {
		return fmt.Errorf("checking the secret key: %w", err)
	}
	if _, err := box.Open(keyCheck, stored); err != nil {
		return ErrOtherKey
	}
	return nil
}

// Check is the keyed hash of secret stored to compare nodes' secrets: the
// secret keys it, so it reveals nothing of it.
func Check(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("intercomd secret check v1"))
	return m.Sum(nil)
}

// Secret is one secret a node uses, named by its flag.
type Secret struct {
	Flag string // e.g. "sip-secret"
	// Value is the configured secret, "" when none was given; Resolve sets
	// the one to use.
	Value string
	// Generate makes one when none is configured (a secret the service
	// cannot do without); otherwise an unset secret turns its feature off.
	Generate bool
}

// Generated says which secrets Resolve generated or read from the store.
type Generated map[string]bool

// Resolve settles each secret against the store: a configured one must
// match the check stored for it (stored when there is none yet); one not
// configured but needed is the stored one, generated and stored (sealed by
// box) the first time. An error names the flag and says what to do.
func Resolve(ctx context.Context, store Store, box *Box, list []*Secret) (Generated, error) {
	gen := Generated{}
	for _, s := range list {
		if s.Value == "" && !s.Generate {
			continue
		}
		if s.Value == "" {
			fresh, err := box.Seal("secret:"+s.Flag, []byte(rand.Text()))
			if err != nil {
				return nil, err
			}
			stored, err := store.KeepSecret(ctx, "secret:"+s.Flag, fresh)
			if err != nil {
				return nil, fmt.Errorf("the stored --%s: %w", s.Flag, err)
			}
			value, err := box.Open("secret:"+s.Flag, stored)
			if err != nil {
				return nil, fmt.Errorf("the stored --%s %w", s.Flag, err)
			}
			s.Value = string(value)
			gen[s.Flag] = true
		}
		check := Check(s.Value)
		stored, err := store.KeepSecret(ctx, "check:"+s.Flag, check)
		if err != nil {
			return nil, fmt.Errorf("checking --%s: %w", s.Flag, err)
		}
		if !hmac.Equal(stored, check) {
			if gen[s.Flag] {
				return nil, fmt.Errorf("--%s: the database's nodes were given one and this node was not: give it the same --%s (or --%s-file)",
					s.Flag, s.Flag, s.Flag)
			}
			return nil, fmt.Errorf("--%s differs from the one this database was used with (its other nodes, or earlier starts): "+
				"give every node the same --%s; changing it would break what was signed with it", s.Flag, s.Flag)
		}
	}
	return gen, nil
}

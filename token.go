package intercom

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// TokenLen is the length of an access token secret: 32 random bytes in
// unpadded base64url.
const TokenLen = 43

// NewAccessToken makes a session for device uuid of account userID: the
// secret to hand to the app once, and the token to store, which holds only
// the secret's hash.
func NewAccessToken(userID int64, uuid, client string, now time.Time, ttl time.Duration) (string, AccessToken) {
	b := make([]byte, 32)
	rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	id := make([]byte, 20)
	rand.Read(id)
	return secret, AccessToken{
		PublicID: hex.EncodeToString(id), Hash: HashToken(secret), UserID: userID, DeviceUUID: uuid, Client: client,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
}

// HashToken is what is stored for a token secret.
func HashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// IntercomKeys are the keys of an intercom's secret: the control key that
// signs the commands to its control URL (SHA-256 of the secret, which the
// panel derives from the secret it was given), and the hash that finds the
// intercom by its secret (SHA-256 of the control key). The hash alone, all
// that a database holds in the clear, neither opens the panel's API nor
// signs a command.
func IntercomKeys(secret string) (hash, controlKey []byte) {
	controlKey = HashToken(secret)
	sum := sha256.Sum256(controlKey)
	return sum[:], controlKey
}

// IntercomSecretHash is the hash that finds an intercom by its secret.
func IntercomSecretHash(secret string) []byte {
	hash, _ := IntercomKeys(secret)
	return hash
}

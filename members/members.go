// Package members owns the account side, as package calls owns the call:
// accounts and their logins (with the login throttle), sessions,
// memberships, pairing with a panel and the choice of a flat, visitor codes
// and the panel's access checks (with the code-guessing throttle).
// Transports (the HTTP API) call one method each.
//
// Its decisions are pure functions of package intercom (DecidePairing,
// CheckFlat, DecideKey, DecideCode) run by the store inside its
// transactions; the account events it sends come from what the store
// returned, never from a second read.
package members

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"intercom"
	"intercom/password"
	"intercom/wire"
)

// The defaults of the account side, each written here only.
const (
	// DefaultTokenTTL is the lifetime of an access token.
	DefaultTokenTTL = 2160 * time.Hour
	// DefaultLoginMax failed logins are allowed per login and per address
	// in DefaultLoginWindow.
	DefaultLoginMax    = 10
	DefaultLoginWindow = 15 * time.Minute
	// GuessMax wrong codes typed at a panel (pairing codes, visitor codes)
	// are allowed per intercom in GuessWindow, on every node.
	GuessMax    = 10
	GuessWindow = 5 * time.Minute
)

// Calls is what the account side needs of the call lifecycle
// (calls.Service): the way to an account's sockets, and whether an intercom
// is online, for the intercom objects its events carry.
type Calls interface {
	// ToAccount publishes a notification to every socket of an account but
	// exceptSocket; fields is called only when someone listens.
	ToAccount(userID int64, typ string, fields func() map[string]any, exceptSocket string)
	// Online reports whether an intercom is online now.
	Online(ic intercom.Intercom) bool
}

// PairingConfig sets the pairing and visitor codes (issue 11); zero values
// take the domain's defaults.
type PairingConfig struct {
	CodeLength        int           // digits of a pairing code
	CodeTTL           time.Duration // lifetime of a pairing code
	FlatChoiceTTL     time.Duration // how long a key_confirmed pairing waits for its flat
	VisitorCodeLength int           // digits of a visitor code
	MaxVisitorCodes   int           // live visitor codes per account
}

// DefaultPairing is the PairingConfig of the domain's defaults.
var DefaultPairing = PairingConfig{CodeLength: intercom.DefaultPairingCodeLength, CodeTTL: intercom.DefaultPairingCodeTTL,
	FlatChoiceTTL: intercom.DefaultFlatChoiceTTL, VisitorCodeLength: intercom.DefaultVisitorCodeLength,
	MaxVisitorCodes: intercom.DefaultMaxVisitorCodes}

func (c *PairingConfig) defaults() {
	if c.CodeLength <= 0 {
		c.CodeLength = DefaultPairing.CodeLength
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = DefaultPairing.CodeTTL
	}
	if c.FlatChoiceTTL <= 0 {
		c.FlatChoiceTTL = DefaultPairing.FlatChoiceTTL
	}
	if c.VisitorCodeLength <= 0 {
		c.VisitorCodeLength = DefaultPairing.VisitorCodeLength
	}
	if c.MaxVisitorCodes <= 0 {
		c.MaxVisitorCodes = DefaultPairing.MaxVisitorCodes
	}
}

// Store is what the account side keeps: the accounts, the intercoms they
// are members of, pairings and access.
type Store interface {
	intercom.Accounts
	intercom.Intercoms
	intercom.Pairings
	intercom.Access
}

// Config is what a Service needs; every seam is required.
type Config struct {
	Store    Store
	Calls    Calls
	Sessions intercom.Sessions // closes the sockets of tokens and accounts that ended
	Logins   intercom.Limiter  // failed logins per login and per address
	Guesses  intercom.Limiter  // wrong codes at panels per intercom
	Hashing  *password.Limiter // bounds the password hashes running at once
	Clock    intercom.Clock    // nil: the system clock
	TokenTTL time.Duration     // zero: DefaultTokenTTL
	Pairing  PairingConfig
	// Broadcaster and Presence reach a session's sockets and tell whether
	// one is open, on any node.
	Broadcaster intercom.Broadcaster
	Presence    intercom.Presence
	// SessionsLimit is the most live sessions an account may hold; a login
	// beyond it is refused (SessionsLimit) until it ends one. 0: no limit.
	SessionsLimit int
	// KeySecret signs the keys of refused logins; every node must share it.
	KeySecret []byte
	KeyTTL    time.Duration // zero: DefaultSessionKeyTTL
	UseEvery  time.Duration // zero: DefaultUseEvery
	// Languages an account may choose; nil: intercom.DefaultLanguages.
	Languages []string
	// LoginMax is the throttle's allowance of failed logins (shown in a
	// refusal at the session limit); zero: DefaultLoginMax.
	LoginMax int
	Logger   *slog.Logger // nil: nothing is logged
}

// Service runs the account side.
type Service struct {
	store    Store
	calls    Calls
	sessions intercom.Sessions
	logins   intercom.Limiter
	guesses  intercom.Limiter
	hashing  *password.Limiter
	clock    intercom.Clock
	tokenTTL time.Duration
	pairing  PairingConfig

	bus       intercom.Broadcaster
	presence  intercom.Presence
	limit     int
	keySecret []byte
	keyTTL    time.Duration
	useEvery  time.Duration
	languages []string
	loginMax  int
	uses      uses
	log       *slog.Logger
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{store: c.Store, calls: c.Calls, sessions: c.Sessions, logins: c.Logins, guesses: c.Guesses,
		hashing: c.Hashing, clock: c.Clock, tokenTTL: c.TokenTTL, pairing: c.Pairing,
		bus: c.Broadcaster, presence: c.Presence, limit: c.SessionsLimit, keySecret: c.KeySecret,
		keyTTL: cmp.Or(c.KeyTTL, DefaultSessionKeyTTL), useEvery: cmp.Or(c.UseEvery, DefaultUseEvery),
		languages: c.Languages, loginMax: cmp.Or(c.LoginMax, DefaultLoginMax), log: c.Logger,
		uses: uses{written: map[int64]intercom.TokenUse{}, latest: map[int64]intercom.TokenUse{}}}
	if s.languages == nil {
		s.languages = intercom.DefaultLanguages
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = intercom.SystemClock{}
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	s.pairing.defaults()
	return s
}

// LoginMax is how many failed logins the throttle allows per login and
// per address in its window.
func (s *Service) LoginMax() int { return s.loginMax }

// Languages are the languages an account may choose.
func (s *Service) Languages() []string { return s.languages }

// Pairing is the pairing configuration in force, defaults filled in.
func (s *Service) Pairing() PairingConfig { return s.pairing }

func (s *Service) now() time.Time { return s.clock.Now() }

// intercomJSON is the intercom as an account sees it, online state now.
func (s *Service) intercomJSON(v intercom.IntercomView) wire.Intercom {
	return wire.IntercomOf(v, s.calls.Online(v.Intercom))
}

// toAccount sends an account event (calls.Service.ToAccount).
func (s *Service) toAccount(userID int64, typ string, fields func() map[string]any, exceptSocket string) {
	s.calls.ToAccount(userID, typ, fields, exceptSocket)
}

// deleted tells an account's sockets but exceptSocket that ids are gone.
func (s *Service) deleted(userID int64, event string, ids []int64, exceptSocket string) {
	if len(ids) > 0 {
		s.toAccount(userID, event, func() map[string]any { return map[string]any{"deleted_ids": ids} }, exceptSocket)
	}
}

// remove runs a removal of those of ids that are the account's, and tells
// its sockets but exceptSocket which went (event).
func (s *Service) remove(ctx context.Context, fn func(ctx context.Context, userID int64, ids []int64) ([]int64, error),
	event string, userID int64, ids []int64, exceptSocket string) error {
	gone, err := fn(ctx, userID, ids)
	if err != nil {
		return err
	}
	s.deleted(userID, event, gone, exceptSocket)
	return nil
}

// codeAttempts is how often a fresh random code is drawn when the one drawn
// is taken.
const codeAttempts = 8

// withFreshCode draws a code of n digits and runs create with it until
// create does not find it taken (ECONFLICT), at most codeAttempts times.
func withFreshCode(n int, create func(code string) error) error {
	var err error
	for range codeAttempts {
		if err = create(intercom.RandomDigits(n)); intercom.ErrorCode(err) != intercom.ECONFLICT {
			break
		}
	}
	return err
}

// background is ctx without its cancellation: for the refunds and resets of
// a throttle that must happen once an attempt is decided.
func background(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

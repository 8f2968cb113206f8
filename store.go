package intercom

import (
	"context"
	"time"
)

// Store keeps intercomd's state: every role below, which each engine
// implements in full. Every method runs in its own transaction; "not found"
// is always an ENOTFOUND error, never a zero value. A service takes only the
// roles it uses.
type Store interface {
	// Ping checks that the database answers and takes writes by committing
	// a small write (a probe); EUNAVAILABLE when it cannot. Once it has
	// committed, WriteFailure forgets the failures recorded before it began.
	Ping(ctx context.Context) error
	// WriteFailure is the last error of a write (or of any statement) that
	// said the database cannot take writes or cannot be reached, an
	// EUNAVAILABLE error, unless a Ping has committed since; nil otherwise.
	// It does no I/O, so a readiness check may ask it at every request.
	WriteFailure() error
	// Holdings lists the first limit logins of accounts, ids of intercoms
	// and ids of cameras the store holds, each in ascending order: enough to
	// tell a new store, or one holding only a known few things, from one in use.
	Holdings(ctx context.Context, limit int) (Holdings, error)
	// KeepSecret stores value under name unless a value is stored there
	// already, and returns the value stored: of concurrent first calls, on
	// every node, one wins and each gets it (package secrets).
	KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error)
	// StoredSecret returns the value stored under name, writing nothing.
	// ENOTFOUND.
	StoredSecret(ctx context.Context, name string) ([]byte, error)
	// ForgetSecret removes the value stored under name and reports whether
	// there was one (intercomd secrets forget, every node stopped).
	ForgetSecret(ctx context.Context, name string) (bool, error)

	Accounts
	Intercoms
	Calls
	Pairings
	Access
	Admin
	AdminCredentials
	Retainer
}

// AdminCredentials holds the admin API's named credentials and its audit
// log.
type AdminCredentials interface {
	// CreateAdminCredential adds a credential. ECONFLICT when the name is
	// taken.
	CreateAdminCredential(ctx context.Context, c AdminCredential) (AdminCredential, error)
	// AdminCredentials lists the credentials by id, with the total.
	AdminCredentials(ctx context.Context, p Page) ([]AdminCredential, int, error)
	// AdminCredential finds a credential. ENOTFOUND.
	AdminCredential(ctx context.Context, id int64) (AdminCredential, error)
	// AdminCredentialByHash finds the credential whose token hashes to
	// hash, read from the database at every call (never a cache): a
	// credential deleted on any node is refused from the commit on.
	// ENOTFOUND.
	AdminCredentialByHash(ctx context.Context, hash []byte) (AdminCredential, error)
	// DeleteAdminCredential removes a credential (revokes it); the audit
	// log keeps its id and name. ENOTFOUND.
	DeleteAdminCredential(ctx context.Context, id int64) error
	// RecordAudit adds an entry to the audit log and returns it with its
	// id: a write that committed nothing under its PendingAudit.
	RecordAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// FinishAudit completes the entry id, committed with its write, with
	// the write's answer: its resource (a creation's id known), after and
	// status. ENOTFOUND.
	FinishAudit(ctx context.Context, id int64, resource string, after []byte, status int) error
	// AuditLog lists the entries f keeps, newest first, with the total.
	AuditLog(ctx context.Context, f AuditFilter, p Page) ([]AuditEntry, int, error)
}

// TokenViewReader is what a Store whose reads are round trips to a server
// (PostgreSQL) adds so that an authenticated read of one intercom is one
// round trip: the access token, live or not, whose secret hashes to hash,
// and the view of intercom id for that token's device and account, read
// together. The caller checks the token before it uses the view. viewErr
// is the view's (ENOTFOUND: not the account's intercom); err the token's
// (ENOTFOUND).
type TokenViewReader interface {
	AccessTokenWithIntercom(ctx context.Context, hash []byte, id int64) (tok AccessToken, view IntercomView, viewErr, err error)
}

// RingReader is what a Store whose reads are round trips to a server
// (PostgreSQL) adds so that a ring reads its flat's lines in its roster's
// first round trip: what RingCandidates and FlatLines answer for the flat,
// read together.
type RingReader interface {
	RingRead(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*RingCandidate, FlatLines, error)
}

// ReadRing is what a ring at a flat of an intercom reads of st: its
// candidates at at and the flat's lines, together when st is a RingReader.
func ReadRing(ctx context.Context, st interface {
	Intercoms
	Calls
}, intercomID int64, flat *int64, at time.Time) ([]*RingCandidate, FlatLines, error) {
	if r, ok := st.(RingReader); ok {
		return r.RingRead(ctx, intercomID, flat, at)
	}
	fl, err := st.FlatLines(ctx, intercomID, flat)
	if err != nil {
		return nil, FlatLines{}, err
	}
	cands, err := st.RingCandidates(ctx, intercomID, flat, at)
	return cands, fl, err
}

// ChangeSyncer is a Store of a node that caches what other nodes may change
// (PostgreSQL's): its reads see another node's write once it has heard of
// it, a notification's delivery time after the write was answered.
type ChangeSyncer interface {
	// SyncChanges returns once this node has heard every change any node
	// sent before the call: the writes answered before it are seen by the
	// reads after it.
	SyncChanges(ctx context.Context) error
}

type freshKey struct{}

// FreshReads marks ctx's reads as ones a node's caches must not answer
// (PostgreSQL's may lag another node's write): what they authorize outlives
// the request, as a socket's subscription outlives broadcasting/auth.
func FreshReads(ctx context.Context) context.Context { return context.WithValue(ctx, freshKey{}, true) }

// WantsFreshReads reports whether ctx was marked by FreshReads.
func WantsFreshReads(ctx context.Context) bool { return ctx.Value(freshKey{}) != nil }

// Retainer purges the histories (History) past their retention age.
type Retainer interface {
	// PurgeHistory deletes, in one transaction, at most limit records of h
	// made before before, oldest first, and reports how many it deleted;
	// fewer than limit means none is left. A call ringing or answered is
	// never deleted, nor its sends. Several callers at once (nodes purging
	// together) delete each record once and never fail for one another's
	// deletions. ErrUnknownHistory for a history the engine does not know.
	PurgeHistory(ctx context.Context, h History, before time.Time, limit int) (int, error)
}

// Admin is what the operator's admin API lists, reads and removes beyond
// provisioning (the writes it shares with the apps are in the other roles).
type Admin interface {
	// Users lists the accounts f keeps, by id, with the total.
	Users(ctx context.Context, f UserFilter, p Page) ([]User, int, error)
	// Cameras lists the cameras by id, with the total.
	Cameras(ctx context.Context, p Page) ([]Camera, int, error)
	// CameraByID finds a camera. ENOTFOUND.
	CameraByID(ctx context.Context, id int64) (Camera, error)
	// UpdateCamera runs fn on the camera inside one transaction and saves
	// every field but its id and creation time; fn's error is returned and
	// nothing is saved. ENOTFOUND.
	UpdateCamera(ctx context.Context, id int64, fn func(*Camera) error) (Camera, error)
	// DeleteCamera removes a camera and the favourites of it; the intercoms
	// it watched have no camera any more. ENOTFOUND.
	DeleteCamera(ctx context.Context, id int64) error
	// AdminIntercoms lists the intercoms f keeps, by id, with the total.
	AdminIntercoms(ctx context.Context, f IntercomFilter, p Page) ([]Intercom, int, error)
	// IntercomsByControlKey lists, by id, at most limit intercoms whose
	// stored control key begins with prefix (package secrets' stored
	// forms: the unsealed ones to seal at start, a sealed one to try the
	// key on), without counting or paging through the others.
	IntercomsByControlKey(ctx context.Context, prefix []byte, limit int) ([]Intercom, error)
	// DeleteIntercom removes an intercom with everything that is its: its
	// memberships and devices' settings for it, calls (live ones included)
	// and their sends, keys, visitor codes, pairings, flats' lines, access
	// and control logs. ENOTFOUND.
	DeleteIntercom(ctx context.Context, id int64) error
	// Memberships lists the memberships of intercom intercomID, or of account
	// userID when intercomID is 0, of any status, by intercom then account,
	// with the total. ENOTFOUND when the intercom (account) does not exist.
	Memberships(ctx context.Context, intercomID, userID int64, p Page) ([]Membership, int, error)
	// Membership returns the membership of an account in an intercom.
	// ENOTFOUND.
	Membership(ctx context.Context, intercomID, userID int64) (Membership, error)
	// Devices lists the account's devices by id, each with its tokens live
	// at instant at and its last use. ENOTFOUND when the account does not
	// exist.
	Devices(ctx context.Context, userID int64, at time.Time) ([]DeviceActivity, error)
	// IntercomCalls lists the calls of an intercom created at or after since
	// and before until, newest first, each with its devices, with the total.
	// ENOTFOUND when the intercom does not exist.
	IntercomCalls(ctx context.Context, intercomID int64, since, until time.Time, p Page) ([]Call, int, error)
}

// DeviceActivity is one of an account's devices as support staff see it
// (Store.Devices).
type DeviceActivity struct {
	Device       Device
	LiveSessions int        // its tokens live at the instant asked
	LastUsedAt   *time.Time // the last use of any of its tokens (or their creation); nil when it has none
	LastIP       string     // the client address of that use
}

// Accounts holds the accounts, their devices and their sessions (access
// tokens).
type Accounts interface {
	// CreateUser adds an account. ECONFLICT when the login is taken.
	CreateUser(ctx context.Context, u User) (User, error)
	// DeleteUser removes an account with its devices, tokens and memberships,
	// and ends its part in calls still ringing: none of its devices can answer
	// them any more. ENOTFOUND when there is none.
	DeleteUser(ctx context.Context, id int64) error
	// UserByLogin finds an account by its exact login. ENOTFOUND.
	UserByLogin(ctx context.Context, login string) (User, error)
	// UserByID finds an account. ENOTFOUND.
	UserByID(ctx context.Context, id int64) (User, error)
	// CreateAccessToken records a session for the device t.DeviceUUID of
	// account t.UserID, creating the device or updating its client, and
	// returns the token with DeviceID set. ENOTFOUND when the user is gone.
	CreateAccessToken(ctx context.Context, t AccessToken) (AccessToken, error)
	// AccessTokenByHash finds a token, live or not, by the hash of its
	// secret. ENOTFOUND.
	AccessTokenByHash(ctx context.Context, hash []byte) (AccessToken, error)
	// RevokeAccessToken marks a token revoked at the given instant. ENOTFOUND.
	RevokeAccessToken(ctx context.Context, id int64, at time.Time) error
	// OpenSession records the session t as CreateAccessToken does, under the
	// account's limit of sessions: in the same transaction, which no other
	// OpenSession of the account runs beside, decide gets the account's tokens
	// live at t.CreatedAt (as LiveAccessTokens) and returns the ids of those
	// to revoke first, at t.CreatedAt (DecideSessions), or an error, which is
	// returned with nothing written. ENOTFOUND when the user is gone.
	OpenSession(ctx context.Context, t AccessToken, decide func(live []AccessToken) ([]int64, error)) (AccessToken, error)
	// LiveAccessTokens lists the account's tokens live at instant at, by id,
	// with their device's uuid and client and their last recorded use.
	LiveAccessTokens(ctx context.Context, userID int64, at time.Time) ([]AccessToken, error)
	// RevokeSession revokes the account's token live at instant at whose
	// public id is publicID and returns it as it was. ENOTFOUND when the
	// account holds no such live token (another account's included).
	RevokeSession(ctx context.Context, userID int64, publicID string, at time.Time) (AccessToken, error)
	// RecordTokenUses writes the last use of each token (TokenUse); a later
	// use already written stays. Unknown ids are ignored.
	RecordTokenUses(ctx context.Context, uses []TokenUse) error
	// UpdateUser applies u to the account, moving its updated_at to at, in
	// one transaction; with a new password it revokes every token of the
	// account live at at but u.KeepToken and returns their public ids.
	// ENOTFOUND.
	UpdateUser(ctx context.Context, id int64, u UserUpdate, at time.Time) (User, []string, error)
	// Device returns one device. ENOTFOUND.
	Device(ctx context.Context, id int64) (Device, error)
	// UpdatePushTokens applies u to the device's push tokens. ENOTFOUND.
	UpdatePushTokens(ctx context.Context, deviceID int64, u PushTokensUpdate, at time.Time) error
}

// Intercoms holds the intercoms and cameras, their heartbeats and control
// log, and the memberships that make them an account's.
type Intercoms interface {
	// CreateCamera adds a camera; a non-zero c.ID is kept. ECONFLICT when the
	// id is taken.
	CreateCamera(ctx context.Context, c Camera) (Camera, error)
	// SetCameraFavorite marks or unmarks a camera as the account's favourite.
	// ENOTFOUND when the user or camera does not exist.
	SetCameraFavorite(ctx context.Context, userID, cameraID int64, favorite bool) error
	// CreateIntercom adds an intercom; a non-zero ic.ID is kept. EINVALID on
	// camera_id when the camera does not exist; ECONFLICT when the id is taken.
	CreateIntercom(ctx context.Context, ic Intercom) (Intercom, error)
	// UpdateIntercomSettings runs fn on the intercom inside one transaction
	// and saves every field the operator sets that fn changed (address,
	// department, camera, control URL, door time, flat range, door features,
	// lines, the secret's hash); fn's error is returned and nothing is saved.
	// ENOTFOUND; EINVALID on camera_id when the camera does not exist.
	UpdateIntercomSettings(ctx context.Context, id int64, fn func(*Intercom) error) (Intercom, error)
	// RecordHeartbeats notes, in one transaction, that each intercom was
	// alive at its instant (a later heartbeat already stored stays) and marks
	// it online. It returns the ids of those that were not online before, each
	// once however many nodes record heartbeats at once. Unknown ids are
	// ignored.
	RecordHeartbeats(ctx context.Context, beats map[int64]time.Time) ([]int64, error)
	// SweepOffline marks offline every online intercom whose last heartbeat
	// is at or before lastBefore and returns their ids, each once however
	// many nodes sweep at once.
	SweepOffline(ctx context.Context, lastBefore time.Time) ([]int64, error)
	// OldestOnline returns the earliest last heartbeat among online
	// intercoms: the next one to go offline does so offlineAfter after it.
	// Nil when none is online.
	OldestOnline(ctx context.Context) (*time.Time, error)
	// IntercomBySecretHash finds the intercom whose secret hashes to hash.
	// ENOTFOUND.
	IntercomBySecretHash(ctx context.Context, hash []byte) (Intercom, error)
	// IntercomByID finds an intercom by its id, whoever it belongs to.
	// ENOTFOUND.
	IntercomByID(ctx context.Context, id int64) (Intercom, error)
	// LastHeartbeat returns an intercom's last heartbeat, nil for none.
	// ENOTFOUND.
	LastHeartbeat(ctx context.Context, intercomID int64) (*time.Time, error)
	// IntercomMembers lists the accounts linked to an intercom.
	IntercomMembers(ctx context.Context, intercomID int64) ([]int64, error)
	// RecordControl stores one POST to an intercom's control URL.
	RecordControl(ctx context.Context, e ControlEntry) error
	// ControlLog lists what was sent to an intercom's control URL, newest
	// first, all events or one. ENOTFOUND when the intercom does not exist.
	ControlLog(ctx context.Context, intercomID int64, event string, p Page) ([]ControlEntry, int, error)
	// FlatLines returns the lines of flat of intercom intercomID (nil: a
	// private house), DefaultFlatLines when the flat never chose; no error
	// for an intercom or flat unknown.
	FlatLines(ctx context.Context, intercomID int64, flat *int64) (FlatLines, error)
	// UpdateFlatLines runs fn on the lines of flat of intercom intercomID,
	// with the intercom, inside one transaction (no other UpdateFlatLines or
	// UpdateIntercom of the flat's lines runs beside it) and saves them at
	// at; fn's error is returned and nothing is saved. ENOTFOUND when the
	// intercom does not exist.
	UpdateFlatLines(ctx context.Context, intercomID int64, flat *int64, fn func(Intercom, *FlatLines) error, at time.Time) (FlatLines, error)
	// PutMembership creates or replaces the membership of m.UserID in
	// m.IntercomID, keeping CreatedAt of an existing one, and returns what
	// changed, read in the same transaction: concurrent puts of one account's
	// memberships each see the one before. ENOTFOUND when the user or
	// intercom does not exist.
	PutMembership(ctx context.Context, m Membership, at time.Time) (MembershipChange, error)
	// DeleteMembership unlinks an account from an intercom, with its devices'
	// settings for it, and returns the membership it removed. ENOTFOUND.
	DeleteMembership(ctx context.Context, intercomID, userID int64) (Membership, error)

	// The viewer's intercoms are those of its account's memberships that are
	// confirmed: a key_confirmed one is a pairing in progress, invisible to
	// Intercoms, IntercomsByIDs, Intercom and UpdateIntercom.

	// Intercoms lists the viewer's intercoms ordered by id, with the total.
	Intercoms(ctx context.Context, v Viewer, p Page) ([]IntercomView, int, error)
	// IntercomsByIDs returns those of ids that are the viewer's, ordered by id.
	IntercomsByIDs(ctx context.Context, v Viewer, ids []int64) ([]IntercomView, error)
	// Intercom returns one of the viewer's intercoms. ENOTFOUND when it does
	// not exist or is not the viewer's (not confirmed included).
	Intercom(ctx context.Context, v Viewer, id int64) (IntercomView, error)
	// UpdateIntercom applies u in one transaction: the title to the account's
	// membership, is_enabled and timetable to the viewer's device, the lines
	// to the membership's flat as u.ApplyLines decides (its 422 is returned
	// and nothing saved; serialized as UpdateFlatLines), and moves the
	// membership's updated_at to at. ENOTFOUND as Intercom.
	UpdateIntercom(ctx context.Context, v Viewer, id int64, u IntercomUpdate, at time.Time) (IntercomView, error)
	// UnlinkIntercoms unlinks those of ids that are the account's, with its
	// devices' settings for them and its calls from them, and returns them.
	UnlinkIntercoms(ctx context.Context, userID int64, ids []int64) ([]int64, error)
}

// Calls holds the calls, the devices they rang, their pushes, and each
// account's history of them.
type Calls interface {
	// RingCandidates lists every device of every member of an intercom (of
	// flat, when not nil) that has a token live at instant at, with its
	// member's status and title, its settings for the intercom and its live
	// tokens. The candidates are the caller's to read, not to change: an
	// engine may hand the same ones to the next ring.
	RingCandidates(ctx context.Context, intercomID int64, flat *int64, at time.Time) ([]*RingCandidate, error)
	// CreateCall records a call with the devices it concerned; it returns it
	// with its id and its number: c.Number when given and no live call
	// (ringing or answered) holds it, else a fresh NewCallNumber that none
	// holds.
	CreateCall(ctx context.Context, c Call) (Call, error)
	// CallByNumber returns the live call (ringing or answered) whose number
	// is number. ENOTFOUND when no live call has it.
	CallByNumber(ctx context.Context, number string) (Call, error)
	// Call returns a call with its devices. ENOTFOUND.
	Call(ctx context.Context, id int64) (Call, error)
	// CallStatus returns a call's status alone: a cheap look. ENOTFOUND.
	CallStatus(ctx context.Context, id int64) (string, error)
	// UpdateCall runs fn on the call inside one transaction and saves what fn
	// changed (status, times, who answered, who declined, who was seen, the
	// connect, the end reason). fn's error is
	// returned and nothing is saved. ENOTFOUND.
	//
	// fn must not call the store, and it may run more than once: an engine
	// may retry the transaction (on a serialization failure, say), calling fn
	// again on the call as it then is. So fn must be a pure function of the
	// call it is given; only the run whose result is saved counts. Concurrent
	// UpdateCalls of one call are serialized: each fn sees every change
	// committed before it, so of N concurrent transitions that each need a
	// ringing call, exactly one succeeds.
	UpdateCall(ctx context.Context, id int64, fn func(*Call) error) (Call, error)
	// SeeCall records that rung device deviceID was first seen acting on
	// call callID at instant at, by how (Seen*); a device seen before, or
	// not rung by the call, is left as it is (false). No error for those.
	SeeCall(ctx context.Context, callID, deviceID int64, how string, at time.Time) (bool, error)
	// PushTargets returns those of the devices that hold a token live at
	// instant at, with their push tokens and language as they are now: who
	// a notification about a call can still reach. Unknown ids are skipped.
	PushTargets(ctx context.Context, deviceIDs []int64, at time.Time) ([]PushTarget, error)
	// RecordSend stores the outcome of a push of one type to a device for a
	// call.
	RecordSend(ctx context.Context, s CallSend) error
	// CallSends lists the pushes of a call, by device, channel, then type.
	CallSends(ctx context.Context, callID int64) ([]CallSend, error)
	// ClearPushToken forgets a device's token for channel if it is still
	// token (the app may have registered a new one meanwhile).
	ClearPushToken(ctx context.Context, deviceID int64, channel, token string) error
	// RingingCalls lists the ids and creation times of calls still ringing.
	RingingCalls(ctx context.Context) (map[int64]time.Time, error)
	// AnsweredCalls lists the calls in conversation, with when they were
	// answered and connected: their deadlines, set again on start.
	AnsweredCalls(ctx context.Context) ([]AnsweredCall, error)
	// CallsOf lists the account's calls, newest first, each with the intercom
	// as the account sees it (nil Membership fields when it left it).
	CallsOf(ctx context.Context, userID int64, f CallFilter, p Page) ([]CallView, int, error)
	// CallOf returns one of the account's calls. ENOTFOUND.
	CallOf(ctx context.Context, userID, id int64) (CallView, error)
	// ForgetCalls removes those of ids that are in the account's history from
	// it, and returns them.
	ForgetCalls(ctx context.Context, userID int64, ids []int64) ([]int64, error)
}

// Pairings holds the pairing codes residents ask for and the keys the
// operator registers, and pairs them (DecidePairing, CheckFlat).
type Pairings interface {
	// CreatePairingCode gives the account pc.Code until pc.ExpiresAt,
	// replacing its previous code. ECONFLICT when another account holds the
	// same code and it is live at instant at.
	CreatePairingCode(ctx context.Context, pc PairingCode, at time.Time) error
	// Pair takes the code typed and the key touched at intercom intercomID
	// at instant at, in one transaction: a live code is used up whatever
	// follows; then a key registered for the intercom and not paired with
	// another account gives the code's account a key_confirmed membership
	// bound to the key, titled with the intercom's address, that waits for
	// its flat until flatBy. What went wrong is Pairing.Problem, not an
	// error (the code stays used). ENOTFOUND when the intercom does not exist.
	Pair(ctx context.Context, intercomID int64, code, keyID string, flatBy, at time.Time) (Pairing, error)
	// ChooseFlat confirms the viewer's key_confirmed membership of intercom
	// id (still waiting at instant at) with flat, which must lie in the
	// intercom's range, be the key's flat when the key has one, and be no
	// other account's flat on the intercom; it returns the intercom as the
	// viewer now sees it. ENOTFOUND when there is no such membership;
	// EINVALID on flat otherwise (ErrFlatTaken, ErrFlatNotKey). Of
	// concurrent choices of one flat, exactly one succeeds.
	ChooseFlat(ctx context.Context, v Viewer, id, flat int64, at time.Time) (IntercomView, error)
	// PutKey registers or updates a key of an intercom (its flat and note),
	// keeping its pairing, and reports whether it was created. ENOTFOUND
	// when the intercom does not exist.
	PutKey(ctx context.Context, k Key, at time.Time) (Key, bool, error)
	// DeleteKey unregisters a key; the membership paired with it stays.
	// ENOTFOUND.
	DeleteKey(ctx context.Context, intercomID int64, keyID string) error
	// Keys lists an intercom's keys by id, with the total. ENOTFOUND when the
	// intercom does not exist.
	Keys(ctx context.Context, intercomID int64, p Page) ([]Key, int, error)
	// Key returns one key of an intercom. ENOTFOUND when the intercom or
	// the key does not exist.
	Key(ctx context.Context, intercomID int64, keyID string) (Key, error)
}

// Access holds the visitor codes and the log of the doors' decisions on keys
// and codes (DecideKey, DecideCode).
type Access interface {
	// CreateVisitorCode adds c for the account's confirmed membership of
	// c.IntercomID, and drops the codes whose removal time has come. ENOTFOUND
	// when there is no such membership; ErrTooManyCodes when the account
	// already has maxLive codes not expired at c.CreatedAt; ECONFLICT when a
	// code of the intercom not yet expired has the same digits.
	CreateVisitorCode(ctx context.Context, c VisitorCode, maxLive int) (VisitorCode, error)
	// VisitorCodes lists the account's codes not removed at instant at,
	// newest first, with the total.
	VisitorCodes(ctx context.Context, userID int64, p Page, at time.Time) ([]VisitorCode, int, error)
	// DeleteVisitorCodes removes those of ids that are the account's codes
	// and returns them.
	DeleteVisitorCodes(ctx context.Context, userID int64, ids []int64) ([]int64, error)
	// CheckAccess decides, at instant at, whether a key or a code (kind)
	// opens intercom intercomID's door (DecideKey, DecideCode), records the
	// decision and returns it. ENOTFOUND when the intercom does not exist.
	CheckAccess(ctx context.Context, intercomID int64, kind, credential string, at time.Time) (AccessEntry, error)
	// RecordAccess records a decision taken without the store (a throttled
	// attempt) and returns it with its id.
	RecordAccess(ctx context.Context, e AccessEntry) (AccessEntry, error)
	// AccessLog lists an intercom's access decisions, newest first, with the
	// total. ENOTFOUND when the intercom does not exist.
	AccessLog(ctx context.Context, intercomID int64, f AccessFilter, p Page) ([]AccessEntry, int, error)
	// Credentials returns, in one snapshot, the intercom's keys and its
	// visitor codes not expired at instant at, each ordered by id (keys by
	// their id). ENOTFOUND when the intercom does not exist.
	Credentials(ctx context.Context, intercomID int64, at time.Time) (Intercom, []Key, []VisitorCode, error)
}

// MembershipChange is what Store.PutMembership did.
type MembershipChange struct {
	Membership Membership // as it now is
	Created    bool
	// WasConfirmed is whether the membership was confirmed before: the
	// intercom was the account's.
	WasConfirmed bool
	// View is the intercom as the account (no device) now sees it; nil
	// unless the membership is confirmed.
	View *IntercomView
}

// Holdings is a sample of what a store holds (Store.Holdings).
type Holdings struct {
	Logins    []string
	Intercoms []int64
	Cameras   []int64
}

// CallFilter narrows an account's call history. Zero fields do not filter.
type CallFilter struct {
	IntercomID int64
	CameraID   int64
	Statuses   []string
}

// CallView is a call as one account sees it in its history.
type CallView struct {
	Call     Call
	Intercom IntercomView // Settings are not set
}

// PushTokensUpdate changes a device's push tokens: a nil field is left as it
// is; a field pointing at nil clears the token.
type PushTokensUpdate struct {
	FCM, APN, VoIP, Huawei **string
	// Lang, when not nil, is the device's language now (the apps' hl
	// header): its notifications are written in it.
	Lang *string
}

// PushTarget is a device as a push about a call needs it now.
type PushTarget struct {
	DeviceID    int64
	UserID      int64
	Client      string
	FCMToken    string // "" when none
	APNToken    string
	VoIPToken   string
	HuaweiToken string
	Lang        string // the last hl the device sent; "" when none
}

// AnsweredCall is a call in conversation (Store.AnsweredCalls).
type AnsweredCall struct {
	ID          int64
	StartedAt   time.Time
	ConnectedAt *time.Time
}

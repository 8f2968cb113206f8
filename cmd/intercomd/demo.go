package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"intercom"
	"intercom/password"
	"intercom/secrets"
)

// The demo's values are those of the API's own example request and response.
const (
	demoLogin    = "demo"
	demoPassword = "demo-password"
	demoDevice   = "demo-phone"
	demoTablet   = "demo-tablet" // its timetable excludes now: it is skipped
	demoClient   = "web"         // rings over its Pusher socket (`intercomd listen`); iOS/Android clients ring by push only
	demoSecret   = "demo-intercom-secret"
	demoCamera   = 833
	demoIntercom = 180
)

// provisionDemo makes sure the demo account, camera 833 and intercom 180
// exist, points the intercom's control URL at the demo panel (panelURL)
// with its control key sealed by box,
// keeps the intercom online with heartbeats while ctx lives, signs the demo
// phone in and prints its token with a ready curl. It returns the demo
// tablet's token.
func provisionDemo(ctx context.Context, store intercom.Store, box *secrets.Box, publicURL, panelURL string, offlineAfter time.Duration,
	out io.Writer) (tabletToken string, err error) {
	now := time.Now()
	user, err := store.UserByLogin(ctx, demoLogin)
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		hash, herr := password.Hash(demoPassword)
		if herr != nil {
			return "", herr
		}
		user, err = store.CreateUser(ctx, intercom.User{Login: demoLogin, Name: "Demo resident", PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	}
	if err != nil {
		return "", err
	}
	group, startAt := int64(124), time.Date(2022, 4, 19, 16, 43, 15, 0, time.UTC)
	_, err = store.CreateCamera(ctx, intercom.Camera{ID: demoCamera, GroupID: &group, Status: "active", Type: "media_server_v2",
		StartAt: &startAt, CreatedAt: time.Date(2022, 2, 18, 15, 5, 53, 0, time.UTC), PrettyName: "Intercom",
		IsArchiveRecording: true, UserStatus: "active", Name: "Intercom"})
	if err != nil && intercom.ErrorCode(err) != intercom.ECONFLICT {
		return "", err
	}
	cameraID := int64(demoCamera)
	_, err = store.CreateIntercom(ctx, intercom.Intercom{ID: demoIntercom, Address: "Cameras", Department: 100, CameraID: &cameraID,
		SecretHash: intercom.IntercomSecretHash(demoSecret), DoorOpenSeconds: 7, CreatedAt: now})
	if err != nil && intercom.ErrorCode(err) != intercom.ECONFLICT {
		return "", err
	}
	_, key := intercom.IntercomKeys(demoSecret)
	sealed, err := box.Seal(secrets.ControlKey, key)
	if err != nil {
		return "", err
	}
	if _, err := store.UpdateIntercomSettings(ctx, demoIntercom, func(ic *intercom.Intercom) error {
		ic.ControlURL, ic.ControlKey = &panelURL, sealed
		return nil
	}); err != nil {
		return "", err
	}
	secret, tok := intercom.NewAccessToken(user.ID, demoDevice, demoClient, now, 30*24*time.Hour)
	if tok, err = store.CreateAccessToken(ctx, tok); err != nil {
		return "", err
	}
	viewer := intercom.Viewer{UserID: user.ID, DeviceID: tok.DeviceID}
	if _, err := store.Intercom(ctx, viewer, demoIntercom); intercom.ErrorCode(err) == intercom.ENOTFOUND {
		_, err = store.PutMembership(ctx, intercom.Membership{UserID: user.ID, IntercomID: demoIntercom, Title: "House",
			Status: intercom.StatusConfirmed}, now)
		if err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	tabletSecret, tablet := intercom.NewAccessToken(user.ID, demoTablet, demoClient, now, 30*24*time.Hour)
	if tablet, err = store.CreateAccessToken(ctx, tablet); err != nil {
		return "", err
	}
	var past intercom.Timetable
	if err := json.Unmarshal([]byte(`{"intervals":[{"from":"2000-01-01T00:00:00Z","to":"2000-01-02T00:00:00Z"}]}`), &past); err != nil {
		return "", err
	}
	if _, err := store.UpdateIntercom(ctx, intercom.Viewer{UserID: user.ID, DeviceID: tablet.DeviceID}, demoIntercom,
		intercom.IntercomUpdate{Timetable: &past}, now); err != nil {
		return "", err
	}
	if _, err := store.RecordHeartbeats(ctx, map[int64]time.Time{demoIntercom: now}); err != nil {
		return "", err
	}
	go func() { // the demo intercom stays online
		tick := time.NewTicker(offlineAfter / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case t := <-tick.C:
				store.RecordHeartbeats(ctx, map[int64]time.Time{demoIntercom: t})
			}
		}
	}()
	fmt.Fprintf(out, `
Demo account %q (password %q), camera %d, intercom %d "House".
Access token of device %q (%s): %s

Rename the intercom and set the phone's timetable (the API's example request):

curl -sS --request PATCH '%s/api/v1/intercom/%d' \
  --header 'Authorization: Bearer %s' \
  --header 'Accept: application/json' \
  --header 'X-Client: %s' \
  --header 'X-UUID: %s' \
  --header 'Content-Type: application/json' \
  --data-raw '{"title": "My intercom", "is_enabled": "true", "timetable": {"days": [{"type": "monday", "from": "10:00+01:00", "to": "18:00+01:00"}], "intervals": [{"from": "2000-02-12T10:00:00+01:00", "to": "2000-12-01T09:00:00+01:00"}, {"from": "2001-02-12T10:00:00+01:00", "to": "2001-12-01T09:00:00+01:00"}]}}'

Calls, step by step (each in its own terminal or one after the other):

  # 0. The request above leaves the phone ringing only on Mondays 10:00-18:00 +01:00; this clears its timetable:
  curl -sS -X PATCH '%s/api/v1/intercom/%d' -H 'Authorization: Bearer %s' -H 'X-Client: %s' -H 'X-UUID: %s' -H 'Content-Type: application/json' -d '{"timetable": {"days": [], "intervals": []}}'

  # 1. Watch what the phone and the tablet receive (the tablet's timetable excludes now):
  go run ./cmd/intercomd listen --url %s --uuid %s --token %s
  go run ./cmd/intercomd listen --url %s --uuid %s --token %s

  # 2. A visitor rings (the demo intercom's secret is %q); the answer lists who rings and who is skipped:
  curl -sS -X POST '%s/api/hw/v1/ring' -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{}'

  # 3. The phone answers (put the call_id from step 2 in place of CALL); with no SIP server to
  #    report its voice connected, the call ends after --answer-connect-timeout (20 s):
  curl -sS -X POST '%s/api/v1/intercom/calls/CALL/start' -H 'Authorization: Bearer %s' -H 'X-Client: %s' -H 'X-UUID: %s'

  # 4. The history; a ring nobody answers turns missed after --ring-timeout:
  curl -sS '%s/api/v1/intercom/calls' -H 'Authorization: Bearer %s' -H 'X-Client: %s' -H 'X-UUID: %s'

  # 5. Open the door: the command goes, signed, to the intercom's control URL, where the demo
  #    panel (%s) checks the signature and says so here:
  curl -sS -X POST '%s/api/v1/intercom/%d/open-door' -H 'Authorization: Bearer %s' -H 'X-Client: %s' -H 'X-UUID: %s'

`, demoLogin, demoPassword, demoCamera, demoIntercom, demoDevice, demoClient, secret,
		publicURL, demoIntercom, secret, demoClient, demoDevice,
		publicURL, demoIntercom, secret, demoClient, demoDevice,
		publicURL, demoDevice, secret, publicURL, demoTablet, tabletSecret,
		demoSecret, publicURL, demoSecret,
		publicURL, secret, demoClient, demoDevice,
		publicURL, secret, demoClient, demoDevice,
		panelURL, publicURL, demoIntercom, secret, demoClient, demoDevice)
	return tabletSecret, nil
}

// checkDemoOnly refuses --demo on a database that holds more than the demo's
// own data: the demo adds a published login and an intercom whose secret is
// published, which must never reach a database in use.
func checkDemoOnly(ctx context.Context, store intercom.Store) error {
	h, err := store.Holdings(ctx, 3)
	if err != nil {
		return err
	}
	var foreign []string
	for _, login := range h.Logins {
		if login != demoLogin {
			foreign = append(foreign, "account "+strconv.Quote(login))
		}
	}
	for _, id := range h.Intercoms {
		if id != demoIntercom {
			foreign = append(foreign, "intercom "+strconv.FormatInt(id, 10))
			continue
		}
		ic, err := store.IntercomByID(ctx, id)
		if err != nil {
			return err
		}
		if !bytes.Equal(ic.SecretHash, intercom.IntercomSecretHash(demoSecret)) {
			foreign = append(foreign, "intercom 180 (not the demo's)")
		}
	}
	for _, id := range h.Cameras {
		if id != demoCamera {
			foreign = append(foreign, "camera "+strconv.FormatInt(id, 10))
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("--demo refused: the database holds more than the demo (%s, ...); the demo would add a published "+
			"login and an intercom with a published secret to it. Use --demo only with a new database (e.g. --db demo.db)",
			strings.Join(foreign, ", "))
	}
	return nil
}

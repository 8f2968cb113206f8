package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"intercom"
	"intercom/sqlite"
)

const pushTestUsage = `usage: intercomd push-test --device ID [--db FILE|URL] [push provider flags]

Sends a test notification to every push token the device ID (GET
/api/admin/v1/users/{id}/devices lists a user's) has registered (PUT
/api/v1/devices), each through its provider, and prints what each
provider answered: the outcome, its HTTP status, its reason and its id of
the message. The providers are configured as for serve, with the same flags
or INTERCOMD_* variables (so, under systemd, with the same environment
file); other INTERCOMD_* variables are ignored. It reads the device from
the database (a SQLite file read-only, even while a node serves it) and
records nothing: a token the provider calls dead is not cleared.

What each token gets:
  voip_token    a VoIP push (apns-voip): an intercom_ring with "test": true
                and call_id 0, which the app must report as a call and end
  apn_token     an alert (apns) titled "intercomd" saying it is a test
  fcm_token     a data message (fcm) of type call.missed with that text
  huawei_token  the same through Push Kit (hms)

It exits non-zero unless every token's provider accepted its push.

`

// pushTestTimeout bounds each provider's answer.
const pushTestTimeout = 15 * time.Second

// pushTestCommand is `intercomd push-test`.
func pushTestCommand(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	return pushTest(ctx, args, env, stdout, stderr, nil)
}

// pushTest is pushTestCommand with tune, when not nil, given the parsed
// configuration before the providers are made (tests point them at their
// fakes' TLS).
func pushTest(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer, tune func(*config)) error {
	var c config
	fs := flag.NewFlagSet("intercomd push-test", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse's errors are returned, and printed once
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, pushTestUsage)
		fs.PrintDefaults()
	}
	device := fs.Int64("device", 0, "the device's id")
	fs.StringVar(&c.db, "db", "intercomd.db", "SQLite database file, or a postgres:// URL, as serve's --db")
	pushFlags(fs, &c)
	c.secretFiles = map[string]*string{"hms-app-secret": fs.String("hms-app-secret-file", "", "file holding --hms-app-secret")}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("push-test: %w (intercomd push-test --help lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("push-test: unexpected arguments: %v", fs.Args())
	}
	// The flags' environment twins, as serve reads them; a flag given wins.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v := env[envName(f.Name)]; v != "" && !set[f.Name] {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
		}
	})
	errs = append(errs, readSecretFiles(fs, c.secretFiles), checkDB(c.db))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("push-test: %w", err)
	}
	if *device <= 0 {
		fs.Usage()
		return errors.New("push-test: --device is required: the id of the device to push to")
	}
	if tune != nil {
		tune(&c)
	}
	providers, err := pushProviders(c)
	if err != nil {
		return fmt.Errorf("push-test: %w", err)
	}
	d, err := readDevice(ctx, c.db, *device)
	if intercom.ErrorCode(err) == intercom.ENOTFOUND {
		return fmt.Errorf("push-test: no device %d in %s", *device, dbForLog(c.db))
	} else if err != nil {
		return fmt.Errorf("push-test: %w", err)
	}
	fmt.Fprintf(stdout, "device %d (%s, %s) of user %d\n", d.ID, d.Client, d.UUID, d.UserID)

	byChannel := map[string]intercom.PushProvider{}
	for _, p := range providers {
		byChannel[p.Channel()] = p
	}
	now := time.Now()
	data := map[string]any{"test": true, "call_id": 0, "title": "Push test"}
	alert := &intercom.PushAlert{Title: "intercomd", Body: "Push test: this device can be reached."}
	sends, failed := 0, 0
	for _, t := range []struct {
		field, channel, flags string
		token                 *string
		m                     intercom.PushMessage
	}{
		{"voip_token", intercom.ChannelAPNsVoIP, "--apns-key-file, --apns-key-id, --apns-team-id, --apns-topic", d.VoIPToken,
			intercom.PushMessage{Type: intercom.PushRing, Data: data}},
		{"apn_token", intercom.ChannelAPNsAlert, "--apns-key-file, --apns-key-id, --apns-team-id, --apns-topic", d.APNToken,
			intercom.PushMessage{Type: intercom.PushMissed, Data: data, Alert: alert}},
		{"fcm_token", intercom.ChannelFCM, "--fcm-credentials", d.FCMToken,
			intercom.PushMessage{Type: intercom.PushMissed, Data: data, Alert: alert}},
		{"huawei_token", intercom.ChannelHMS, "--hms-app-id, --hms-app-secret", d.HuaweiToken,
			intercom.PushMessage{Type: intercom.PushMissed, Data: data, Alert: alert}},
	} {
		if t.token == nil || *t.token == "" {
			continue
		}
		sends++
		p := byChannel[t.channel]
		if p == nil {
			failed++
			fmt.Fprintf(stdout, "%s %s=%s not sent: no %s provider (%s)\n", t.channel, t.field, tokenTail(*t.token), t.channel, t.flags)
			continue
		}
		m := t.m
		m.DeviceID, m.Token, m.CollapseID = d.ID, *t.token, "push-test"
		m.Expires, m.TTL = now.Add(time.Minute), time.Minute
		sctx, cancel := context.WithTimeout(ctx, pushTestTimeout)
		r := p.Send(sctx, m)
		cancel()
		if r.Outcome != intercom.SendSent {
			failed++
		}
		fmt.Fprintf(stdout, "%s %s=%s outcome=%s status=%d reason=%s provider_id=%s\n", t.channel, t.field, tokenTail(*t.token),
			r.Outcome, r.Status, strconv.Quote(r.Reason), strconv.Quote(r.ID))
	}
	switch {
	case sends == 0:
		return fmt.Errorf("push-test: device %d has registered no push token (PUT /api/v1/devices)", d.ID)
	case failed > 0:
		return fmt.Errorf("push-test: %d of %d pushes were not accepted", failed, sends)
	}
	return nil
}

// readDevice reads the device from db without serving it: a SQLite file
// read-only (a node may be serving it), a PostgreSQL database opened as a
// node would.
func readDevice(ctx context.Context, db string, id int64) (intercom.Device, error) {
	if !isPostgres(db) {
		return sqlite.ReadDevice(ctx, db, id)
	}
	s, err := openStore(ctx, db)
	if err != nil {
		return intercom.Device{}, err
	}
	defer s.Close()
	return s.Device(ctx, id)
}

// tokenTail is enough of a push token to tell it from the device's others,
// and not enough to use it: its last 6 characters.
func tokenTail(token string) string {
	if len(token) <= 6 {
		return "…" + token
	}
	return "…" + token[len(token)-6:]
}

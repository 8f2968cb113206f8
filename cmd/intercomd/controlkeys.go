package main

import (
	"context"
	"fmt"

	"intercom"
	"intercom/secrets"
)

// settleSecrets settles the secrets of list against the database
// (secrets.Resolve), seals the control keys stored unsealed
// (sealControlKeys), and makes sure box has the key the database's values
// were sealed under: what is already sealed is opened before anything is
// sealed under box (secrets.ProbeKey, probeControlKeys), so that a start
// with another key (a key file lost and made anew, a backup restored
// without its key) is refused and leaves nothing the right key cannot open;
// then the key check is kept (secrets.CheckKey). It returns what Resolve
// generated and how many control keys it sealed.
func settleSecrets(ctx context.Context, db intercom.Store, box *secrets.Box, list []*secrets.Secret) (secrets.Generated, int, error) {
	var generate []string
	for _, s := range list {
		if s.Generate {
			generate = append(generate, s.Flag)
		}
	}
	if err := secrets.ProbeKey(ctx, db, box, generate...); err != nil {
		return nil, 0, err
	}
	if err := probeControlKeys(ctx, db, box); err != nil {
		return nil, 0, err
	}
	generated, err := secrets.Resolve(ctx, db, box, list)
	if err != nil {
		return nil, 0, err
	}
	n, err := sealControlKeys(ctx, db, box)
	if err != nil {
		return nil, 0, err
	}
	return generated, n, secrets.CheckKey(ctx, db, box)
}

// probeControlKeys opens a sealed control key, if any: an error when box
// cannot (it was sealed under another key).
func probeControlKeys(ctx context.Context, db intercom.Store, box *secrets.Box) error {
	ics, err := db.IntercomsByControlKey(ctx, secrets.SealedPrefix, 1)
	if err != nil || len(ics) == 0 {
		return err
	}
	if _, err := box.Open(secrets.ControlKey, ics[0].ControlKey); err != nil {
		return fmt.Errorf("intercom %d's control key %w", ics[0].ID, err)
	}
	return nil
}

// sealControlKeys seals under box the control keys still stored unsealed
// (intercoms provisioned before --secret-key-file, or before migration
// 0015), so that from then on a copy of the database alone signs no
// command: a hundred at a time, found by their stored form (when there are
// none, one query that returns nothing). It returns how many it sealed.
// Nothing to do without a key.
func sealControlKeys(ctx context.Context, db intercom.Store, box *secrets.Box) (int, error) {
	if !box.Sealed() {
		return 0, nil
	}
	sealed := 0
	for {
		ics, err := db.IntercomsByControlKey(ctx, secrets.PlainPrefix, 100)
		if err != nil || len(ics) == 0 {
			return sealed, err
		}
		for _, ic := range ics {
			if _, err := db.UpdateIntercomSettings(ctx, ic.ID, func(now *intercom.Intercom) error {
				if !secrets.IsPlain(now.ControlKey) { // sealed by another node meanwhile
					return nil
				}
				key, err := box.Open(secrets.ControlKey, now.ControlKey)
				if err != nil {
					return err
				}
				now.ControlKey, err = box.Seal(secrets.ControlKey, key)
				return err
			}); intercom.ErrorCode(err) == intercom.ENOTFOUND {
				continue // deleted meanwhile
			} else if err != nil {
				return sealed, fmt.Errorf("sealing intercom %d's control key: %w", ic.ID, err)
			}
			sealed++
		}
	}
}

package main

import (
	"context"
	"fmt"

	"intercom"
	"intercom/secrets"
)

// sealControlKeys seals under box the control keys still stored unsealed
// (intercoms provisioned before --secret-key-file, or before migration
// 0015), so that from then on a copy of the database alone signs no
// command. It returns how many it sealed. Nothing to do without a key.
func sealControlKeys(ctx context.Context, db intercom.Store, box *secrets.Box) (int, error) {
	if !box.Sealed() {
		return 0, nil
	}
	const perPage = 100
	sealed := 0
	for page := 1; ; page++ {
		ics, total, err := db.AdminIntercoms(ctx, intercom.IntercomFilter{}, intercom.Page{Page: page, PerPage: perPage})
		if err != nil {
			return sealed, err
		}
		for _, ic := range ics {
			if !secrets.IsPlain(ic.ControlKey) {
				continue
			}
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
			}); err != nil {
				return sealed, fmt.Errorf("sealing intercom %d's control key: %w", ic.ID, err)
			}
			sealed++
		}
		if page*perPage >= total {
			return sealed, nil
		}
	}
}

package intercom

import "fmt"

// SchemaPlan is what migrating a database would do: migrations are
// numbered, forward-only and applied in order, each once.
type SchemaPlan struct {
	At      int      // the highest migration the database holds; 0 for a new one
	Known   int      // the highest migration this intercomd knows
	Pending []string // the migrations it lacks, to apply in order (their file names)
}

// SchemaError is a database this intercomd must not serve: its schema is
// newer than the migrations this intercomd knows, so this intercomd would
// read and write it wrongly.
type SchemaError struct {
	At, Known int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("database schema is at %04d, this intercomd knows up to %04d: upgrade intercomd", e.At, e.Known)
}

// CheckSchema refuses a database whose schema, at at, is newer than known,
// the highest migration this intercomd knows. An older one is migrated.
func CheckSchema(at, known int) error {
	if at > known {
		return &SchemaError{At: at, Known: known}
	}
	return nil
}

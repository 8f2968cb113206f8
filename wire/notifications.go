package wire

import (
	"encoding/json"

	"github.com/google/uuid"
)

// DataNotifications makes Notification(typ, {"data": data}) for many
// recipients without encoding data for each: data is encoded once, and each
// notification only gets its fresh uuid. A ring to a thousand devices
// encodes its call data once per title instead of a thousand times.
type DataNotifications struct {
	prefix []byte // {"data":…,"id":"
	suffix []byte // ","type":"…"}
}

// NewDataNotifications encodes data once for notifications of type typ.
func NewDataNotifications(typ string, data map[string]any) DataNotifications {
	d, err := json.Marshal(data)
	if err != nil {
		panic(err) // only our own values are encoded
	}
	t, err := json.Marshal(typ)
	if err != nil {
		panic(err)
	}
	// The keys in the order json.Marshal gives a map's: data, id, type.
	prefix := append(append([]byte(`{"data":`), d...), `,"id":"`...)
	suffix := append(append([]byte(`","type":`), t...), '}')
	return DataNotifications{prefix: prefix, suffix: suffix}
}

// New returns one notification, with its own id.
func (n DataNotifications) New() []byte {
	id := uuid.New()
	b := make([]byte, 0, len(n.prefix)+36+len(n.suffix))
	b = append(b, n.prefix...)
	b = append(b, id.String()...)
	return append(b, n.suffix...)
}

package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"intercom"
)

// DataNotifications makes what Notification makes, but for the id.
func TestDataNotificationsAreNotifications(t *testing.T) {
	cam := int64(833)
	c := intercom.Call{ID: 7, CreatedAt: time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)}
	ic := intercom.Intercom{ID: 180, Address: `Tower <&> "A"`, CameraID: &cam}
	n := NewDataNotifications("intercom_ring", CallData(c, ic, "Home ✓"))
	a, b := n.New(), n.New()
	want := Notification("intercom_ring", map[string]any{"data": CallData(c, ic, "Home ✓")})
	var got, wantV map[string]any
	if err := json.Unmarshal(a, &got); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(want, &wantV); err != nil {
		t.Fatal(err)
	}
	if got["id"] == wantV["id"] {
		t.Fatal("ids repeat")
	}
	delete(got, "id")
	delete(wantV, "id")
	if !reflect.DeepEqual(got, wantV) {
		t.Errorf("got %s\nwant %s", a, want)
	}
	// The very bytes, the id aside.
	if same := strings.Replace(string(want), idOf(want), idOf(a), 1); same != string(a) || string(a) == string(b) {
		t.Errorf("bytes:\n%s\nwant\n%s", a, same)
	}
}

func idOf(b []byte) string {
	var v struct{ ID string }
	json.Unmarshal(b, &v)
	return v.ID
}

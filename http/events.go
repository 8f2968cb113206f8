package http

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"intercom"
)

// eventName is the Pusher event every intercom notification travels as: a
// Laravel notification broadcast, whose payload is flat (API.md §3).
const eventName = `Illuminate\Notifications\Events\BroadcastNotificationCreated`

func userChannel(userID int64) string { return "private-user." + strconv.FormatInt(userID, 10) }

func tokenChannel(publicID string) string { return "private-token." + publicID }

// notification is a flat payload: type and a fresh uuid, then its fields.
func notification(typ string, fields map[string]any) []byte {
	fields["type"], fields["id"] = typ, uuid.NewString()
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err) // only our own values are encoded
	}
	return b
}

// toUser publishes a notification to every socket of an account but the one
// that made the request (X-Socket-ID). Nothing is encoded for an account with
// no socket open.
func (s *Server) toUser(userID int64, typ string, fields func() map[string]any, exceptSocket string) {
	ch := userChannel(userID)
	if s.hub.Subscribed(ch) {
		s.hub.Publish(ch, eventName, notification(typ, fields()), exceptSocket)
	}
}

// toDevice publishes to every token channel of a device.
func (s *Server) toDevice(d intercom.CallDevice, payload []byte, exceptSocket string) {
	for _, t := range d.Tokens {
		s.hub.Publish(tokenChannel(t), eventName, payload, exceptSocket)
	}
}

// callData is the data of intercom_ring and intercom_cancel: what the SDKs
// read (reference §B.6–B.7), ids as numbers. Only devices of confirmed
// members are rung, so is_open_door_app is what their intercom object says.
func callData(c intercom.Call, ic intercom.Intercom, title string) map[string]any {
	return map[string]any{
		"id": ic.ID, "call_id": c.ID, "title": title, "address": ic.Address, "video_url": nil,
		"call_created_at": sqlTime(c.CreatedAt), "camera_id": ic.CameraID, "mark_type": nil,
		"is_open_door_app": intercom.OpensDoorFromApp(intercom.StatusConfirmed, ic),
	}
}

// sendRing sends intercom_ring to the sockets of every rung device: those it
// rings over (web, thick-legal) and, as events, those of devices rung by push.
func (s *Server) sendRing(c intercom.Call, ic intercom.Intercom) {
	for _, d := range c.Devices {
		if d.Rung() {
			s.toDevice(d, notification("intercom_ring", map[string]any{"data": callData(c, ic, d.Title)}), "")
		}
	}
}

// sendCancel tells devices to stop ringing, with the reason.
func (s *Server) sendCancel(c intercom.Call, ic intercom.Intercom, devices []intercom.CallDevice, reason, exceptSocket string) {
	for _, d := range devices {
		data := callData(c, ic, d.Title)
		data["reason"] = reason
		s.toDevice(d, notification("intercom_cancel", map[string]any{"data": data, "reason": reason}), exceptSocket)
	}
}

// sendCallStore puts the call, as each account sees it, into the history of
// every account it concerned. It runs off the request path.
func (s *Server) sendCallStore(c intercom.Call, exceptSocket string) {
	s.spawn(func() {
		ctx := s.backgroundContext()
		for _, u := range c.Users() {
			if !s.hub.Subscribed(userChannel(u)) {
				continue
			}
			cv, err := s.store.CallOf(ctx, u, c.ID)
			if err != nil {
				s.log.Error("intercom.call.store: loading the call", "call_id", c.ID, "user_id", u, "error", err)
				continue
			}
			s.toUser(u, "intercom.call.store", func() map[string]any { return map[string]any{"intercom_call": s.callJSON(cv)} }, exceptSocket)
		}
	})
}

// Wait blocks until the event deliveries and push sends under way are done.
func (s *Server) Wait() {
	s.bg.Wait()
	s.push.Wait()
}

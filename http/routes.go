package http

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return openAPI }

// routes registers every route of intercomd.
func (s *Server) routes() {
	m := s.mux

	// Client API (API.md §3): Bearer token + X-Client + X-UUID.
	m.Handle("POST /api/v1/token", s.handle(s.login))
	m.Handle("POST /api/v1/logout", s.client(s.logout))
	m.Handle("PUT /api/v1/devices", s.client(s.putDevice))
	m.Handle("GET /api/v1/users/self", s.client(s.self))
	m.Handle("PUT /api/v1/users/self", s.client(s.updateSelf))
	m.Handle("GET /api/v1/sessions", s.client(s.listSessions))
	m.Handle("POST /api/v1/sessions/{session}", s.client(s.endSession))
	m.Handle("GET /api/v1/intercom", s.client(s.listIntercoms))
	m.Handle("GET /api/v1/intercom/shows", s.client(s.showIntercoms))
	m.Handle("POST /api/v1/intercom", s.client(s.startPairing))
	m.Handle("GET /api/v1/intercom/codes", s.client(s.listVisitorCodes))
	m.Handle("DELETE /api/v1/intercom/codes", s.client(s.deleteVisitorCodes))
	m.Handle("POST /api/v1/intercom/{intercom}/codes", s.client(s.createVisitorCode))
	m.Handle("POST /api/v1/intercom/{intercom}/flat", s.client(s.chooseFlat))
	m.Handle("GET /api/v1/intercom/{intercom}", s.clientReadingIntercom(s.getIntercom))
	m.Handle("PATCH /api/v1/intercom/{intercom}", s.client(s.updateIntercom))
	m.Handle("POST /api/v1/intercom/{intercom}/open-door", s.client(s.openDoor))
	m.Handle("DELETE /api/v1/intercom", s.client(s.unlinkIntercoms))
	m.Handle("GET /api/v1/intercom/calls", s.client(s.listCalls))
	m.Handle("DELETE /api/v1/intercom/calls", s.client(s.forgetCalls))
	m.Handle("GET /api/v1/intercom/calls/{call}", s.client(s.getCall))
	for _, method := range []string{"POST", "GET"} { // GET for app builds that followed the older docs
		m.Handle(method+" /api/v1/intercom/calls/{call}/start", s.client(s.startCall))
		m.Handle(method+" /api/v1/intercom/calls/{call}/cancel", s.client(s.cancelCall))
		m.Handle(method+" /api/v1/intercom/calls/{call}/end", s.client(s.endCall))
	}

	// Real time (API.md §3): Pusher protocol over WebSocket.
	m.Handle("GET /api/v1/wsurl", s.client(s.wsURL))
	m.Handle("POST /api/v1/broadcasting/auth", s.pusherClient(s.broadcastingAuth))
	m.Handle("GET "+wsPath+"/app/{key}", s.hub)
	m.Handle("GET /app/{key}", s.hub)

	// Intercom side (API.md §4): Bearer <the intercom's secret>.
	m.Handle("POST /api/hw/v1/ring", s.intercom(s.ring))
	m.Handle("GET /api/hw/v1/calls/{call}", s.intercom(s.hwCall))
	m.Handle("POST /api/hw/v1/calls/{call}/end", s.intercom(s.hwEndCall))
	m.Handle("POST /api/hw/v1/calls/{call}/answered", s.intercom(s.hwAnswered))
	m.Handle("POST /api/hw/v1/heartbeat", s.intercom(s.heartbeat))
	m.Handle("POST /api/hw/v1/pairing", s.intercom(s.hwPairing))
	m.Handle("POST /api/hw/v1/access", s.intercom(s.hwAccess))
	m.Handle("GET /api/hw/v1/credentials", s.intercom(s.hwCredentials))

	// The SIP server (deploy/kamailio): Bearer --sip-api-token.
	m.Handle("POST /api/sip/v1/ring", s.sipServer(s.sipRing))
	m.Handle("GET /api/sip/v1/calls/{number}", s.sipServer(s.sipCall))
	m.Handle("POST /api/sip/v1/calls/{number}/end", s.sipServer(s.sipEnd))
	m.Handle("POST /api/sip/v1/calls/{number}/connected", s.sipServer(s.sipConnected))

	// Admin API (API.md §7): Bearer --admin-token or a named credential's
	// token (admin_audit.go); every write that succeeds is audited.
	m.Handle("GET /api/admin/v1/users", s.admin(s.listUsers))
	m.Handle("POST /api/admin/v1/users", s.admin(s.createUser))
	m.Handle("GET /api/admin/v1/users/{user}", s.admin(s.getUser))
	m.Handle("PATCH /api/admin/v1/users/{user}", s.admin(s.patchUser))
	m.Handle("DELETE /api/admin/v1/users/{user}", s.admin(s.deleteUser))
	m.Handle("POST /api/admin/v1/users/{user}/password", s.admin(s.resetPassword))
	m.Handle("GET /api/admin/v1/users/{user}/memberships", s.admin(s.listUserMemberships))
	m.Handle("GET /api/admin/v1/users/{user}/devices", s.admin(s.userDevices))
	m.Handle("GET /api/admin/v1/cameras", s.admin(s.listCameras))
	m.Handle("POST /api/admin/v1/cameras", s.admin(s.createCamera))
	m.Handle("GET /api/admin/v1/cameras/{camera}", s.admin(s.getCamera))
	m.Handle("PATCH /api/admin/v1/cameras/{camera}", s.admin(s.patchCamera))
	m.Handle("DELETE /api/admin/v1/cameras/{camera}", s.admin(s.deleteCamera))
	m.Handle("GET /api/admin/v1/intercoms", s.admin(s.listAdminIntercoms))
	m.Handle("POST /api/admin/v1/intercoms", s.admin(s.createIntercom))
	m.Handle("DELETE /api/admin/v1/intercoms/{intercom}", s.admin(s.deleteIntercom))
	m.Handle("POST /api/admin/v1/intercoms/{intercom}/secret", s.admin(s.rotateSecret))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/calls", s.admin(s.intercomCalls))
	m.Handle("POST /api/admin/v1/intercoms/{intercom}/sip-credentials", s.admin(s.sipCredentials))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/members", s.admin(s.listIntercomMembers))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/members/{user}", s.admin(s.getMember))
	m.Handle("PUT /api/admin/v1/intercoms/{intercom}/members/{user}", s.admin(s.putMember))
	m.Handle("DELETE /api/admin/v1/intercoms/{intercom}/members/{user}", s.admin(s.deleteMember))
	m.Handle("GET /api/admin/v1/calls/{call}", s.admin(s.adminCall))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/control-log", s.admin(s.controlLog))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}", s.admin(s.getAdminIntercom))
	m.Handle("PATCH /api/admin/v1/intercoms/{intercom}", s.admin(s.patchIntercom))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/flats/{flat}", s.admin(s.getFlat))
	m.Handle("PATCH /api/admin/v1/intercoms/{intercom}/flats/{flat}", s.admin(s.patchFlat))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/keys", s.admin(s.listKeys))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/keys/{key}", s.admin(s.getKey))
	m.Handle("PUT /api/admin/v1/intercoms/{intercom}/keys/{key}", s.admin(s.putKey))
	m.Handle("DELETE /api/admin/v1/intercoms/{intercom}/keys/{key}", s.admin(s.deleteKey))
	m.Handle("GET /api/admin/v1/intercoms/{intercom}/access-log", s.admin(s.accessLog))
	m.Handle("GET /api/admin/v1/credentials", s.admin(s.listCredentials))
	m.Handle("POST /api/admin/v1/credentials", s.admin(s.createCredential))
	m.Handle("GET /api/admin/v1/credentials/{credential}", s.admin(s.getCredential))
	m.Handle("DELETE /api/admin/v1/credentials/{credential}", s.admin(s.deleteCredential))
	m.Handle("GET /api/admin/v1/audit", s.admin(s.auditLog))

	// Operations (API.md §8).
	m.Handle("GET /healthz", s.handle(s.healthz))
	m.Handle("GET /readyz", s.handle(s.readyz))
	m.Handle("GET /metrics", s.metricsHandler())
	m.Handle("GET /api/openapi.yaml", http.HandlerFunc(serveOpenAPI))

	// The residents' web app (package web), on the client API above.
	if s.web != nil {
		m.Handle("GET /{$}", s.web)
		m.Handle("GET /web/", s.web)
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return encode(w, http.StatusOK, map[string]string{"status": "ok"})
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPI)
}

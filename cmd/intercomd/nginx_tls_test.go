package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"intercom/postgres/pgtest"
	"intercom/pusher/pusherclient"
)

// TestNginxTLS runs the production setup the README's "Running it in
// production" describes: three nodes on one PostgreSQL database, each with
// its admin API and metrics on private listeners, behind the shipped nginx
// config terminating TLS with a test certificate. Through nginx, over TLS
// only (plain HTTP is redirected, TLS before 1.2 refused), it drives a
// login, a socket subscribed as the apps do, a PATCH whose event reaches
// that socket, a panel's heartbeat and ring (the ring reaching the socket),
// and the apps' SIP WebSocket upgraded to the /sip upstream (an echo server
// standing in for Kamailio); the private paths never pass the public
// server, and an admin call passes the config's admin server to the nodes'
// admin listeners (from a private address only).
func TestNginxTLS(t *testing.T) {
	nginx := nginxBinary(t)
	db := pgtest.NewDatabase(t)
	cert, key, roots := testCertificate(t)
	port, redirectPort, adminPort := lbFreePort(t), lbFreePort(t), lbFreePort(t)
	public := "https://127.0.0.1:" + port
	nodes := make([]*lbNode, 3)
	addrs, adminAddrs := make([]string, len(nodes)), make([]string, len(nodes))
	for i := range nodes {
		nodes[i] = startLBNode(t, db, public, "--admin-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
		addrs[i], adminAddrs[i] = nodes[i].addr, nodes[i].adminAddr
		if nodes[i].adminAddr == nodes[i].addr || nodes[i].metricsAddr != nodes[i].adminAddr {
			t.Fatalf("node %d: admin API at %s and metrics at %s, want one private listener apart from %s",
				i+1, nodes[i].adminAddr, nodes[i].metricsAddr, nodes[i].addr)
		}
	}
	sip := startSIPEcho(t)
	startNginxSite(t, nginx, nginxSite{nodes: addrs, listen: "127.0.0.1:" + port, redirect: "127.0.0.1:" + redirectPort,
		kamailio: sip.addr, cert: cert, key: key, adminNodes: adminAddrs, admin: "127.0.0.1:" + adminPort})
	tlsConfig := &tls.Config{RootCAs: roots}
	c := &lbClient{t: t, base: public, client: &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig}}}

	// TLS 1.2 at least; plain HTTP only redirects.
	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, tlsConfig)
	if err != nil {
		t.Fatalf("TLS to nginx: %v", err)
	}
	if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("TLS version %s, want TLS 1.3", tls.VersionName(v))
	}
	conn.Close()
	// Refused by the config's ssl_protocols (and, on Debian, by OpenSSL's own
	// policy too: hence the look at the config itself).
	if conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Error("nginx accepted TLS 1.1")
	}
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "intercomd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^\s*ssl_protocols\s+([^;]*);`).FindAllSubmatch(shipped, -1); len(m) != 1 || string(m[0][1]) != "TLSv1.2 TLSv1.3" {
		t.Errorf("deploy/nginx/intercomd.conf: ssl_protocols %q, want one, TLSv1.2 TLSv1.3", m)
	}
	plain := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := plain.Get("http://127.0.0.1:" + redirectPort + "/api/v1/users/self?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 308 || res.Header.Get("Location") != "https://127.0.0.1/api/v1/users/self?x=1" {
		t.Errorf("plain HTTP: %d to %q, want 308 to the same path over HTTPS", res.StatusCode, res.Header.Get("Location"))
	}

	// Provisioning on a node's private admin listener, as an operator on
	// the operators' network does; through the balancer the admin API and
	// the metrics are not there (the node's 404 from this host, nginx's 403
	// from any other).
	operator := &lbClient{t: t, base: "http://" + nodes[0].adminAddr, client: &http.Client{Timeout: 20 * time.Second}}
	var user struct{ ID int64 }
	operator.wantJSON(operator.do("POST", "/api/admin/v1/users", `{"login":"resident","password":"resident-password"}`, lbAdminHeaders()), 201, &user)
	var ic struct {
		ID     int64
		Secret string
	}
	operator.wantJSON(operator.do("POST", "/api/admin/v1/intercoms", `{"address":"Gate 1"}`, lbAdminHeaders()), 201, &ic)
	operator.wantJSON(operator.do("PUT", fmt.Sprintf("/api/admin/v1/intercoms/%d/members/%d", ic.ID, user.ID),
		`{"title":"Gate","status":"confirmed"}`, lbAdminHeaders()), 200, nil)
	c.wantJSON(c.do("POST", "/api/admin/v1/users", `{"login":"x","password":"password-x"}`, lbAdminHeaders()), 404, nil)
	c.wantJSON(c.do("GET", "/metrics", "", nil), 404, nil)
	stranger := &lbClient{t: t, base: public, client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: tlsConfig, DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}}
	stranger.wantJSON(stranger.do("GET", "/metrics", "", nil), 403, nil)
	stranger.wantJSON(stranger.do("POST", "/api/admin/v1/users", `{"login":"x","password":"password-x"}`, lbAdminHeaders()), 403, nil)
	stranger.wantJSON(stranger.do("GET", "/api/sip/v1/calls/2999999999", "", nil), 403, nil)
	// The billing system on the operators' network, through the config's
	// admin server: its admin calls reach the nodes' admin listeners (its
	// write is there for the operator's read on one node); from an address
	// it does not allow, 403; nothing but the admin API there.
	billing := &lbClient{t: t, base: "http://127.0.0.1:" + adminPort, client: &http.Client{Timeout: 20 * time.Second}}
	var payer struct{ ID int64 }
	billing.wantJSON(billing.do("POST", "/api/admin/v1/users", `{"login":"payer","password":"payer-password"}`, lbAdminHeaders()), 201, &payer)
	var read struct{ Login string }
	operator.wantJSON(operator.do("GET", fmt.Sprintf("/api/admin/v1/users/%d", payer.ID), "", lbAdminHeaders()), 200, &read)
	if read.Login != "payer" {
		t.Errorf("the user made through the admin server: login %q on node 1's admin listener, want payer", read.Login)
	}
	billing.wantJSON(billing.do("GET", "/api/admin/v1/users", "", nil), 401, nil)
	for _, path := range []string{"/metrics", "/api/v1/users/self"} {
		if r := billing.do("GET", path, "", nil); r.status != 404 || r.fromNode {
			t.Errorf("the admin server's %s: %d (from a node: %v), want nginx's own 404", path, r.status, r.fromNode)
		}
	}
	outsider := &lbClient{t: t, base: billing.base, client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}}
	outsider.wantJSON(outsider.do("GET", "/api/admin/v1/users", "", lbAdminHeaders()), 403, nil)
	// The public server still refuses the admin API, whoever asks: the
	// node's 404 from this host, nginx's 403 from any other.
	c.wantJSON(c.do("GET", fmt.Sprintf("/api/admin/v1/users/%d", payer.ID), "", lbAdminHeaders()), 404, nil)
	stranger.wantJSON(stranger.do("GET", fmt.Sprintf("/api/admin/v1/users/%d", payer.ID), "", lbAdminHeaders()), 403, nil)

	for i, n := range nodes {
		scrape(t, "http://"+n.metricsAddr) // Prometheus's way: each node at its own metrics address
		if res, err := http.Get("http://" + n.addr + "/metrics"); err != nil {
			t.Fatal(err)
		} else if res.Body.Close(); res.StatusCode != 404 {
			t.Errorf("node %d's public listener serves /metrics: %d", i+1, res.StatusCode)
		}
	}

	// The resident's app logs in over TLS, learns the socket's wss:// URL
	// and subscribes to its account's channel.
	loginHeaders := map[string]string{"X-Client": "web", "X-UUID": "resident-tls", "Content-Type": "application/json"}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	r := c.do("POST", "/api/v1/token", `{"login":"resident","password":"resident-password"}`, loginHeaders)
	c.wantJSON(r, 200, &login)
	device := map[string]string{"X-Client": "web", "X-UUID": "resident-tls", "Authorization": "Bearer " + login.AccessToken}
	var self struct {
		ID            int64
		AccessTokenID string `json:"access_token_id"`
	}
	c.wantJSON(c.do("GET", "/api/v1/users/self", "", device), 200, &self)
	var ws struct {
		WSURL  string `json:"ws_url"`
		AppKey string `json:"app_key"`
	}
	c.wantJSON(c.do("GET", "/api/v1/wsurl", "", device), 200, &ws)
	if want := "wss://127.0.0.1:" + port + "/ws"; ws.WSURL != want {
		t.Fatalf("wsurl %q, want the balancer's %q", ws.WSURL, want)
	}
	socket := c.dialSocket(ws.WSURL + "/app/" + ws.AppKey + "?protocol=7&client=nginx-tls")
	for _, channel := range []string{fmt.Sprintf("private-user.%d", self.ID), "private-token." + self.AccessTokenID} {
		var auth struct{ Auth string }
		c.wantJSON(c.do("POST", "/api/v1/broadcasting/auth", url.Values{"socket_id": {socket.SocketID}, "channel_name": {channel}}.Encode(),
			map[string]string{"X-Client": "web", "X-UUID": "resident-tls", "Authorization": device["Authorization"],
				"Content-Type": "application/x-www-form-urlencoded"}), 200, &auth)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err = socket.Subscribe(ctx, channel, auth.Auth)
		cancel()
		if err != nil {
			t.Fatalf("subscribing to %s through nginx over TLS: %v", channel, err)
		}
	}

	// A PATCH through the balancer; whichever node takes it, the socket
	// hears of it.
	patch := map[string]string{"X-Client": "web", "X-UUID": "resident-tls", "Authorization": device["Authorization"], "Content-Type": "application/json"}
	c.wantJSON(c.do("PATCH", fmt.Sprintf("/api/v1/intercom/%d", ic.ID), `{"title":"Front door"}`, patch), 200, nil)
	waitRename(t, socket, "Front door")

	// The panel, configured as the README says: its heartbeat brings it
	// online (the operator's list of offline intercoms empties), its ring
	// reaches the resident's socket, the visitor's end ends it.
	offline := func() int {
		var page struct{ Meta struct{ Total int } }
		operator.wantJSON(operator.do("GET", "/api/admin/v1/intercoms?online=false", "", lbAdminHeaders()), 200, &page)
		return page.Meta.Total
	}
	if n := offline(); n != 1 {
		t.Errorf("before its first heartbeat: %d intercoms offline, want 1", n)
	}
	panel := map[string]string{"Authorization": "Bearer " + ic.Secret, "Content-Type": "application/json"}
	c.wantJSON(c.do("POST", "/api/hw/v1/heartbeat", "", panel), 204, nil)
	if n := offline(); n != 0 {
		t.Errorf("after its heartbeat: %d intercoms offline, want 0", n)
	}
	var rung struct {
		CallID int64 `json:"call_id"`
	}
	c.wantJSON(c.do("POST", "/api/hw/v1/ring", `{}`, panel), 201, &rung)
	lbWaitRing(t, socket, rung.CallID, "the socket over TLS")
	c.wantJSON(c.do("POST", fmt.Sprintf("/api/hw/v1/calls/%d/end", rung.CallID), "", panel), 204, nil)

	// The apps' SIP WebSocket: upgraded at /sip and passed on with its
	// query and the client's address.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	sipConn, res, err := websocket.Dial(ctx, "wss://127.0.0.1:"+port+"/sip?token=app-sip-token",
		&websocket.DialOptions{Subprotocols: []string{"sip"}, HTTPClient: c.client})
	if err != nil {
		t.Fatalf("SIP WebSocket through nginx: %v", err)
	}
	defer sipConn.CloseNow()
	if res.StatusCode != http.StatusSwitchingProtocols || sipConn.Subprotocol() != "sip" {
		t.Errorf("SIP WebSocket: %d, subprotocol %q; want 101 and sip", res.StatusCode, sipConn.Subprotocol())
	}
	if hsts := res.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("Strict-Transport-Security %q, want max-age", hsts)
	}
	msg := "OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n"
	if err := sipConn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if _, echo, err := sipConn.Read(ctx); err != nil || string(echo) != msg {
		t.Errorf("SIP WebSocket echo %q, %v; want the message back", echo, err)
	}
	if got := sip.request(); got.query != "token=app-sip-token" || got.forwardedFor != "127.0.0.1" {
		t.Errorf("the SIP upstream got query %q and X-Forwarded-For %q, want the token and 127.0.0.1", got.query, got.forwardedFor)
	}
	sipConn.Close(websocket.StatusNormalClosure, "")
	socket.Conn.Close(websocket.StatusNormalClosure, "")
}

// waitRename reads s until an intercom.rename to title, failing after 20 s.
func waitRename(t *testing.T, s *pusherclient.Client, title string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		m, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("no intercom.rename to %q: %v", title, err)
		}
		var e struct {
			Type     string
			Intercom struct{ Title string }
		}
		if json.Unmarshal([]byte(m.Data), &e) == nil && e.Type == "intercom.rename" && e.Intercom.Title == title {
			return
		}
	}
}

// testCertificate writes a self-signed certificate for 127.0.0.1 and
// localhost, and its key, into a temporary directory; it returns their
// files and a pool that trusts the certificate.
func testCertificate(t *testing.T) (cert, key string, roots *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "intercomd test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(parsed)
	return cert, key, roots
}

// sipEcho stands in for Kamailio's WebSocket listener: it upgrades with
// the sip subprotocol and echoes every message.
type sipEcho struct {
	addr string
	mu   sync.Mutex
	last sipEchoRequest
}

// sipEchoRequest is what the upstream saw of an upgrade.
type sipEchoRequest struct{ query, forwardedFor string }

func (s *sipEcho) request() sipEchoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func startSIPEcho(t *testing.T) *sipEcho {
	t.Helper()
	e := &sipEcho{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sip" {
			http.NotFound(w, r)
			return
		}
		e.mu.Lock()
		e.last = sipEchoRequest{query: r.URL.RawQuery, forwardedFor: r.Header.Get("X-Forwarded-For")}
		e.mu.Unlock()
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"sip"}, InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for {
			typ, b, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), typ, b); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	e.addr = strings.TrimPrefix(srv.URL, "http://")
	return e
}

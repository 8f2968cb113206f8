// The WebRTC voice leg in a real browser, before the web app exists: SIP.js
// in Chromium (a page of its own) answers a panel's call through the
// shipped Kamailio and rtpengine (APP_MEDIA=webrtc: DTLS-SRTP, ICE,
// rtcp-mux towards the browser), and audio flows both ways: the panel
// (sipp, media.xml) plays sip-tester's g711a.pcap and echoes what it hears;
// the browser sends its fake microphone. The page is e2e/web/rig/webrtc.html. Once with the default ICE
// configuration, once relay-only through the rig's coturn, and once through
// nginx in front of two nodes on PostgreSQL (@cluster). The app's own call
// spec may replace this one.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import {
  test,
  expect,
  resident,
  device,
  socket,
  answer,
  panelCall,
  turnServers,
  awaitAudio,
  audioStats,
  figure,
  repoRoot,
} from "./fixtures.mjs";

// The rig page and sip.js's ES modules come from a server of this spec on
// 127.0.0.1: a secure context (getUserMedia works), and in the loopback
// address space like Kamailio's WebSocket. (A page fulfilled by page.route
// has no address space: Chromium's Local Network Access checks then block
// its WebSocket to 127.0.0.1.)
let rigURL;
let server;
test.beforeAll(async () => {
  const lib = path.join(repoRoot, "e2e", "node_modules", "sip.js", "lib");
  server = http.createServer((req, res) => {
    const rel = new URL(req.url, "http://rig").pathname;
    let file = null;
    if (rel === "/webrtc.html") file = path.join(repoRoot, "e2e", "web", "rig", "webrtc.html");
    else if (rel.startsWith("/sip.js/")) file = path.join(lib, path.normalize(rel.slice("/sip.js/".length)));
    if (!file || !file.startsWith(path.join(repoRoot, "e2e")) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8";
    res.writeHead(200, { "Content-Type": type }).end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  rigURL = `http://127.0.0.1:${server.address().port}/webrtc.html`;
});
test.afterAll(() => server?.close());

async function openRig(page) {
  await page.goto(rigURL);
  await expect(page.locator("#state")).toHaveText("idle");
}

// callWithAudio: a resident's web device with a socket, the panel dials the
// flat, the device answers through the API and the page joins the call.
// Returns the audio figures once both ways passed min packets.
async function callWithAudio(page, request, { relay = false, sipThroughBalancer = false } = {}) {
  const flat = 15;
  const { intercom, user } = await resident(request, { flat });
  const dev = await device(request, user);
  const sock = await socket(request, dev);
  await openRig(page);

  const panel = await panelCall({ panel: intercom, flat });
  const rung = await sock.next("intercom_ring");
  const id = rung.data.call_id;
  const a = await answer(request, dev, id);
  if (sipThroughBalancer) {
    // The SIP WebSocket on the apps' one address: nginx's /sip to Kamailio.
    expect(new URL(a.sip).host).toBe(new URL(process.env.INTERCOMD_URL).host);
  }
  // The answer's ice_servers (TURN credentials from intercomd) when it
  // gives them; else the rig computes coturn's own.
  const iceServers = a.ice_servers ?? turnServers(a.number);
  figure("ice servers from", a.ice_servers ? "the start answer" : "the spec (TURN_SECRET)");
  await page.evaluate((o) => window.join(o), { sip: a.sip, number: a.number, host: a.host, iceServers });
  await expect(page.locator("#state")).toHaveText(/registered|invited|established/);

  await awaitAudio(page, 50);
  const res = await panel.done;
  expect(res.code, `sipp media.xml:\n${res.out}`).toBe(0);
  await expect(page.locator("#state")).toHaveText("terminated");
  const { states, times } = await page.evaluate(() => ({ states: window.rigStates, times: window.rigTimes }));
  // (The held INVITE may overtake the REGISTER's 200 OK on the socket.)
  expect([...states].sort()).toEqual(["connected", "established", "invited", "registered", "terminated"]);
  expect(states.at(-1)).toBe("terminated");
  // The whole call's figures: the connection's last sample before the BYE closed it.
  const stats = await audioStats(page);
  // Two streams reach the page on one m-line, neither signalled by SSRC:
  // the panel's recording and the page's own audio echoed by the panel.
  // Chromium follows one unsignalled stream at a time (which one is a
  // race), so the page hears the round trip page → rtpengine → panel →
  // rtpengine → page, or the panel's recording, or one then the other; each
  // crosses the panel.
  const heard = Object.entries(stats.inboundSSRCs || {}).map(([ssrc, n]) =>
    `${n} packets of ${Number(ssrc) === stats.outboundSSRC ? "its own audio, echoed by the panel" : "the panel's recording"}`,
  );
  figure(relay ? "relay call" : "call", {
    packetsSent: stats.packetsSent,
    heard,
    local: stats.local,
    remote: stats.remote,
    connectedMs: stats.connectedMs,
    establishedToByeMs: times.terminated - times.established,
  });

  const call = await request.get(`/api/v1/intercom/calls/${id}`, { headers: dev.headers });
  expect((await call.json()).status).toBe("ended");
  sock.close();
  return stats;
}

test.describe("WebRTC voice through Kamailio and rtpengine", () => {
  test("default ICE: host candidates to rtpengine", async ({ page, request }) => {
    const stats = await callWithAudio(page, request);
    expect(stats.pcs).toBe(1);
    expect(stats.local?.type, `selected pair ${JSON.stringify(stats)}`).toBe("host");
  });

  test.describe("relay only", () => {
    test.use({ iceRelay: true });
    test("through coturn", async ({ page, request }) => {
      const stats = await callWithAudio(page, request, { relay: true });
      expect(stats.local?.type, `selected pair ${JSON.stringify(stats)}`).toBe("relay");
    });
  });

  test("through nginx in front of two nodes", { tag: "@cluster" }, async ({ page, request }) => {
    await callWithAudio(page, request, { sipThroughBalancer: true });
  });
});

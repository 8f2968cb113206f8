// Shared helpers of the web app's specs. Every spec imports `test` and
// `expect` from here, not from @playwright/test: each page then
//   - fails its test on any console error, uncaught exception or Content
//     Security Policy violation (allow an expected one with
//     consoleErrors.allow(/regexp/));
//   - remembers every RTCPeerConnection in window.__pcs, sampling its audio
//     figures every 200 ms (audioStats reads them, even after the call's
//     BYE closed it), and forces iceTransportPolicy "relay" when the spec
//     says test.use({ iceRelay: true }).
//
// The rig (cmd/intercomd/web_test.go) passes its addresses in the
// environment: INTERCOMD_URL, INTERCOMD_ADMIN_TOKEN, SIPP, SIP_PORT,
// SIP_DOMAIN, TURN_URL, TURN_SECRET. Tests share one intercomd: make every
// login unique with uniq().
import { test as base, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

export { expect };

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "..", "..");
export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through TestWebApp (cmd/intercomd/web_test.go)`);
  return v;
};

// uniq is a name no other test of this run uses.
let seq = 0;
export const uniq = (prefix = "resident") =>
  `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

// ---------------------------------------------------------------- the APIs

async function json(res, what, status) {
  const text = await res.text();
  if (status !== undefined && res.status() !== status) {
    throw new Error(`${what}: ${res.status()} ${text}, want ${status}`);
  }
  return text ? JSON.parse(text) : null;
}

// admin provisions through /api/admin/v1 with INTERCOMD_ADMIN_TOKEN.
export function admin(request) {
  const headers = { Authorization: `Bearer ${env("INTERCOMD_ADMIN_TOKEN")}` };
  const call = async (method, url, data, status) =>
    json(await request.fetch(`/api/admin/v1${url}`, { method, headers, data }), `${method} /api/admin/v1${url}`, status);
  return {
    // user makes an account: {id, login, password, ...}.
    async user(login = uniq(), password = `password-of-${login}`) {
      const u = await call("POST", "/users", { login, password }, 201);
      return { ...u, login, password };
    },
    // intercom makes one: {id, secret, sip: {username, password}, ...}.
    async intercom(address = uniq("Gate")) {
      return call("POST", "/intercoms", { address }, 201);
    },
    // member confirms user in intercom at flat (omit it for a house).
    async member(intercom, user, { title = "Home", flat } = {}) {
      const body = { title, status: "confirmed" };
      if (flat !== undefined) body.flat = flat;
      return call("PUT", `/intercoms/${intercom.id}/members/${user.id}`, body, 200);
    },
    call,
  };
}

// resident is the usual cast: an intercom, and a new account living at
// flat in it. Returns {intercom, user}.
export async function resident(request, { flat = 15, title = "Home" } = {}) {
  const a = admin(request);
  const intercom = await a.intercom();
  const user = await a.user();
  await a.member(intercom, user, { title, flat });
  return { intercom, user };
}

// heartbeat and ring are the intercom's own calls (API.md §4).
export async function heartbeat(request, intercom) {
  const res = await request.post("/api/hw/v1/heartbeat", { headers: { Authorization: `Bearer ${intercom.secret}` } });
  expect(res.status(), "heartbeat").toBe(204);
}
export async function ring(request, intercom, flat) {
  const data = flat === undefined ? {} : { flat };
  const res = await request.post("/api/hw/v1/ring", { headers: { Authorization: `Bearer ${intercom.secret}` }, data });
  return json(res, "POST /api/hw/v1/ring", 201);
}

// device signs user in as a web app (X-Client: web) outside the browser,
// for specs that answer through the API: {headers, token, user, uuid}.
export async function device(request, user, uuid = crypto.randomUUID()) {
  const res = await request.post("/api/v1/token", {
    headers: { "X-Client": "web", "X-UUID": uuid },
    data: { login: user.login, password: user.password },
  });
  const v = await json(res, "POST /api/v1/token", 200);
  return {
    uuid,
    token: v.access_token,
    user: v.user,
    headers: { Authorization: `Bearer ${v.access_token}`, "X-Client": "web", "X-UUID": uuid },
  };
}

// socket opens a Pusher socket for dev (GET /wsurl, broadcasting/auth) and
// subscribes to its private-token channel, as the apps do, so that rings
// reach it: {events, next(type, match), close()}.
export async function socket(request, dev) {
  const w = await json(await request.get("/api/v1/wsurl", { headers: dev.headers }), "GET /api/v1/wsurl", 200);
  const ws = new WebSocket(`${w.ws_url}/app/${w.app_key}?protocol=7&client=e2e-rig&version=8`);
  const events = [];
  const waiters = new Set();
  const frames = [];
  let frameWaiter = null;
  ws.on("message", (raw) => {
    const m = JSON.parse(String(raw));
    frames.push(m);
    frameWaiter?.();
    if (m.event === "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated") {
      events.push(JSON.parse(m.data));
      for (const w of waiters) w();
    }
  });
  const frame = (event) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket: no ${event} in 10 s`)), 10_000);
      frameWaiter = () => {
        const m = frames.find((f) => f.event === event);
        if (m) {
          clearTimeout(timer);
          frameWaiter = null;
          resolve(m);
        }
      };
      frameWaiter();
    });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const { socket_id } = JSON.parse((await frame("pusher:connection_established")).data);
  const channel = `private-token.${dev.user.access_token_id}`;
  const auth = await json(
    await request.post("/api/v1/broadcasting/auth", { headers: dev.headers, form: { socket_id, channel_name: channel } }),
    "POST /api/v1/broadcasting/auth",
    200,
  );
  ws.send(JSON.stringify({ event: "pusher:subscribe", data: { channel, auth: auth.auth } }));
  await frame("pusher_internal:subscription_succeeded");
  openSockets.add(ws);
  return {
    events,
    // next waits for an event of type (and match) and returns it.
    next(type, match = () => true, timeout = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.find((e) => e.type === type && match(e));
          if (e) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(e);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`socket: no ${type} in ${timeout} ms; got ${JSON.stringify(events.map((e) => e.type))}`));
        }, timeout);
        waiters.add(check);
        check();
      });
    },
    close() {
      openSockets.delete(ws);
      ws.close();
    },
  };
}
const openSockets = new Set();

// answer answers call id on dev: {sip, number, host, ice_servers?}.
export async function answer(request, dev, id) {
  return json(
    await request.post(`/api/v1/intercom/calls/${id}/start`, { headers: dev.headers }),
    `POST /api/v1/intercom/calls/${id}/start`,
    200,
  );
}

// turnServers is the RTCIceServer of the rig's coturn, with TURN REST
// credentials computed here from TURN_SECRET (deploy/coturn: username
// "<expiry>:<name>", password base64(HMAC-SHA1(secret, username))). The
// start answer's ice_servers, where intercomd gives them, are preferred.
export function turnServers(name = "rig") {
  const username = `${Math.floor(Date.now() / 1000) + 600}:${name}`;
  const credential = crypto.createHmac("sha1", env("TURN_SECRET")).update(username).digest("base64");
  return [{ urls: [env("TURN_URL")], username, credential }];
}

// ---------------------------------------------------------- the panel: sipp

const sippProcesses = new Set();

function freeUDPPort(port = 0) {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => resolve(0));
    s.bind(port, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

// sippMediaPort is a port p for sipp's -mp with p and p+2 free (see
// sippMediaPort in cmd/intercomd/sip_test.go: 10000-19999).
async function sippMediaPort() {
  for (let i = 0; i < 500; i++) {
    const p = 10000 + 4 * Math.floor(Math.random() * 2500);
    if ((await freeUDPPort(p)) && (await freeUDPPort(p + 2))) return p;
  }
  throw new Error("no free media ports for sipp in 10000-19999");
}

// panelCall runs sipp as the intercom `panel` dialling flat (or any SIP
// user) with a scenario of cmd/intercomd/testdata/sipp, as sip_test.go's
// dialIn does; media.xml (the default) plays sip-tester's g711a.pcap and
// echoes what it hears. Returns {done: Promise<{code, out}>, kill()};
// `await call.done` and check code 0 for "the call went as scripted".
export async function panelCall({ panel, flat, scenario = "media.xml", media = scenario === "media.xml", talk = 6000, extra = [] }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sipp-"));
  const sf = path.join(repoRoot, "cmd", "intercomd", "testdata", "sipp", scenario);
  const domain = env("SIP_DOMAIN");
  const args = [
    `127.0.0.1:${env("SIP_PORT")}`, "-sf", sf, "-m", "1", "-p", String(await freeUDPPort()),
    "-i", "127.0.0.1", "-s", String(flat), "-key", "domain", domain, "-key", "user", panel.sip.username,
    "-au", panel.sip.username, "-ap", panel.sip.password, "-nostdin", "-timeout", "30", "-timeout_error",
    "-mp", String(await sippMediaPort()),
  ];
  if (media) {
    // media.xml talks for -d ms: long enough for the browser's ICE and DTLS and 50 packets more.
    args.push("-rtp_echo", "-d", String(talk));
    fs.symlinkSync("/usr/share/sip-tester/g711a.pcap", path.join(dir, "g711a.pcap"));
  }
  args.push(...extra);
  const child = spawn(env("SIPP"), args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  sippProcesses.add(child);
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (out += b));
  const done = new Promise((resolve) =>
    child.on("close", (code) => {
      sippProcesses.delete(child);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, out: out.split("\n").slice(-30).join("\n") });
    }),
  );
  return { done, kill: () => child.kill() };
}

// ------------------------------------------------------ checks on the page

// expectAccessible runs axe-core on the page and fails on serious or
// critical violations of WCAG 2.1 A and AA.
export async function expectAccessible(page, name) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  expect(bad, `accessibility of ${name}`).toEqual([]);
}

// screenshot saves docs/screenshots/<name>-<project>.png when SCREENSHOTS is set.
export async function screenshot(page, name) {
  if (!process.env.SCREENSHOTS) return;
  const file = path.join(repoRoot, "docs", "screenshots", `${name}-${test.info().project.name}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
}

// audioStats sums the audio figures of every RTCPeerConnection the page
// made: {pcs, packetsReceived, packetsSent, local, remote, ...} with the
// candidate types (host, srflx, relay) and addresses of the selected pair
// of the last connection that had one. Figures of a closed connection are
// its last sample (taken every 200 ms).
export async function audioStats(page) {
  return page.evaluate(async () => {
    await Promise.all(window.__pcs.map((pc) => window.__sampleRTC(pc)));
    const out = { pcs: window.__pcs.length, packetsReceived: 0, packetsSent: 0, local: null, remote: null };
    for (const pc of window.__pcs) {
      const s = pc.__rig || {};
      out.packetsReceived += s.packetsReceived || 0;
      out.packetsSent += s.packetsSent || 0;
      if (s.local) ({ local: out.local, remote: out.remote } = s);
      // Milliseconds from the connection's creation to "connected" and to the first packet in.
      if (s.connectedMs !== undefined) out.connectedMs = s.connectedMs;
      if (s.firstPacketMs !== undefined) out.firstPacketMs = s.firstPacketMs;
      // Packets per SSRC heard (the panel's recording, the page's own echoed
      // back) and the SSRC the page sends with.
      out.inboundSSRCs = s.inboundSSRCs;
      out.outboundSSRC = s.outboundSSRC;
    }
    return out;
  });
}

// awaitAudio waits until the page received and sent more than min audio
// packets, and returns audioStats then.
export async function awaitAudio(page, min = 50, timeout = 15_000) {
  let last;
  await expect
    .poll(
      async () => {
        last = await audioStats(page);
        return Math.min(last.packetsReceived, last.packetsSent);
      },
      { timeout, intervals: [200], message: `audio packets both ways > ${min}` },
    )
    .toBeGreaterThan(min);
  return last;
}

// figure records a number for TestWebApp's log (a test annotation in the
// JSON report).
export function figure(name, value) {
  test.info().annotations.push({ type: "figure", description: `${name}: ${typeof value === "string" ? value : JSON.stringify(value)}` });
}

// rtcInit runs in every page before its scripts (see the top of this file).
function rtcInit({ relay }) {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.__pcs = [];
  window.__sampleRTC = async (pc) => {
    if (pc.connectionState === "closed" || pc.signalingState === "closed") return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const prev = pc.__rig || {};
    const s = { ...prev, packetsReceived: 0, packetsSent: 0 };
    let pairId = null;
    const ssrcs = { ...(prev.inboundSSRCs || {}) };
    report.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        s.packetsReceived += r.packetsReceived || 0;
        ssrcs[r.ssrc] = Math.max(ssrcs[r.ssrc] || 0, r.packetsReceived || 0);
      }
      if (r.type === "outbound-rtp" && r.kind === "audio") {
        s.packetsSent += r.packetsSent || 0;
        s.outboundSSRC = r.ssrc;
      }
      if (r.type === "transport" && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
    });
    const pair = pairId && report.get(pairId);
    if (pair) {
      const c = (id) => {
        const x = report.get(id);
        return x && { type: x.candidateType, address: x.address, port: x.port, protocol: x.protocol, relayProtocol: x.relayProtocol };
      };
      s.local = c(pair.localCandidateId);
      s.remote = c(pair.remoteCandidateId);
    }
    s.inboundSSRCs = ssrcs;
    if (!s.firstPacketMs && s.packetsReceived > 0) s.firstPacketMs = Math.round(performance.now() - pc.__created);
    pc.__rig = s;
  };
  class RigPeerConnection extends Native {
    constructor(config, ...rest) {
      super(relay ? { ...(config || {}), iceTransportPolicy: "relay" } : config, ...rest);
      window.__pcs.push(this);
      this.__created = performance.now();
      this.__rig = { packetsReceived: 0, packetsSent: 0, local: null, remote: null };
      this.addEventListener("connectionstatechange", () => {
        if (this.connectionState === "connected") this.__rig.connectedMs = Math.round(performance.now() - this.__created);
      });
      const timer = setInterval(() => {
        if (this.connectionState === "closed") clearInterval(timer);
        else window.__sampleRTC(this);
      }, 200);
    }
  }
  window.RTCPeerConnection = RigPeerConnection;
}

// --------------------------------------------------------------- fixtures

export const test = base.extend({
  // iceRelay: test.use({ iceRelay: true }) makes every RTCPeerConnection
  // of the page relay-only (iceTransportPolicy "relay").
  iceRelay: [false, { option: true }],

  consoleErrors: [
    async ({ page }, use) => {
      const errors = [];
      const allowed = [];
      const note = (text) => {
        if (!allowed.some((re) => re.test(text))) errors.push(text);
      };
      page.on("console", (m) => {
        if (m.type() === "error" || /Content.Security.Policy/i.test(m.text())) {
          const at = m.location()?.url;
          note(`console ${m.type()}: ${m.text()}${at ? ` (${at})` : ""}`);
        }
      });
      page.on("pageerror", (e) => note(`uncaught: ${e.stack || e.message}`));
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
        });
      });
      await use({ errors, allow: (re) => allowed.push(re) });
      expect(errors, "console errors and CSP violations").toEqual([]);
    },
    { auto: true },
  ],

  rtc: [
    async ({ page, iceRelay }, use) => {
      await page.addInitScript(rtcInit, { relay: iceRelay });
      await use(null);
    },
    { auto: true },
  ],

  // Leftovers of a failed test: its panels and sockets.
  cleanup: [
    async ({}, use) => {
      await use(null);
      for (const c of sippProcesses) c.kill();
      for (const ws of openSockets) ws.close();
      openSockets.clear();
    },
    { auto: true },
  ],
});

// The resident's app after POST /api/v1/intercom/calls/{call}/start, for
// cmd/intercomd/sip_test.go: it opens SIP over WebSocket at the answer's
// `sip` (the token rides in ?token=), registers sip:<number>@<host>, answers
// the INVITE the SIP server delivers, and hangs up (--hangup-after MS) or
// waits for the panel's BYE. sip.js is a stock SIP-over-WebSocket stack; the
// ws package stands in for the browser's WebSocket. Without --media it
// answers with a fixed SDP (signalling only); with --media it is a plain-RTP
// endpoint on a UDP port of its own: it sends 8 kHz PCMA to the address the
// offer names and reports what comes back, its own packets (echoed by the
// panel) told apart from the panel's by their SSRC.
//
// Prints one JSON line per event: {"event": ..., ...}.
//
//   node sipapp.mjs --sip URL --number N --host H [--hangup-after MS] [--media] [--wait MS]
//   node sipapp.mjs --probe URL      open the WebSocket only; {"event":"probe","status":101|403|...}
import dgram from "node:dgram";
import { WebSocket } from "ws";
import { UserAgent, Registerer, RegistererState, SessionState } from "sip.js";

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith("--")) continue;
  const next = process.argv[i + 1];
  args[a.slice(2)] = next && !next.startsWith("--") ? (i++, next) : "1";
}
const out = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const die = (code, event, fields) => {
  out(event, fields);
  process.exit(code);
};

if (args.probe) {
  const ws = new WebSocket(args.probe, "sip");
  ws.on("open", () => {
    ws.close();
    die(0, "probe", { status: 101 });
  });
  ws.on("unexpected-response", (_req, res) => die(0, "probe", { status: res.statusCode }));
  ws.on("error", (e) => die(4, "probe", { error: e.message }));
} else {
  await run();
}

async function run() {
  for (const k of ["sip", "number", "host"]) if (!args[k]) die(2, "usage", { missing: k });
  globalThis.WebSocket = WebSocket; // sip.js's transport takes the global WebSocket

  // Media: a UDP socket; the offer's c=/m= say where rtpengine listens for us.
  let rtp = null;
  let peer = null;
  const ssrc = 0x1ce5a11;
  const counts = { sent: 0, fromPanel: 0, echoed: 0 };
  if (args.media) {
    rtp = dgram.createSocket("udp4");
    await new Promise((resolve) => rtp.bind(0, "127.0.0.1", resolve));
    rtp.on("message", (msg) => {
      if (msg.length < 12 || msg[0] >> 6 !== 2) return;
      if (msg.readUInt32BE(8) === ssrc) counts.echoed++;
      else counts.fromPanel++;
    });
  }
  const sdp = () =>
    [
      "v=0",
      `o=app ${Date.now()} 1 IN IP4 127.0.0.1`,
      "s=app",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      `m=audio ${rtp ? rtp.address().port : 9} RTP/AVP 8 101`,
      "a=rtpmap:8 PCMA/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=sendrecv",
      "",
    ].join("\r\n");
  class FixedSDH {
    close() {}
    getDescription() {
      return Promise.resolve({ body: sdp(), contentType: "application/sdp" });
    }
    hasDescription(ct) {
      return ct === "application/sdp";
    }
    setDescription(remote) {
      const c = /^c=IN IP4 (\S+)/m.exec(remote);
      const m = /^m=audio (\d+) (\S+)/m.exec(remote);
      if (c && m) peer = { address: c[1], port: Number(m[1]), proto: m[2] };
      out("offer", { media: peer });
      return Promise.resolve();
    }
    rollbackDescription() {
      return Promise.resolve();
    }
    sendDtmf() {
      return false;
    }
  }
  // 20 ms PCMA frames (a-law silence) with our SSRC, for one second.
  const sendAudio = () => {
    let seq = 0;
    const timer = setInterval(() => {
      if (!peer || seq >= 50) {
        clearInterval(timer);
        return;
      }
      const pkt = Buffer.alloc(12 + 160, 0xd5);
      pkt[0] = 0x80;
      pkt[1] = 8;
      pkt.writeUInt16BE(seq, 2);
      pkt.writeUInt32BE(seq * 160, 4);
      pkt.writeUInt32BE(ssrc, 8);
      rtp.send(pkt, peer.port, peer.address);
      seq++;
      counts.sent++;
    }, 20);
  };

  const uri = UserAgent.makeURI(`sip:${args.number}@${args.host}`);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    if (rtp) out("media", counts);
    setTimeout(() => ua.stop().then(() => die(0, "stopped")), 200);
  };
  const ua = new UserAgent({
    uri,
    transportOptions: { server: args.sip },
    sessionDescriptionHandlerFactory: () => new FixedSDH(),
    logBuiltinEnabled: false,
    logLevel: "error",
    logConnector: (level, category, label, content) => {
      if (level === "error") out("sipjs-error", { category, content });
    },
    delegate: {
      onInvite(invitation) {
        const r = invitation.request;
        out("invite", { ruri: String(r.ruri), from: String(r.from.uri), callId: r.callId });
        invitation.delegate = {
          onAck: () => out("ack"),
          onBye: (bye) => {
            bye.accept(); // a delegate that takes onBye must answer it
            out("bye-received");
          },
          onCancel: () => out("cancel-received"),
        };
        invitation.stateChange.addListener((s) => {
          if (s === SessionState.Established) {
            out("answered");
            if (rtp) sendAudio();
            if (args["hangup-after"]) {
              setTimeout(() => {
                invitation.bye().then(
                  () => out("bye-sent"),
                  (e) => out("bye-failed", { error: e.message }),
                );
              }, Number(args["hangup-after"]));
            }
          }
          if (s === SessionState.Terminated) finish();
        });
        invitation.accept().catch((e) => die(1, "accept-failed", { error: e.message }));
      },
    },
  });

  try {
    await ua.start();
  } catch (e) {
    die(3, "connect-failed", { error: e.message });
  }
  out("connected");
  const registerer = new Registerer(ua, { expires: 120 });
  registerer.stateChange.addListener((s) => {
    if (s === RegistererState.Registered) out("registered", { aor: String(uri) });
  });
  await registerer.register({
    requestDelegate: {
      onReject: (resp) => die(5, "register-rejected", { status: resp.message.statusCode, reason: resp.message.reasonPhrase }),
    },
  });
  setTimeout(() => {
    if (!done) die(6, "no-call");
  }, Number(args.wait || 20000));
}

// The call's voice: SIP over WebSocket to the answer's `sip` URL (its token
// rides in the query, as API.md §6 hands it out), register
// sip:<number>@<host>, take the INVITE the SIP server delivers, and carry
// the audio with WebRTC. Loaded only when a call is answered.
import { UserAgent, Registerer, SessionState, Web } from "sip.js";

/**
 * join({sip, number, host, iceServers, stream, audio, onEnded}) → a
 * promise of {hangup()} once the conversation is established. stream is
 * the microphone (already granted); audio the <audio> element that plays
 * the panel; onEnded(by) runs once when the conversation ends ("remote" or
 * "local"). Rejects with an Error whose `stage` is "connect", "register"
 * or "invite".
 */
export function join({ sip, number, host, iceServers, stream, audio, onEnded }) {
  return new Promise((resolve, reject) => {
    let settled = false;
    let ended = false;
    let hangingUp = false;
    let session = null;
    let terminated;
    const whenTerminated = new Promise((r) => (terminated = r));
    const fail = (stage, message) => {
      if (settled) return;
      settled = true;
      const err = new Error(message);
      err.stage = stage;
      stop();
      reject(err);
    };
    const end = (by) => {
      if (ended) return;
      ended = true;
      stop();
      if (settled) onEnded(by);
    };
    const factory = Web.defaultSessionDescriptionHandlerFactory(() => Promise.resolve(stream));
    const ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${number}@${host}`),
      transportOptions: { server: sip, connectionTimeout: 5 },
      sessionDescriptionHandlerFactory: factory,
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: iceServers || [] },
        iceGatheringTimeout: 2000,
      },
      logBuiltinEnabled: false,
      logLevel: "error",
      delegate: {
        onDisconnect: () => (settled ? end("remote") : fail("connect", "disconnected")),
        onInvite(invitation) {
          if (session) {
            invitation.reject();
            return;
          }
          session = invitation;
          invitation.delegate = {
            // Accepted here; the session's end (Terminated below) ends the
            // call, once SIP.js is done with the dialog: stopping the user
            // agent before that would send a BYE of its own.
            onBye: (bye) => bye.accept(),
            onCancel: () => fail("invite", "cancelled"),
          };
          invitation.stateChange.addListener((s) => {
            if (s === SessionState.Established) {
              const pc = invitation.sessionDescriptionHandler.peerConnection;
              const remote = new MediaStream();
              for (const r of pc.getReceivers()) if (r.track) remote.addTrack(r.track);
              audio.srcObject = remote;
              audio.play().catch(() => {});
              settled = true;
              resolve({ hangup, peerConnection: pc });
            } else if (s === SessionState.Terminated) {
              terminated();
              if (settled) end(hangingUp ? "local" : "remote");
              else fail("invite", "terminated");
            }
          });
          invitation
            .accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } })
            .catch((e) => fail("invite", e.message));
        },
      },
    });
    const timer = setTimeout(() => fail("invite", "no call arrived"), 15000);
    function stop() {
      clearTimeout(timer);
      ua.stop().catch(() => {});
    }
    async function hangup() {
      if (ended) return;
      if (session && session.state === SessionState.Established) {
        hangingUp = true;
        try {
          await session.bye();
          // The SIP server answers the BYE on the socket: the session ends
          // on that answer. Stopping before it would close the socket under
          // the answer (at most 2 s: then the dialog is given up).
          await Promise.race([whenTerminated, new Promise((r) => setTimeout(r, 2000))]);
        } catch {
          /* the dialog is gone already */
        }
      }
      end("local");
    }
    ua.start().then(
      () => {
        const registerer = new Registerer(ua, { expires: 120 });
        registerer
          .register({
            requestDelegate: { onReject: (r) => fail("register", `${r.message.statusCode} ${r.message.reasonPhrase}`) },
          })
          .catch((e) => fail("register", e.message));
      },
      (e) => fail("connect", e.message),
    );
  });
}

// A call: intercom_ring on the socket opens the "Incoming call" dialog
// (sound, page title, a notification when permitted); Answer asks for the
// microphone first, then POST start, then joins the voice over SIP (voice.js,
// loaded then); Decline is POST cancel; Hang up ends the SIP dialog and POST
// end. intercom_cancel closes the dialog and says why. Tabs of this browser
// share one X-UUID: they tell each other when one of them took the call.
import { h, mount } from "./dom.js";
import { api, ApiError } from "./api.js";
import { t, define } from "./i18n.js";
import { on, toast } from "./app.js";
import { openDoor } from "./views/intercoms.js";

define({
  en: {
    incoming: "Incoming call",
    answer: "Answer",
    decline: "Decline",
    hangup: "Hang up",
    open: "Open door",
    camera: "Camera",
    connecting: "Connecting…",
    talking: "Connected",
    mic_denied: "The microphone is blocked for this site. Allow it in the browser's settings to answer calls.",
    mic_missing: "No microphone was found. Connect one to answer calls.",
    insecure: "Calls need the app opened over https.",
    sip_failed: "Couldn't reach the voice server. The call was hung up.",
    gone: "This call is no longer ringing.",
    answered_elsewhere: "Answered on another device.",
    answered_analog: "Answered on the flat's handset.",
    answered_landline: "Answered on the landline phone.",
    other_tab: "Answered in another tab.",
    timeout: "Nobody answered in time.",
    hangup_reason: "The visitor left.",
    declined: "Declined.",
    ended: "The call has ended.",
    ring_title: "📞 {title} is calling",
    close: "Close",
  },
  ru: {
    incoming: "Входящий звонок",
    answer: "Ответить",
    decline: "Отклонить",
    hangup: "Завершить",
    open: "Открыть дверь",
    camera: "Камера",
    connecting: "Соединение…",
    talking: "Соединено",
    mic_denied: "Микрофон для этого сайта запрещён. Разрешите его в настройках браузера, чтобы отвечать на звонки.",
    mic_missing: "Микрофон не найден. Подключите его, чтобы отвечать на звонки.",
    insecure: "Для звонков откройте приложение по https.",
    sip_failed: "Не удалось связаться с голосовым сервером. Звонок завершён.",
    gone: "Этот звонок уже не активен.",
    answered_elsewhere: "Ответили на другом устройстве.",
    answered_analog: "Ответили по трубке в квартире.",
    answered_landline: "Ответили по стационарному телефону.",
    other_tab: "Ответили в другой вкладке.",
    timeout: "Никто не ответил вовремя.",
    hangup_reason: "Посетитель ушёл.",
    declined: "Отклонено.",
    ended: "Звонок завершён.",
    ring_title: "📞 Звонит {title}",
    close: "Закрыть",
  },
});

const reasons = {
  answered_elsewhere: "answered_elsewhere",
  answered_analog: "answered_analog",
  answered_landline: "answered_landline",
  timeout: "timeout",
  hangup: "hangup_reason",
  declined: "declined",
};

let undo = [];
let tabs = null;
let active = null; // the call on screen: {id, data, dialog, state, voice}

export function startCalls() {
  stopCalls();
  undo.push(on("intercom_ring", (p) => p.data && ring(p.data)));
  undo.push(on("intercom_cancel", (p) => p.data && cancelled(p.data.call_id, p.reason)));
  if ("BroadcastChannel" in window) {
    tabs = new BroadcastChannel("intercomd.calls");
    tabs.onmessage = (e) => {
      const m = e.data || {};
      if (active && active.id === m.call_id && active.state === "ringing") close(t(m.what === "answered" ? "other_tab" : "declined"));
    };
  }
}

export function stopCalls() {
  undo.forEach((f) => f());
  undo = [];
  tabs?.close();
  tabs = null;
  if (active && active.state === "ringing") close();
}

/** After the socket came back: the calls still ringing are read again. */
export async function recheckRinging() {
  try {
    const res = await api("GET", "/intercom/calls");
    for (const c of res.data || []) {
      if (c.status !== "ring" || (active && active.id === c.id)) continue;
      ring({ call_id: c.id, id: c.intercom.id, title: c.intercom.title, address: c.intercom.address, is_open_door_app: false, video_url: null });
    }
    if (active && active.state === "ringing") {
      const c = await api("GET", `/intercom/calls/${active.id}`);
      if (c.status !== "ring") close(t("gone"));
    }
  } catch {
    /* the next reconnect tries again */
  }
}

function ring(data) {
  if (active && active.id === data.call_id) return;
  if (active && active.state !== "ringing") return; // busy: the other devices take it
  if (active) close();
  const titleID = "call-title";
  const status = h("p", { class: "incoming-status", role: "status" });
  const buttons = h("div", { class: "incoming-actions" });
  const audio = h("audio", { autoplay: true });
  const dialog = h(
    "dialog",
    { class: "incoming", "aria-labelledby": titleID, "aria-describedby": "call-what" },
    h("h2", { id: titleID }, t("incoming")),
    h(
      "div",
      { id: "call-what", class: "incoming-what" },
      h("p", { class: "title" }, h("bdi", null, data.title)),
      h("p", { class: "address" }, h("bdi", null, data.address)),
      data.video_url ? h("a", { href: data.video_url, target: "_blank", rel: "noopener noreferrer" }, t("camera")) : null,
    ),
    status,
    buttons,
    audio,
  );
  dialog.addEventListener("cancel", (e) => e.preventDefault()); // Escape must not drop a call silently
  document.body.append(dialog);
  active = { id: data.call_id, data, dialog, status, buttons, audio, state: "ringing", voice: null, ringer: ringer() };
  mount(
    buttons,
    h("button", { type: "button", class: "answer", onclick: answer }, t("answer")),
    h("button", { type: "button", class: "decline", onclick: decline }, t("decline")),
  );
  dialog.showModal();
  dialog.querySelector("button.answer").focus();
  blinkTitle(t("ring_title", { title: data.title }));
  notify(data);
  checkMicrophone(active);
}

// A microphone the browser already refuses is said at once, and Answer
// waits until the permission changes: no call is taken that cannot speak.
async function checkMicrophone(call) {
  let status;
  try {
    status = await navigator.permissions.query({ name: "microphone" });
  } catch {
    return; // not every browser can tell before asking
  }
  const apply = () => {
    if (active !== call || call.state !== "ringing") return;
    const answer = call.buttons.querySelector("button.answer");
    if (status.state === "denied") {
      say(t("mic_denied"), true);
      answer.disabled = true;
    } else {
      if (answer.disabled) say("");
      answer.disabled = false;
    }
  };
  status.onchange = apply;
  apply();
}

async function answer() {
  const call = active;
  if (!call || call.state !== "ringing") return;
  call.state = "answering";
  setBusy(true);
  // The microphone first: a resident who cannot speak must know before the
  // call is taken from the other devices.
  let stream;
  try {
    if (!navigator.mediaDevices) throw new Error("insecure");
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  } catch (e) {
    call.state = "ringing";
    setBusy(false);
    const why = !navigator.mediaDevices ? "insecure" : e && e.name === "NotFoundError" ? "mic_missing" : "mic_denied";
    say(t(why), true);
    return;
  }
  if (active !== call) {
    stream.getTracks().forEach((tr) => tr.stop());
    return;
  }
  call.stream = stream;
  let sip;
  try {
    sip = await api("POST", `/intercom/calls/${call.id}/start`);
  } catch (e) {
    stream.getTracks().forEach((tr) => tr.stop());
    if (e.status !== 401) close(e.status === 404 ? t("gone") : e.message);
    return;
  }
  tabs?.postMessage({ call_id: call.id, what: "answered" });
  call.state = "connecting";
  stopRinging(call);
  say(t("connecting"));
  mount(
    call.buttons,
    h("button", { type: "button", class: "decline", onclick: hangup }, t("hangup")),
    h("button", {
      type: "button",
      disabled: !call.data.is_open_door_app,
      onclick: (e) => openDoor({ id: call.data.id, title: call.data.title }, e.currentTarget),
    }, t("open")),
  );
  call.buttons.querySelector("button").focus();
  try {
    const { join } = await import("./voice.js");
    call.voice = await join({
      sip: sip.sip,
      number: sip.number,
      host: sip.host,
      iceServers: sip.ice_servers,
      stream,
      audio: call.audio,
      onEnded: () => active === call && finish(call, call.endText || t("ended")),
    });
  } catch {
    // No voice: the call must not stay "answered" for the others.
    api("POST", `/intercom/calls/${call.id}/end`).catch(() => {});
    if (active === call) finish(call, t("sip_failed"), true);
    return;
  }
  if (active !== call) {
    call.voice.hangup();
    return;
  }
  call.state = "talking";
  say(t("talking"));
}

async function decline() {
  const call = active;
  if (!call || call.state !== "ringing") return;
  tabs?.postMessage({ call_id: call.id, what: "declined" });
  close();
  try {
    await api("POST", `/intercom/calls/${call.id}/cancel`);
  } catch (e) {
    if (e instanceof ApiError && e.status !== 404 && e.status !== 401) toast(e.message, "error");
  }
}

// hangup: a conversation ends with its BYE, which the SIP server reports to
// intercomd; a call whose voice has not joined yet ends through the API.
async function hangup() {
  const call = active;
  if (!call) return;
  const voice = call.voice;
  finish(call, t("ended"));
  if (voice) return; // finish sent the BYE
  try {
    await api("POST", `/intercom/calls/${call.id}/end`);
  } catch {
    /* ended already */
  }
}

function cancelled(id, reason) {
  const call = active;
  if (!call || call.id !== id) return;
  const text = t(reasons[reason] || "ended");
  if (call.state === "ringing" || call.state === "answering") {
    close(text);
    return;
  }
  if (reason === "answered_elsewhere") return;
  // A conversation intercomd ended: the SIP server hangs up both legs, and
  // its BYE ends ours; a BYE of our own now would cross it. Only if none
  // comes is the call hung up from here.
  call.endText = text;
  setTimeout(() => finish(call, text), 3000);
}

// finish ends the call on screen, leaving the dialog open with why and a
// Close button when there is something to read.
function finish(call, text, alert) {
  if (active !== call) return;
  call.voice?.hangup();
  call.stream?.getTracks().forEach((tr) => tr.stop());
  close(text, alert);
}

function close(text, alert) {
  const call = active;
  if (!call) return;
  active = null;
  stopRinging(call);
  call.stream?.getTracks().forEach((tr) => tr.stop());
  call.dialog.close();
  call.dialog.remove();
  if (text) toast(text, alert ? "error" : "info");
}

function say(text, alert) {
  if (!active) return;
  active.status.textContent = text;
  active.status.setAttribute("role", alert ? "alert" : "status"); // a live region: read out as it changes
}

function setBusy(busy) {
  for (const b of active.buttons.querySelectorAll("button")) b.disabled = busy;
}

// The ring: a two-tone pattern from WebAudio (no file to fetch), the page
// title blinking, stopped when the call stops ringing.
function ringer() {
  let ctx = null;
  let timer = null;
  try {
    ctx = new AudioContext();
    const beep = () => {
      if (ctx.state === "suspended") ctx.resume().catch(() => {});
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 440;
      g.gain.setValueAtTime(0.0001, ctx.currentTime);
      g.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.05);
      g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.9);
      o.connect(g).connect(ctx.destination);
      o.start();
      o.stop(ctx.currentTime + 1);
    };
    beep();
    timer = setInterval(beep, 2500);
  } catch {
    /* no audio output: the dialog and the title still ring */
  }
  return () => {
    clearInterval(timer);
    ctx?.close().catch(() => {});
  };
}

let titleTimer = null;
let savedTitle = "";
function blinkTitle(text) {
  clearInterval(titleTimer);
  savedTitle = savedTitle || document.title;
  let on = false;
  document.title = text;
  titleTimer = setInterval(() => (document.title = (on = !on) ? savedTitle : text), 1000);
}

function stopRinging(call) {
  call.ringer?.();
  call.ringer = null;
  clearInterval(titleTimer);
  titleTimer = null;
  if (savedTitle) document.title = savedTitle;
  savedTitle = "";
  call.notification?.close();
}

function notify(data) {
  if (!("Notification" in window) || Notification.permission !== "granted" || document.hasFocus()) return;
  try {
    const n = new Notification(t("incoming"), { body: `${data.title} — ${data.address}`, tag: `call-${data.call_id}`, requireInteraction: true });
    n.onclick = () => {
      window.focus();
      n.close();
    };
    if (active) active.notification = n;
  } catch {
    /* some browsers allow notifications only from a service worker */
  }
}

// What every screen shares: the session, the socket's events, messages to
// the resident. Nothing here outlives a login (reset() on log out).
import { h, uid } from "./dom.js";
import { t, define } from "./i18n.js";

define({ en: { v_cancel: "Cancel" }, ru: { v_cancel: "Отмена" } });

/** Socket events by their type ("intercom.status", "intercom_ring", …); detail is the payload. */
export let bus = new EventTarget();

const SESSION_KEY = "intercomd.session";

/** The logged-in session: {token, user} or null. Kept across reloads in localStorage. */
export function session() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    return s && typeof s.token === "string" && s.user && typeof s.user.id === "number" ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s) {
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else localStorage.removeItem(SESSION_KEY);
}

/** Forgets every screen's state: a new login starts from nothing. */
export function reset() {
  bus = new EventTarget();
}

/** on("intercom.status", fn) listens to socket events until the next reset; returns the undo. */
export function on(type, fn) {
  const b = bus;
  const l = (e) => fn(e.detail);
  b.addEventListener(type, l);
  return () => b.removeEventListener(type, l);
}

export function emit(type, detail) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

/** toast("Saved") shows a short message and says it to screen readers. */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = h("div", { class: "toast toast-" + kind, role: kind === "error" ? "alert" : "status" }, text);
  box.append(el); // a live region of its own: screen readers say it once
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** Formats the API's "Y-m-d H:i:s" (UTC) or ISO times in the browser's zone. */
export function when(s, lang) {
  if (!s) return "";
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(s) ? s.replace(" ", "T") + "Z" : s;
  const d = new Date(iso);
  if (isNaN(d)) return s;
  return d.toLocaleString(lang === "ru" ? "ru-RU" : "en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/**
 * confirmDialog(question, note, yes) asks in a modal dialog; resolves true
 * when the resident chose yes. Focus starts on Cancel (the harmless choice)
 * and goes back where it was.
 */
export function confirmDialog(question, note, yes) {
  return new Promise((resolve) => {
    const qID = uid("q"), nID = uid("n");
    const cancel = h("button", { type: "submit", value: "no" }, t("v_cancel"));
    const dlg = h(
      "dialog",
      { class: "confirm", role: "alertdialog", "aria-labelledby": qID, "aria-describedby": note ? nID : null },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: qID }, question),
        note ? h("p", { id: nID, class: "muted" }, note) : null,
        h("div", { class: "row" }, h("button", { type: "submit", value: "yes", class: "danger" }, yes), cancel),
      ),
    );
    const back = document.activeElement;
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (back && back.isConnected) back.focus();
      resolve(dlg.returnValue === "yes");
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

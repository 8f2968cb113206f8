// The residents' web app: log in, the account's intercoms, when this browser
// rings, calls with voice, history, visitor codes and pairing — on exactly
// the client API and the Pusher socket the mobile apps use.
import { h, mount } from "./dom.js";
import { api, setToken, onUnauthorized, stopRequests } from "./api.js";
import { t, define } from "./i18n.js";
import { session, saveSession, emit, toast } from "./app.js";
import { loginForm } from "./views/login.js";
import { connect } from "./socket.js";
import { startCalls, stopCalls, recheckRinging } from "./call.js";

define({
  en: {
    app: "Intercom",
    nav: "Main",
    intercoms: "Intercoms",
    history: "History",
    codes: "Visitor codes",
    logout: "Log out",
    offline: "Connection lost. Reconnecting…",
    again: "Your session has ended. Log in again to go on; what you typed is kept.",
    again_title: "Log in again",
    loading: "Loading…",
    failed: "Couldn't load. Check the connection and try again.",
    retry: "Try again",
  },
  ru: {
    app: "Домофон",
    nav: "Главное меню",
    intercoms: "Домофоны",
    history: "История",
    codes: "Гостевые коды",
    logout: "Выйти",
    offline: "Нет связи. Переподключаемся…",
    again: "Сеанс завершён. Войдите снова, чтобы продолжить; введённое сохранено.",
    again_title: "Вход",
    loading: "Загрузка…",
    failed: "Не удалось загрузить. Проверьте связь и попробуйте снова.",
    retry: "Повторить",
  },
});

const root = document.getElementById("app");
let socket = null;
let current = null; // the session shown
let relogin = null; // the "log in again" dialog while it is open
let shown = ""; // the screen on view

const routes = {
  intercoms: () => import("./views/intercoms.js"),
  history: () => import("./views/history.js"),
  codes: () => import("./views/codes.js"),
  pairing: () => import("./views/pairing.js"),
};

function boot() {
  document.title = t("app");
  onUnauthorized(sessionEnded);
  window.addEventListener("hashchange", () => route());
  // Another tab logged in or out: follow it.
  window.addEventListener("storage", (e) => {
    if (e.key !== "intercomd.session") return;
    const s = session();
    if (!s) signedOut();
    else if (!current || s.user.id !== current.user.id) location.reload();
  });
  const s = session();
  if (s) signedIn(s);
  else showLogin();
}

function showLogin() {
  document.title = t("app");
  mount(
    root,
    h(
      "main",
      { id: "main", class: "login-screen" },
      h("h1", { class: "brand" }, t("app")),
      loginForm({ onDone: (s) => signedIn(s, true) }),
    ),
  );
  root.querySelector("input")?.focus();
  performance.mark("intercomd:interactive"); // the first screen answers input from here
}

function signedIn(s, fresh) {
  if (current && current.user.id !== s.user.id) {
    // Another account: nothing of the last one may stay on screen.
    location.reload();
    return;
  }
  saveSession(s);
  setToken(s.token);
  current = s;
  mount(
    root,
    h(
      "header",
      { class: "top" },
      h("span", { class: "brand", "aria-hidden": "true" }, t("app")),
      h(
        "nav",
        { "aria-label": t("nav") },
        h("a", { href: "#/intercoms", dataset: { route: "intercoms" } }, t("intercoms")),
        h("a", { href: "#/history", dataset: { route: "history" } }, t("history")),
        h("a", { href: "#/codes", dataset: { route: "codes" } }, t("codes")),
        h("a", { href: "#/logout", onclick: logout }, t("logout")),
      ),
    ),
    h("div", { id: "banner", class: "banner", role: "status", hidden: true }, t("offline")),
    h("main", { id: "main", tabindex: "-1" }),
  );
  startSocket();
  startCalls();
  route(fresh);
}

async function startSocket() {
  const s = current;
  let wasConnected = false;
  try {
    const sock = await connect({
      user: s.user,
      onEvent: (type, payload) => emit(type, payload),
      onState: (state, previous) => {
        const banner = document.getElementById("banner");
        // What the socket is doing, for whoever watches the page (the browser tests).
        document.body.dataset.socket = state;
        if (state === "connected") {
          if (banner) banner.hidden = true;
          if (wasConnected && previous !== "connected") {
            // Back after a drop: what happened meanwhile is read again.
            emit("socket.reconnected", null);
            recheckRinging();
          }
          wasConnected = true;
        } else if (wasConnected && (state === "unavailable" || state === "connecting") && banner) {
          banner.hidden = false;
        } else if (state === "refused") {
          // The token ended: a request says how (401 → log in again).
          api("GET", "/users/self").catch(() => {});
        }
      },
    });
    if (current !== s) sock.close();
    else socket = sock;
  } catch (e) {
    if (e.status !== 401) toast(t("offline"), "error");
  }
}

async function route(focus) {
  if (!current) return;
  let [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  if (name === "logout") return;
  // #/schedule/{id}: the intercoms, with that one's schedule open over them.
  const schedule = name === "schedule";
  if (!routes[name] || schedule) name = "intercoms";
  if (schedule && shown === "intercoms") {
    (await routes.intercoms()).openSchedule(rest[0]);
    return;
  }
  for (const a of root.querySelectorAll("nav a[data-route]")) {
    if (a.dataset.route === name || (name !== "history" && name !== "codes" && a.dataset.route === "intercoms"))
      a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  const s = current;
  mount(main, h("p", { class: "muted" }, t("loading")));
  let view;
  try {
    view = await routes[name]();
  } catch {
    mount(main, h("p", { role: "alert" }, t("failed")), h("button", { onclick: () => route() }, t("retry")));
    return;
  }
  if (current !== s) return;
  mount(main);
  shown = name;
  await view.render(main, rest);
  if (schedule) view.openSchedule(rest[0]);
  performance.mark("intercomd:screen");
  if (focus !== false) {
    const h1 = main.querySelector("h1");
    if (h1) {
      h1.tabIndex = -1;
      h1.focus({ preventScroll: false });
    }
  }
}

async function logout(e) {
  e?.preventDefault();
  // The socket goes first: the token's end closes it, which is no news here.
  socket?.close();
  socket = null;
  stopCalls();
  stopRequests();
  try {
    await api("POST", "/logout", { last: true });
  } catch {
    /* the token may be gone already: forget it anyway */
  }
  signedOut();
}

function signedOut() {
  saveSession(null);
  location.hash = "";
  // A reload leaves nothing of the account in memory.
  location.reload();
}

// A request got 401 mid-use: ask for the login again over the screen, so
// that forms keep what was typed; the same account goes on where it was,
// another one starts afresh.
function sessionEnded() {
  if (relogin || !current) return;
  socket?.close();
  socket = null;
  stopCalls();
  setToken("");
  const dlg = h(
    "dialog",
    { class: "relogin", "aria-labelledby": "relogin-title" },
    h("h2", { id: "relogin-title" }, t("again_title")),
    h("p", null, t("again")),
    loginForm({
      onDone: (s) => {
        dlg.close();
        dlg.remove();
        relogin = null;
        if (s.user.id !== current.user.id) {
          saveSession(s);
          location.reload();
          return;
        }
        saveSession(s);
        setToken(s.token);
        current = s;
        startSocket();
        startCalls();
      },
    }),
  );
  dlg.addEventListener("cancel", (e) => e.preventDefault());
  document.body.append(dlg);
  relogin = dlg;
  dlg.showModal();
}

boot();

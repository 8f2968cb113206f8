// The client API (API.md §3), exactly as the mobile apps call it: Bearer
// token, X-Client: web, the browser's X-UUID, hl = the app's language.
import { lang } from "./i18n.js";

const BASE = "/api/v1";
const UUID_KEY = "intercomd.uuid";

/** The browser's device id: made once, kept in localStorage (every tab shares it). */
export function deviceUUID() {
  let id = localStorage.getItem(UUID_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(UUID_KEY, id);
  }
  return id;
}

/** An answer of the API that was not 2xx. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.errors = (body && body.errors) || {};
    this.retryAfter = retryAfter;
    this.body = body || {};
  }
  /** The first message of the named field, or "". */
  field(name) {
    const m = this.errors[name];
    return Array.isArray(m) ? m[0] : m || "";
  }
}

const state = { token: "", socketID: "", onUnauthorized: null, requests: new AbortController(), stopped: false };

/**
 * Cancels every request under way and holds back any later one (but those
 * made with {last: true}): a session about to end leaves none to be refused.
 * The page reloads next.
 */
export function stopRequests() {
  state.stopped = true;
  state.requests.abort();
  state.requests = new AbortController();
}

export function setToken(token) {
  state.token = token || "";
}
export function setSocketID(id) {
  state.socketID = id || "";
}
/** fn runs when a request is refused 401: the session ended elsewhere. */
export function onUnauthorized(fn) {
  state.onUnauthorized = fn;
}

export function headers() {
  const hd = { Accept: "application/json", "X-Client": "web", "X-UUID": deviceUUID(), hl: lang() };
  if (state.token) hd.Authorization = "Bearer " + state.token;
  if (state.socketID) hd["X-Socket-ID"] = state.socketID;
  return hd;
}

/**
 * api("PATCH", "/intercom/1", {body: {...}, query: {page: 2}}) → the JSON
 * answer (null for 204); throws ApiError, or TypeError when offline. After
 * stopRequests() it never settles, unless {last: true}.
 */
export async function api(method, path, { body, query, last } = {}) {
  if (state.stopped && !last) return new Promise(() => {});
  let url = BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
      else if (v !== undefined && v !== null && v !== "") q.set(k, v);
    }
    const s = q.toString();
    if (s) url += "?" + s;
  }
  const hd = headers();
  if (body !== undefined) hd["Content-Type"] = "application/json";
  const signal = state.requests.signal;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: hd,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      signal,
    });
  } catch (err) {
    // Cancelled by stopRequests: the page is leaving, and nobody waits.
    if (signal.aborted) return new Promise(() => {});
    throw err;
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 200) };
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data, Number(res.headers.get("Retry-After")) || 0);
    if (res.status === 401 && state.token && state.onUnauthorized) state.onUnauthorized(err);
    throw err;
  }
  return data;
}

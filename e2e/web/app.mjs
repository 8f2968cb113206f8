// The web app as a resident uses it, for the specs: log in through the
// form, find an intercom's list item, read what the app keeps in the
// browser. Everything is found by role and accessible name, never by CSS.
import http from "node:http";
import { expect } from "./fixtures.mjs";

// logIn opens the app and logs user in through the form.
export async function logIn(page, user) {
  await page.goto("/");
  await page.getByLabel("Login").fill(user.login);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("link", { name: "Log out" })).toBeVisible();
  await subscribed(page);
}

// subscribed waits until the page's socket has subscribed to its channels:
// from then on a ring reaches it (the app says so in body[data-socket]).
export async function subscribed(page) {
  await page.waitForFunction(() => document.body.dataset.socket === "subscribed", null, { timeout: 10_000 });
}

// logInTo logs user in and follows the link named link to the screen
// whose heading is heading (a locator).
export async function logInTo(page, user, link, heading) {
  await logIn(page, user);
  await expect(page.getByRole("heading", { level: 1, name: "Intercoms" })).toBeVisible();
  await page.getByRole("link", { name: link }).click();
  await expect(heading).toBeVisible();
}

// item is the list item of the intercom whose title starts the name.
export function item(page, title) {
  return page.getByRole("listitem", { name: new RegExp("^" + title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) });
}

// session is what the app keeps across reloads: {token, user, uuid}.
export async function session(page) {
  return page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem("intercomd.session") || "null");
    return s && { token: s.token, user: s.user, uuid: localStorage.getItem("intercomd.uuid") };
  });
}

// apiAs is the client API as the page's own device (its token and X-UUID).
export function apiAs(request, s) {
  const headers = { Authorization: `Bearer ${s.token}`, "X-Client": "web", "X-UUID": s.uuid };
  return async (method, path, data) => {
    const res = await request.fetch(`/api/v1${path}`, { method, headers, data });
    const text = await res.text();
    return { status: res.status(), body: text ? JSON.parse(text) : null };
  };
}

// noHorizontalOverflow: the page never scrolls sideways.
export async function expectNoHorizontalOverflow(page) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth }));
  expect(scroll, "the page's width").toBeLessThanOrEqual(width);
}

// controlServer is an intercom's control URL: it answers 200 and keeps
// the events it was sent ({event, body}).
export async function controlServer() {
  const got = [];
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      got.push({ event: req.headers["x-intercomd-event"], body: JSON.parse(body || "null") });
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${srv.address().port}/control`, got, close: () => srv.close() };
}

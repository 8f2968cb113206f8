// The web app's screens outside a call: the first screen's size and speed,
// logging in and out, the intercoms, and the bad inputs of issue 16.
import crypto from "node:crypto";
import { test, expect, admin, resident, heartbeat, uniq, screenshot, expectAccessible, figure, device, env } from "./fixtures.mjs";
import { logIn, item, session, apiAs, expectNoHorizontalOverflow, controlServer } from "./app.mjs";

test("the first screen is small, interactive at once, accessible, and its policy blocks nothing", async ({ page }) => {
  const res = await page.goto("/");
  const csp = res.headers()["content-security-policy"];
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).not.toContain("unsafe-eval");
  await expect(page.getByRole("button", { name: "Log in" })).toBeEnabled();
  const first = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const files = performance.getEntriesByType("resource");
    const mark = performance.getEntriesByName("intercomd:interactive")[0];
    return {
      bytes: nav.transferSize + files.reduce((n, r) => n + r.transferSize, 0),
      files: files.map((r) => `${new URL(r.name).pathname} ${r.transferSize}`),
      interactiveMs: Math.round(mark.startTime),
    };
  });
  figure("first screen transferred bytes", first.bytes);
  figure("first screen files", first.files.join(", "));
  figure("first screen interactive (ms from navigation)", first.interactiveMs);
  expect(first.bytes, "the first screen's transferred bytes").toBeLessThanOrEqual(150 * 1024);
  await expectAccessible(page, "the login screen");
  await screenshot(page, "login");
});

test("a wrong password gets the API's words, the throttle its wait", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of (422|429)/);
  const user = await admin(request).user();
  await page.goto("/");
  await page.getByLabel("Login").fill(user.login);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByText("These credentials do not match our records.")).toBeVisible();
  await expect(page.getByLabel("Login")).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "a refused login");
  // Ten failures per login in the window: the eleventh is the throttle's.
  // They come from an address of their own, whose count nothing else needs.
  const from = `2001:db8::${crypto.randomUUID().slice(0, 4)}`;
  for (let i = 0; i < 9; i++) {
    const r = await request.post("/api/v1/token", {
      headers: { "X-Client": "web", "X-UUID": "throttle", "X-Forwarded-For": from },
      data: { login: user.login, password: "no" },
    });
    expect(r.status()).toBe(422);
  }
  await page.getByRole("button", { name: "Log in" }).click();
  const alert = page.getByRole("alert").filter({ hasText: /Too many login attempts/ });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/\d+ s/);
  await expect(page.getByRole("button", { name: "Log in" })).toBeDisabled();
  await screenshot(page, "login-throttled");
});

test("a resident logs in, stays logged in across reloads with one X-UUID, and logs out", async ({ page, request }) => {
  const { user, intercom } = await resident(request, { title: "Front door" });
  const requests = [];
  const urls = [];
  page.on("request", (r) => {
    urls.push(r.url());
    if (r.url().includes("/api/v1/")) requests.push(r.headers());
  });
  await logIn(page, user);
  await expect(item(page, "Front door")).toBeVisible();
  const before = await session(page);
  await page.reload();
  await expect(item(page, "Front door")).toBeVisible();
  const after = await session(page);
  expect(after.uuid).toBe(before.uuid);
  expect(after.token).toBe(before.token);
  expect(new Set(requests.map((h) => h["x-uuid"]))).toEqual(new Set([before.uuid]));
  expect(new Set(requests.map((h) => h["x-client"]))).toEqual(new Set(["web"]));
  // The token rides in the Authorization header, never in a URL.
  expect(urls.filter((u) => u.includes(before.token))).toEqual([]);
  await page.getByRole("link", { name: "Log out" }).click();
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  expect(await session(page)).toBeNull();
  const api = apiAs(request, before);
  expect((await api("GET", "/intercom")).status, "the token after logging out").toBe(401);
  await expect(page.getByText("Front door")).toHaveCount(0);
  expect(intercom.id).toBeGreaterThan(0);
});

test("nothing of one account stays on screen for the next one to log in", async ({ page, request }) => {
  const first = await resident(request, { title: "First account's door" });
  const second = await resident(request, { title: "Second account's door" });
  await logIn(page, first.user);
  await expect(item(page, "First account's door")).toBeVisible();
  await page.getByRole("link", { name: "History" }).click();
  await page.getByRole("link", { name: "Log out" }).click();
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible(); // the page reloaded empty
  await logIn(page, second.user);
  await expect(item(page, "Second account's door")).toBeVisible();
  await expect(page.getByText("First account's door")).toHaveCount(0);
  await page.getByRole("link", { name: "History" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "History" })).toBeVisible();
  await expect(page.getByText("First account's door")).toHaveCount(0);
});

test("intercoms: live online state, rename, ringing for this browser, open door", async ({ page, request }) => {
  const control = await controlServer();
  const a = admin(request);
  const intercom = await a.call("POST", "/intercoms", { address: uniq("12 Garden St"), control_url: control.url }, 201);
  const user = await a.user();
  await a.member(intercom, user, { title: "Garden gate", flat: 7 });
  await logIn(page, user);
  const row = item(page, "Garden gate");
  await expect(row).toContainText("Offline");
  await heartbeat(request, intercom);
  await expect(row, "intercom.status without a reload").toContainText("Online");
  await expectAccessible(page, "the intercoms");
  await screenshot(page, "intercoms");

  await row.getByRole("button", { name: "Rename" }).click();
  await page.getByLabel("Title").fill("  Garden gate, north  ");
  await page.getByRole("button", { name: "Save" }).click();
  const renamed = item(page, "Garden gate, north");
  await expect(renamed).toBeVisible();
  const s = await session(page);
  const api = apiAs(request, s);
  expect((await api("GET", `/intercom/${intercom.id}`)).body.title).toBe("Garden gate, north");

  const ringing = renamed.getByRole("switch", { name: "Ringing" });
  await expect(ringing).toBeChecked();
  await ringing.click();
  await expect(ringing).not.toBeChecked();
  await expect.poll(async () => (await api("GET", `/intercom/${intercom.id}`)).body.is_enabled).toBe(false);
  await page.reload();
  await expect(item(page, "Garden gate, north").getByRole("switch", { name: "Ringing" })).not.toBeChecked();
  await item(page, "Garden gate, north").getByRole("switch", { name: "Ringing" }).click();
  await expect.poll(async () => (await api("GET", `/intercom/${intercom.id}`)).body.is_enabled).toBe(true);

  await item(page, "Garden gate, north").getByRole("button", { name: "Open door" }).click();
  await expect(page.getByText("Door opened: Garden gate, north")).toBeVisible();
  await expect.poll(() => control.got.filter((m) => m.event === "door.open").length).toBe(1);
  control.close();
});

test("a session that ends mid-use asks for the login again and keeps what was typed", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of 401/);
  const { user } = await resident(request, { title: "Lobby" });
  await logIn(page, user);
  await item(page, "Lobby").getByRole("button", { name: "Rename" }).click();
  await page.getByLabel("Title").fill("Lobby, typed before the session ended");
  // The session ends elsewhere (logged out from another place).
  const api = apiAs(request, await session(page));
  expect((await api("POST", "/logout")).status).toBe(204);
  // The app learns it at once: the token's socket is closed with it (4009).
  const again = page.getByRole("dialog", { name: "Log in again" });
  await expect(again).toBeVisible();
  await again.getByLabel("Login").fill(user.login);
  await again.getByLabel("Password").fill(user.password);
  await again.getByRole("button", { name: "Log in" }).click();
  await expect(again).toBeHidden();
  await expect(page.getByLabel("Title")).toHaveValue("Lobby, typed before the session ended");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(item(page, "Lobby, typed before the session ended")).toBeVisible();
});

test("long titles and bidi controls are text, and the layout holds", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of 422/);
  const { user, intercom } = await resident(request, { title: "Side gate" });
  await logIn(page, user);
  await item(page, "Side gate").getByRole("button", { name: "Rename" }).click();
  await page.getByLabel("Title").fill("x".repeat(10000));
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText(/must not be greater than 255 characters/)).toBeVisible();
  await expect(page.getByLabel("Title")).toHaveAttribute("aria-invalid", "true");
  await expectNoHorizontalOverflow(page);

  const bidi = "\u202Egnp.exe\u202C <b>bold?</b> \u2067שלום\u2069 " + "W".repeat(200);
  await page.getByLabel("Title").fill(bidi);
  await page.getByRole("button", { name: "Save" }).click();
  const row = item(page, "\u202Egnp");
  await expect(row).toBeVisible();
  const heading = row.getByRole("heading");
  expect(await heading.textContent()).toBe(bidi);
  expect(await row.locator("b").count(), "markup in a title is text").toBe(0);
  await expect(row.getByRole("button", { name: "Rename" })).toBeVisible();
  await expectNoHorizontalOverflow(page);
  const box = await heading.boundingBox();
  const width = await page.evaluate(() => innerWidth);
  expect(box.x + box.width).toBeLessThanOrEqual(width);
  await screenshot(page, "long-title");
  expect(intercom.id).toBeGreaterThan(0);
});

test.describe("in Russian", () => {
  test.use({ locale: "ru-RU" });
  test("the browser's language chooses the words and the API's hl", async ({ page, request }) => {
    const { user } = await resident(request, { title: "Подъезд 1" });
    const hl = [];
    page.on("request", (r) => r.url().includes("/api/v1/") && hl.push(r.headers()["hl"]));
    await page.goto("/");
    await page.getByLabel("Логин").fill(user.login);
    await page.getByLabel("Пароль").fill(user.password);
    await page.getByRole("button", { name: "Войти" }).click();
    const row = item(page, "Подъезд 1");
    await expect(row.getByRole("switch", { name: "Звонки" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Выйти" })).toBeVisible();
    expect(new Set(hl)).toEqual(new Set(["ru"]));
    await expect(page.locator("html")).toHaveAttribute("lang", "ru");
    await expectAccessible(page, "the intercoms in Russian");
    await screenshot(page, "intercoms-ru");
  });
});

test("at the account's limit of sessions, the login lists them and ends the one chosen", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/status of 419/); // the refusal the screen answers
  const user = await admin(request).user();
  const limit = Number(env("SESSIONS_LIMIT"));
  const others = [];
  for (let i = 0; i < limit; i++) others.push(await device(request, user));
  await page.goto("/");
  await page.getByLabel("Login").fill(user.login);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  const list = page.getByRole("group", { name: "End a session to log in here" });
  await expect(list.getByRole("radio")).toHaveCount(limit);
  await expectAccessible(page, "the session limit");
  await screenshot(page, "sessions-limit");
  // Nothing chosen: said, and nothing sent.
  await page.getByRole("button", { name: "End it and log in" }).click();
  await expect(page.getByText("Choose the session to end.")).toBeVisible();
  await list.getByRole("radio").first().check();
  await page.getByRole("button", { name: "End it and log in" }).click();
  await expect(page.getByRole("link", { name: "Log out" })).toBeVisible();
  // The session chosen (the oldest, listed first) ended; the others go on.
  const self = async (d) => (await request.get("/api/v1/users/self", { headers: d.headers })).status();
  expect(await self(others[0])).toBe(401);
  for (const d of others.slice(1)) expect(await self(d)).toBe(200);
});

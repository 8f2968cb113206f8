// The pairing screen (issue 16, item 6): a code to type at the panel, the
// panel's answer over the socket (key confirmed, or its error), the flat
// chosen with the API's refusals on the field, and Cancel.
import { test, expect, admin, device, expectAccessible, screenshot } from "./fixtures.mjs";
import { expectNoHorizontalOverflow, logInTo } from "./app.mjs";

// PairingPage drives the screen by roles and names.
class PairingPage {
  constructor(page) {
    this.page = page;
    this.heading = page.getByRole("heading", { level: 1, name: "Add intercom" });
    this.code = page.getByText(/^Pairing code: [\d ]+$/);
    this.flat = page.getByLabel("Flat", { exact: true });
    this.add = page.getByRole("button", { name: "Add", exact: true });
    this.cancel = page.getByRole("button", { name: "Cancel" });
    this.newCode = page.getByRole("button", { name: "New code" });
  }
  login(user) {
    return logInTo(this.page, user, "Add intercom", this.heading);
  }
  // digits is the pairing code on screen, as a screen reader says it.
  async digits() {
    await expect(this.code).toBeVisible();
    return (await this.code.textContent()).replace(/\D/g, "");
  }
}

// panel is an intercom with flats 1–40 that pairs by key, and a key of it.
async function panel(request, address) {
  const a = admin(request);
  const gate = await a.intercom(address);
  await a.call("PATCH", `/intercoms/${gate.id}`, { first_flat: 1, last_flat: 40, is_open_door_key: true }, 200);
  const key = `KEY-${Date.now().toString(36)}`;
  await a.call("PUT", `/intercoms/${gate.id}/keys/${key}`, {}, 201);
  return { a, gate, key };
}

// typed is the panel reporting a code typed and a key touched (API.md §4).
async function typed(request, gate, code, key) {
  return request.post("/api/hw/v1/pairing", { headers: { Authorization: `Bearer ${gate.secret}` }, data: { code, key } });
}

test("pairs: code at the panel, key confirmed, flat chosen", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of 422/);
  const { a, gate, key } = await panel(request, "Linden street 4, entrance 1");
  const user = await a.user();
  const p = new PairingPage(page);
  await p.login(user);
  await expect(page.getByText("Type this code on the intercom's keypad, then touch your key to the reader.")).toBeVisible();
  await expect(page.getByRole("timer")).toHaveText(/^Valid for [01]:\d\d$/);
  await expectAccessible(page, "pairing: code");
  await expectNoHorizontalOverflow(page);
  await screenshot(page, "pairing");

  // A key the panel does not know spends the code: its error, then a new code.
  const first = await p.digits();
  expect((await typed(request, gate, first, "KEY-UNKNOWN")).status()).toBe(422);
  await expect(page.getByRole("alert")).toHaveText("The key is not registered for this intercom.");
  await p.newCode.click();
  const second = await p.digits();
  expect(second).not.toBe("");

  expect((await typed(request, gate, second, key)).status()).toBe(200);
  await expect(page.getByRole("heading", { name: "Key accepted" })).toBeVisible();
  await expect(page.getByText("Intercom at Linden street 4, entrance 1")).toBeVisible();
  await expect(p.flat).toBeFocused();
  await expectAccessible(page, "pairing: flat");
  await expectNoHorizontalOverflow(page);

  await p.flat.fill("99");
  await p.add.click();
  await expect(p.flat).toHaveAttribute("aria-invalid", "true");
  await expect(p.flat).toHaveAccessibleDescription(/The flat field must be between 1 and 40\./);

  await p.flat.fill("12");
  await p.add.click();
  await expect(page.getByRole("heading", { level: 1, name: "Intercoms" })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Intercom added: Linden street 4, entrance 1" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 2, name: "Linden street 4, entrance 1" })).toBeVisible();

  const dev = await device(request, user);
  const mine = await (await request.get("/api/v1/intercom", { headers: dev.headers })).json();
  expect(mine.data.map((ic) => [ic.id, ic.status])).toEqual([[gate.id, "confirmed"]]);
});

test("Cancel after the key unlinks the pairing in progress", async ({ page, request }) => {
  const { a, gate, key } = await panel(request, "Poplar road 8");
  const user = await a.user();
  const p = new PairingPage(page);
  await p.login(user);
  expect((await typed(request, gate, await p.digits(), key)).status()).toBe(200);
  await expect(p.flat).toBeVisible();

  await p.cancel.click();
  await expect(page.getByRole("heading", { level: 1, name: "Intercoms" })).toBeVisible();
  await expect(page.getByText(/^No intercoms yet\./)).toBeVisible();

  // The pairing is gone: its flat can no longer be chosen.
  const dev = await device(request, user);
  const res = await request.post(`/api/v1/intercom/${gate.id}/flat`, { headers: dev.headers, data: { flat: 5 } });
  expect(res.status()).toBe(404);
});

test("an intercom already added says so", async ({ page, request }) => {
  const { a, gate, key } = await panel(request, "Aspen way 1");
  const user = await a.user();
  await a.member(gate, user, { title: "Aspen", flat: 3 });
  const p = new PairingPage(page);
  await p.login(user);
  expect((await typed(request, gate, await p.digits(), key)).status()).toBe(422);
  await expect(page.getByRole("alert")).toHaveText("The intercom has already been added.");
  await expect(p.newCode).toBeFocused();
});

test("the code runs out: New code", async ({ page, request }) => {
  const a = admin(request);
  const user = await a.user();
  await page.clock.install();
  const p = new PairingPage(page);
  await p.login(user);
  const first = await p.digits();
  await page.clock.fastForward("02:00");
  await expect(page.getByRole("alert")).toHaveText("The code has expired.");
  await expect(p.newCode).toBeFocused();
  await p.newCode.click();
  await expect(page.getByRole("timer")).toHaveText(/^Valid for /);
  expect(await p.digits()).toMatch(/^\d+$/);
  expect(first).toMatch(/^\d+$/);
});

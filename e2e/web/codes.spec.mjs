// The visitor codes screen (issue 16, item 6): codes made for intercoms
// that open by code, the API's refusals on the fields they name, the share
// text copied (or selected when copying is refused), codes deleted.
import { test, expect, admin, device, expectAccessible, screenshot } from "./fixtures.mjs";
import { expectNoHorizontalOverflow, logInTo } from "./app.mjs";

// CodesPage drives the screen by roles and names.
class CodesPage {
  constructor(page) {
    this.page = page;
    this.heading = page.getByRole("heading", { level: 1, name: "Visitor codes" });
    this.intercom = page.getByLabel("Intercom", { exact: true });
    this.visitor = page.getByLabel("Visitor", { exact: true });
    this.until = page.getByLabel("Valid until", { exact: true });
    this.create = page.getByRole("button", { name: "Create code" });
    this.list = page.getByRole("list", { name: "Your codes" });
  }
  login(user) {
    return logInTo(this.page, user, "Visitor codes", this.heading);
  }
  code(visitor) {
    return this.list.getByRole("listitem", { name: visitor, exact: true });
  }
  async make(visitor, until = inDays(2)) {
    await this.visitor.fill(visitor);
    await this.until.fill(until);
    await this.create.click();
    await expect(this.code(visitor)).toBeVisible();
  }
}

// inDays is a datetime-local value days from now, at 15:30 local time.
function inDays(days) {
  const d = new Date(Date.now() + days * 86400_000);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T15:30`;
}

// withCodes is an intercom that opens by code, and the user living there.
async function withCodes(request, address) {
  const a = admin(request);
  const user = await a.user();
  const gate = await a.intercom(address);
  await a.call("PATCH", `/intercoms/${gate.id}`, { is_open_door_code: true }, 200);
  await a.member(gate, user, { title: "Front", flat: 4 });
  return { a, user, gate };
}

test("says so when no intercom opens by code", async ({ page, request }) => {
  const a = admin(request);
  const user = await a.user();
  const gate = await a.intercom("Keyless lane 1");
  await a.member(gate, user, { title: "Home", flat: 2 });
  const c = new CodesPage(page);
  await c.login(user);
  await expect(page.getByText("None of your intercoms opens its door with visitor codes.")).toBeVisible();
  await expect(c.create).toHaveCount(0);
  await expect(page.getByText("No visitor codes yet.")).toBeVisible();
});

test("makes a code, shows the API's refusals on their fields, and the panel takes it", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of 422/);
  const { a, user, gate } = await withCodes(request, "Birch avenue 12");
  const other = await a.intercom("No-code street 3");
  await a.member(other, user, { title: "Garage", flat: 4 });

  const c = new CodesPage(page);
  await c.login(user);
  // Only the intercom that opens by code is offered.
  await expect(c.intercom.getByRole("option")).toHaveText(["Front — Birch avenue 12"]);
  await expectAccessible(page, "visitor codes");

  await c.visitor.fill("");
  await c.create.click();
  await expect(c.visitor).toHaveAttribute("aria-invalid", "true");
  await expect(c.visitor).toHaveAccessibleDescription(/The title field is required\./);
  await expect(c.visitor).toBeFocused();

  await c.visitor.fill("Plumber");
  await c.until.fill("2020-01-01T10:00");
  await c.create.click();
  await expect(c.until).toHaveAccessibleDescription(/The expired at field must be a date after now\./);
  await expect(c.visitor).not.toHaveAttribute("aria-invalid", "true");

  await c.until.fill(inDays(45));
  await c.create.click();
  await expect(c.until).toHaveAccessibleDescription(/The expired at field must be a date before or equal to /);

  await c.until.fill(inDays(2));
  await c.create.click();
  const item = c.code("Plumber");
  await expect(item).toBeVisible();
  await expect(item).toContainText("Front — Birch avenue 12");
  await expect(item).toContainText(/Valid until /);
  await expect(page.getByRole("status").filter({ hasText: /^Code \d+ created$/ })).toBeVisible();
  await expectAccessible(page, "visitor codes: one");
  await expectNoHorizontalOverflow(page);
  await screenshot(page, "codes");

  // The code the screen shows opens the door at the panel.
  const dev = await device(request, user);
  const list = await (await request.get("/api/v1/intercom/codes", { headers: dev.headers })).json();
  expect(list.data).toHaveLength(1);
  await expect(item).toContainText(`Code ${list.data[0].code.split("").join(" ")}`);
  const access = await request.post("/api/hw/v1/access", { headers: { Authorization: `Bearer ${gate.secret}` }, data: { code: list.data[0].code } });
  expect(await access.json()).toMatchObject({ open: true });

  // Five live codes at most: the sixth is refused on the intercom.
  for (const v of ["Guest 2", "Guest 3", "Guest 4", "Guest 5"]) await c.make(v);
  await c.visitor.fill("Guest 6");
  await c.create.click();
  await expect(c.intercom).toHaveAttribute("aria-invalid", "true");
  await expect(c.intercom).toHaveAccessibleDescription("The account already has the most live codes allowed.");
  await expect(c.list.getByRole("listitem")).toHaveCount(5);
});

test("copies the share text, or selects it when copying is refused", async ({ page, request, context }) => {
  const { user } = await withCodes(request, "Elm court 7");
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const c = new CodesPage(page);
  await c.login(user);
  await c.make("Courier");
  const item = c.code("Courier");

  await item.getByRole("button", { name: "Copy Courier" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copied" })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toMatch(/^Code \d+ for Elm court 7, valid until .+$/);

  // The clipboard refused: the text is shown, selected, to copy by hand.
  await page.evaluate(() => {
    navigator.clipboard.writeText = () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
  });
  await item.getByRole("button", { name: "Copy Courier" }).click();
  const text = item.getByRole("textbox", { name: "Text to share" });
  await expect(text).toBeFocused();
  await expect(text).toHaveValue(copied);
  await expect(text).toHaveAccessibleDescription(/Copying isn't allowed here/);
  expect(await text.evaluate((el) => el.selectionEnd - el.selectionStart)).toBe(copied.length);
  await expectAccessible(page, "visitor codes: share text");
});

test("deletes a code after asking", async ({ page, request }) => {
  const { user } = await withCodes(request, "Oak row 2");
  const c = new CodesPage(page);
  await c.login(user);
  await c.make("Nanny");
  await c.make("Cleaner");

  await c.code("Nanny").getByRole("button", { name: "Delete Nanny" }).click();
  const ask = page.getByRole("alertdialog", { name: /^Delete the code \d+\?$/ });
  await expect(ask).toBeVisible();
  await expect(ask.getByRole("button", { name: "Cancel" })).toBeFocused();
  await ask.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(c.code("Nanny")).toHaveCount(0);
  await expect(c.code("Cleaner")).toBeVisible();

  const dev = await device(request, user);
  const list = await (await request.get("/api/v1/intercom/codes", { headers: dev.headers })).json();
  expect(list.data.map((x) => x.title)).toEqual(["Cleaner"]);

  // Deleted on another device: gone here too.
  const del = await request.delete("/api/v1/intercom/codes", { headers: dev.headers, data: { ids: [list.data[0].id] } });
  expect(del.status()).toBe(204);
  await expect(page.getByText("No visitor codes yet.")).toBeVisible();
});

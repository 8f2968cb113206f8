// The history screen (issue 16, item 5): the account's calls newest first,
// filtered by intercom and missed/answered, a page at a time, live as calls
// ring and end, and entries deleted by selection.
import { test, expect, admin, ring, device, socket, answer, expectAccessible, screenshot } from "./fixtures.mjs";
import { expectNoHorizontalOverflow, logInTo } from "./app.mjs";

// HistoryPage drives the screen as a resident does: by roles and names.
class HistoryPage {
  constructor(page) {
    this.page = page;
    this.heading = page.getByRole("heading", { level: 1, name: "History" });
    this.intercom = page.getByLabel("Intercom", { exact: true });
    this.show = page.getByLabel("Show", { exact: true });
    this.list = page.getByRole("list", { name: "Calls" });
    this.entries = this.list.getByRole("checkbox");
    this.selectAll = page.getByRole("checkbox", { name: "Select all" });
    this.remove = page.getByRole("button", { name: /^Delete selected/ });
    this.more = page.getByRole("button", { name: "Load more" });
  }
  login(user) {
    return logInTo(this.page, user, "History", this.heading);
  }
  entry(name) {
    return this.list.getByRole("checkbox", { name });
  }
}

// An account's history holds the calls that concerned one of its devices:
// signedUp signs user in once through the API (a device that never rings
// here: no socket, no push token), so that rings before the browser's login
// are the account's.
async function signedUp(request, user) {
  return device(request, user);
}

// missedCalls runs the intercom's rings with no device listening: each is missed.
async function missedCalls(request, intercom, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await ring(request, intercom);
    expect(r.status).toBe("missed");
    ids.push(r.call_id);
  }
  return ids;
}

// answeredCall rings intercom to a device of user listening on its socket,
// answers it there and hangs up: an ended (answered) call.
async function answeredCall(request, intercom, user) {
  const dev = await device(request, user);
  const sock = await socket(request, dev);
  const r = await ring(request, intercom);
  await sock.next("intercom_ring");
  await answer(request, dev, r.call_id);
  const end = await request.post(`/api/v1/intercom/calls/${r.call_id}/end`, { headers: dev.headers });
  expect(end.status()).toBe(204);
  sock.close();
  return r.call_id;
}

async function calls(request, dev, query = "") {
  const res = await request.get(`/api/v1/intercom/calls${query}`, { headers: dev.headers });
  expect(res.status()).toBe(200);
  return res.json();
}

test("filters by intercom and missed/answered, pages with Load more", async ({ page, request }) => {
  const a = admin(request);
  const user = await a.user();
  const gate = await a.intercom("Gate street 1");
  const yard = await a.intercom("Yard lane 2");
  await a.member(gate, user, { title: "Gate", flat: 3 });
  await a.member(yard, user, { title: "Yard", flat: 3 });
  await signedUp(request, user);
  await missedCalls(request, yard, 2);
  await missedCalls(request, gate, 25);
  // Last: a ring after it could still find the answering socket open.
  await answeredCall(request, gate, user); // 28 calls: two pages of 25

  const h = new HistoryPage(page);
  await h.login(user);
  await expect(page.getByText("28 calls")).toBeVisible();
  await expect(h.entries).toHaveCount(25);
  // Newest first: the answered call, with how long it lasted.
  await expect(h.entries.first()).toHaveAccessibleName(/^Gate Gate street 1 Answered · .* · talked \d+:\d\d$/);
  await expect(h.entry(/^Gate Gate street 1 Missed · /)).toHaveCount(24);
  await expectAccessible(page, "history");
  await expectNoHorizontalOverflow(page);
  await screenshot(page, "history");

  await h.more.click();
  await expect(h.entries).toHaveCount(28);
  await expect(h.more).toBeHidden();
  await expect(h.entries.last()).toHaveAccessibleName(/^Yard Yard lane 2 Missed · /);

  await h.intercom.selectOption({ label: "Yard — Yard lane 2" });
  await expect(h.entries).toHaveCount(2);
  await expect(h.entry(/^Yard Yard lane 2 Missed/)).toHaveCount(2);

  await h.intercom.selectOption({ label: "All intercoms" });
  await h.show.selectOption({ label: "Answered calls" });
  await expect(h.entries).toHaveCount(1);
  await expect(h.entries.first()).toHaveAccessibleName(/Answered/);

  await h.intercom.selectOption({ label: "Yard — Yard lane 2" });
  await expect(page.getByText("No calls match these filters.")).toBeVisible();
  await expect(h.entries).toHaveCount(0);
});

test("a call rings in at the top, live, and becomes missed when declined", async ({ page, request }) => {
  const a = admin(request);
  const user = await a.user();
  const gate = await a.intercom("Porch road 5");
  await a.member(gate, user, { title: "Porch", flat: 1 });
  await signedUp(request, user);
  await missedCalls(request, gate, 1);

  const h = new HistoryPage(page);
  await h.login(user);
  await expect(h.entries).toHaveCount(1);

  // This browser rings: the entry comes first, ringing; declining it here
  // makes it missed (the only device rung declined).
  const r = await ring(request, gate);
  await expect(h.entries).toHaveCount(2);
  await expect(h.entries.first()).toHaveAccessibleName(/^Porch Porch road 5 Ringing · /);
  await expect(page.getByText("2 calls")).toBeVisible();
  await page.getByRole("dialog").getByRole("button", { name: "Decline" }).click();
  await expect(h.entries.first()).toHaveAccessibleName(/^Porch Porch road 5 Missed · /);
  expect(r.call_id).toBeGreaterThan(0);

  // Deleted elsewhere (another device of the account): gone here too.
  const dev = await device(request, user);
  const del = await request.delete("/api/v1/intercom/calls", { headers: dev.headers, data: { ids: [r.call_id] } });
  expect(del.status()).toBe(204);
  await expect(h.entries).toHaveCount(1);
  await expect(page.getByText("1 call", { exact: true })).toBeVisible();
});

test("deletes the entries chosen, after asking", async ({ page, request }) => {
  const a = admin(request);
  const user = await a.user();
  const gate = await a.intercom("Mill street 9");
  await a.member(gate, user, { title: "Mill", flat: 7 });
  await signedUp(request, user);
  await missedCalls(request, gate, 3);

  const h = new HistoryPage(page);
  await h.login(user);
  await expect(h.entries).toHaveCount(3);
  await expect(h.remove).toBeDisabled();

  await h.entries.nth(0).check();
  await h.entries.nth(1).check();
  await expect(h.remove).toHaveAccessibleName("Delete selected (2)");
  await h.remove.click();
  const ask = page.getByRole("alertdialog", { name: "Delete 2 calls from the history?" });
  await expect(ask).toBeVisible();
  await expectAccessible(page, "history: delete?");

  // Cancel keeps them.
  await ask.getByRole("button", { name: "Cancel" }).click();
  await expect(ask).toBeHidden();
  await expect(h.entries).toHaveCount(3);

  await h.remove.click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "2 calls deleted" })).toBeVisible();
  await expect(h.entries).toHaveCount(1);
  await expect(page.getByText("1 call", { exact: true })).toBeVisible();

  const dev = await device(request, user);
  expect((await calls(request, dev)).meta.total).toBe(1);

  // Select all, then delete the last one: the empty state.
  await h.selectAll.check();
  await h.remove.click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page.getByText("No calls yet.")).toBeVisible();
  await expect(h.selectAll).toBeHidden();
  expect((await calls(request, dev)).meta.total).toBe(0);
});

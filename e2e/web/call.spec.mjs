// Calls in the browser: a panel (sipp) rings a flat through the shipped
// Kamailio, the web app's dialog rings, Answer takes the call and carries
// two-way audio over WebRTC through rtpengine (and coturn when relay is
// forced); then every other way a ring can end, and the bad inputs of
// issue 16. Tests tagged @cluster run again on two nodes behind nginx.
import { test, expect, admin, resident, heartbeat, ring, device, socket, answer, panelCall, screenshot, expectAccessible, awaitAudio, figure, uniq } from "./fixtures.mjs";
import { logIn, item, session, apiAs, controlServer, subscribed } from "./app.mjs";

const desktopOnly = () => test.skip(test.info().project.name !== "desktop", "the call stories run once, on the desktop viewport");

// callOf asks the admin API how call id went.
async function callOf(request, id) {
  return admin(request).call("GET", `/calls/${id}`, undefined, 200);
}

// shownAt records when a dialog opened, in the page (Date.now's clock).
function recordDialogs() {
  window.__dialogsShown = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target.tagName === "DIALOG" && r.target.open) window.__dialogsShown.push(Date.now());
    }
  }).observe(document, { attributes: true, attributeFilter: ["open"], subtree: true });
}

const incoming = (page) => page.getByRole("dialog", { name: "Incoming call" });

async function voiceCall(page, request, { relay }) {
  const control = await controlServer();
  const a = admin(request);
  const intercom = await a.call("POST", "/intercoms", { address: uniq("1 Station Rd"), control_url: control.url }, 201);
  const user = await a.user();
  await a.member(intercom, user, { title: "Entrance A", flat: 15 });
  await heartbeat(request, intercom); // online: its door opens from the app
  await logIn(page, user);
  const panel = await panelCall({ panel: intercom, flat: 15 });
  const dialog = incoming(page);
  await expect(dialog).toBeVisible({ timeout: 15_000 });
  await expect(dialog).toContainText("Entrance A");
  await expect(dialog).toContainText(intercom.address);
  await expectAccessible(page, "the incoming call");
  if (!relay) await screenshot(page, "incoming-call"); // on both viewports: this story runs on each
  await dialog.getByRole("button", { name: "Answer" }).click();
  const inCall = incoming(page); // the same dialog, now with Hang up and Open door
  await expect(inCall.getByRole("button", { name: "Hang up" })).toBeVisible();
  const audio = await awaitAudio(page, 50);
  await inCall.getByRole("button", { name: "Open door" }).click();
  await expect(page.getByText("Door opened: Entrance A")).toBeVisible();
  await expect.poll(() => control.got.filter((m) => m.event === "door.open").length).toBe(1);
  figure(relay ? "audio through coturn" : "audio", audio);
  if (relay) expect(audio.local && audio.local.type, "the browser's side of the selected pair").toBe("relay");
  if (!relay) {
    await expectAccessible(page, "a call in progress");
    await screenshot(page, "in-call");
  }
  // The panel plays its recording, then hangs up: the dialog closes and says so — by
  // intercomd's intercom_cancel (hangup) or by the SIP server's BYE, whichever comes first.
  await expect(inCall).toBeHidden({ timeout: 30_000 });
  await expect(page.getByText(/^(The visitor left\.|The call has ended\.)$/)).toBeVisible();
  const sipp = await panel.done;
  expect(sipp.code, `the panel's call:\n${sipp.out}`).toBe(0);
  const history = await apiAs(request, await session(page))("GET", "/intercom/calls");
  const call = history.body.data[0];
  expect(call.status).toBe("ended");
  const seen = await callOf(request, call.id);
  expect(seen.connected_at, "Kamailio reported the voice connected").toBeTruthy();
  control.close();
}

test("@cluster a panel rings, the browser answers with voice both ways, the panel hangs up", async ({ page, request }) => {
  await voiceCall(page, request, { relay: false });
});

test("Hang up: the resident ends the conversation, the panel gets the BYE", async ({ page, request }) => {
  desktopOnly();
  const { intercom, user } = await resident(request, { title: "Gate B", flat: 16 });
  await logIn(page, user);
  const panel = await panelCall({ panel: intercom, flat: 16, scenario: "app-hangs-up.xml" });
  await incoming(page).getByRole("button", { name: "Answer" }).click();
  await expect(incoming(page).getByText("Connected")).toBeVisible();
  await incoming(page).getByRole("button", { name: "Hang up" }).click();
  await expect(incoming(page)).toBeHidden();
  await expect(page.getByText("The call has ended.")).toBeVisible();
  const sipp = await panel.done;
  expect(sipp.code, `the panel's call (it answers the app's BYE):\n${sipp.out}`).toBe(0);
  const history = await apiAs(request, await session(page))("GET", "/intercom/calls");
  expect(history.body.data[0].status).toBe("ended");
});

test.describe("relayed through coturn", () => {
  test.use({ iceRelay: true });
  test("the answer's ice_servers take the voice through TURN", async ({ page, request }) => {
    desktopOnly();
    await voiceCall(page, request, { relay: true });
  });
});

test("@cluster another account of the flat sees the call answered elsewhere; a browser with ringing off never rings", async ({ browser, page, request }) => {
  desktopOnly();
  const a = admin(request);
  const intercom = await a.intercom();
  const [first, second, quiet] = [await a.user(), await a.user(), await a.user()];
  for (const u of [first, second, quiet]) await a.member(intercom, u, { title: "Our door", flat: 21 });
  await logIn(page, second);
  const quietContext = await browser.newContext();
  const quietPage = await quietContext.newPage();
  await logIn(quietPage, quiet);
  const ringing = item(quietPage, "Our door").getByRole("switch", { name: "Ringing" });
  await ringing.click();
  await expect(ringing).not.toBeChecked();
  await expect.poll(async () => (await apiAs(request, await session(quietPage))("GET", `/intercom/${intercom.id}`)).body.is_enabled).toBe(false);

  // The first account answers from a device of its own, rung over its socket.
  const firstDevice = await device(request, first);
  const firstSocket = await socket(request, firstDevice);
  const rang = await ring(request, intercom, 21);
  const quietUUID = (await session(quietPage)).uuid;
  expect(rang.skipped.map((s) => s.device)).toContain(quietUUID);
  await expect(incoming(page)).toBeVisible();
  await firstSocket.next("intercom_ring", (e) => e.data.call_id === rang.call_id);
  await answer(request, firstDevice, rang.call_id);
  await expect(incoming(page)).toBeHidden();
  await expect(page.getByText("Answered on another device.")).toBeVisible();
  await quietPage.waitForTimeout(500);
  await expect(incoming(quietPage)).toHaveCount(0);
  await quietContext.close();
  firstSocket.close();
});

test("Decline, the visitor leaving and the ring timeout each close the dialog and say why", async ({ page, request }) => {
  desktopOnly();
  const { intercom, user } = await resident(request, { title: "Back door", flat: 3 });
  await logIn(page, user);
  // Decline: this browser was the only device, so the call is missed.
  let rang = await ring(request, intercom, 3);
  await incoming(page).getByRole("button", { name: "Decline" }).click();
  await expect(incoming(page)).toBeHidden();
  await expect.poll(async () => (await callOf(request, rang.call_id)).status).toBe("missed");
  // The visitor leaves: the intercom ends the call.
  rang = await ring(request, intercom, 3);
  await expect(incoming(page)).toBeVisible();
  const end = await request.post(`/api/hw/v1/calls/${rang.call_id}/end`, { headers: { Authorization: `Bearer ${intercom.secret}` } });
  expect(end.status()).toBeLessThan(300);
  await expect(incoming(page)).toBeHidden();
  await expect(page.getByText("The visitor left.")).toBeVisible();
  // Nobody answers: the ring timeout.
  rang = await ring(request, intercom, 3);
  await expect(incoming(page)).toBeVisible();
  await expect(incoming(page)).toBeHidden({ timeout: (Number(process.env.RING_TIMEOUT) + 5) * 1000 });
  await expect(page.getByText("Nobody answered in time.")).toBeVisible();
});

test("ring → dialog visible, p95 over 20 rings", async ({ page, request }) => {
  desktopOnly();
  const { intercom, user } = await resident(request, { title: "Timing", flat: 9 });
  await page.addInitScript(recordDialogs);
  await logIn(page, user);
  const took = [];
  for (let i = 0; i < 20; i++) {
    const before = Date.now();
    const rang = await ring(request, intercom, 9);
    await expect(incoming(page)).toBeVisible();
    const shown = await page.evaluate(() => window.__dialogsShown.at(-1));
    took.push(shown - before);
    await request.post(`/api/hw/v1/calls/${rang.call_id}/end`, { headers: { Authorization: `Bearer ${intercom.secret}` } });
    await expect(incoming(page)).toBeHidden();
  }
  const sorted = [...took].sort((x, y) => x - y);
  const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1];
  figure("ring → dialog visible (ms), 20 rings", { p50: sorted[9], p95, max: sorted.at(-1) });
  expect(p95).toBeLessThanOrEqual(300);
});

test("the SIP server unreachable when answering: a clear message, and the call is ended, not left answered", async ({ page, request, consoleErrors }) => {
  desktopOnly();
  consoleErrors.allow(/WebSocket connection to .*\/sip/);
  const { intercom, user } = await resident(request, { title: "Porch", flat: 4 });
  // Every SIP WebSocket of the page is refused.
  await page.routeWebSocket(/\/sip/, (ws) => ws.close({ code: 4000, reason: "unreachable" }));
  await logIn(page, user);
  const rang = await ring(request, intercom, 4);
  await incoming(page).getByRole("button", { name: "Answer" }).click();
  await expect(page.getByText("Couldn't reach the voice server. The call was hung up.")).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await expect.poll(async () => (await callOf(request, rang.call_id)).status).toBe("ended");
});

test("a refused microphone is said before answering is tried", async ({ browser, page, request, baseURL }) => {
  desktopOnly();
  const { intercom, user } = await resident(request, { title: "Garage", flat: 5 });
  // The site's microphone permission set to "denied", in this page's own browser context.
  const { targetInfo } = await (await page.context().newCDPSession(page)).send("Target.getTargetInfo");
  await (await browser.newBrowserCDPSession()).send("Browser.setPermission", {
    permission: { name: "microphone" },
    setting: "denied",
    origin: new URL(baseURL).origin,
    browserContextId: targetInfo.browserContextId,
  });
  await logIn(page, user);
  const rang = await ring(request, intercom, 5);
  const dialog = incoming(page);
  await expect(dialog.getByRole("alert")).toHaveText(/microphone is blocked/);
  await expect(dialog.getByRole("button", { name: "Answer" })).toBeDisabled();
  await expect.poll(async () => (await callOf(request, rang.call_id)).status).toBe("ring");
  await screenshot(page, "microphone-blocked");
});

test("two tabs of one browser: one X-UUID, both ring, one answer", async ({ context, page, request, consoleErrors }) => {
  desktopOnly();
  consoleErrors.allow(/WebSocket connection to .*\/sip/);
  const { intercom, user } = await resident(request, { title: "Twin tabs", flat: 6 });
  await logIn(page, user);
  const other = await context.newPage();
  await other.goto("/");
  await expect(item(other, "Twin tabs")).toBeVisible();
  await subscribed(other);
  expect((await session(other)).uuid).toBe((await session(page)).uuid);
  // The answering tab's voice is cut short: what matters is the other tab.
  await page.routeWebSocket(/\/sip/, (ws) => ws.close({ code: 4000, reason: "not in this test" }));
  const rang = await ring(request, intercom, 6);
  expect(rang.recipients.length, "one device however many tabs").toBe(1);
  await expect(incoming(page)).toBeVisible();
  await expect(incoming(other)).toBeVisible();
  await incoming(page).getByRole("button", { name: "Answer" }).click();
  await expect(incoming(other)).toBeHidden();
  await expect(other.getByText("Answered in another tab.")).toBeVisible();
});

test("the socket drops and comes back: the app subscribes again and rings for the call it missed", async ({ page, request }) => {
  desktopOnly();
  const { intercom, user } = await resident(request, { title: "Flaky link", flat: 8 });
  // The Pusher socket through a gate: while it is shut, nothing reaches the page (a link gone silent).
  let shut = false;
  const sockets = [];
  await page.routeWebSocket(/\/app\//, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => !shut && ws.send(m));
    sockets.push(ws);
  });
  await logIn(page, user);
  await expect(item(page, "Flaky link")).toBeVisible();
  await expect.poll(() => sockets.length).toBeGreaterThan(0);
  shut = true;
  const rang = await ring(request, intercom, 8);
  await page.waitForTimeout(500);
  await expect(incoming(page)).toHaveCount(0);
  // The link is found dead and closed; pusher-js connects again at once (4200).
  shut = false;
  sockets.at(-1).close({ code: 4200, reason: "reconnect" });
  await expect(incoming(page)).toBeVisible({ timeout: 15_000 });
  expect(sockets.length).toBeGreaterThan(1);
  await incoming(page).getByRole("button", { name: "Decline" }).click();
  await expect.poll(async () => (await callOf(request, rang.call_id)).status).toBe("missed");
});

test("the flat's handset and landline: switches when the intercom has them; a handset answer closes the dialog and shows in the history", async ({ page, request }) => {
  desktopOnly();
  const a = admin(request);
  const { intercom, user } = await resident(request, { title: "Hall door", flat: 4 });
  const hw = { Authorization: `Bearer ${intercom.secret}` };
  const landlineURI = "sip:+15550001@gw.example";
  await logIn(page, user);
  await expect(item(page, "Hall door").getByRole("switch", { name: "Ringing" })).toBeVisible();
  await expect(item(page, "Hall door").getByRole("switch", { name: "Handset" }), "no handset line yet").toHaveCount(0);

  await a.call("PATCH", `/intercoms/${intercom.id}`, { has_analog_line: true, has_landline_sip_line: true }, 200);
  await a.call("PATCH", `/intercoms/${intercom.id}/flats/4`, { landline_uri: landlineURI }, 200);
  await page.reload();
  const handset = item(page, "Hall door").getByRole("switch", { name: "Handset" });
  const landline = item(page, "Hall door").getByRole("switch", { name: "Landline" });
  await expect(handset).toBeChecked();
  await expect(landline).not.toBeChecked();
  await landline.click();
  await expect(landline).toBeChecked();
  await expect(page.getByText("Calls from Hall door go to the landline too")).toBeVisible();

  // The panel rings the handset and forwards to the landline; the handset answers.
  let rang = await ring(request, intercom, 4);
  expect([rang.analog, rang.landline]).toEqual([true, landlineURI]);
  await expect(incoming(page)).toBeVisible();
  const res = await request.post(`/api/hw/v1/calls/${rang.call_id}/answered`, { headers: hw, data: { by: "analog" } });
  expect(res.status()).toBe(200);
  await expect(incoming(page)).toBeHidden();
  await expect(page.getByText("Answered on the flat's handset.")).toBeVisible();
  expect((await request.post(`/api/hw/v1/calls/${rang.call_id}/end`, { headers: hw })).status()).toBe(204);

  // Turned off here, the handset is not rung at the next ring.
  await handset.click();
  await expect(handset).not.toBeChecked();
  await expect.poll(async () => (await apiAs(request, await session(page))("GET", `/intercom/${intercom.id}`)).body.is_analog_line_available).toBe(false);
  rang = await ring(request, intercom, 4);
  expect(rang.analog).toBe(false);
  await expect(incoming(page)).toBeVisible();
  expect((await request.post(`/api/hw/v1/calls/${rang.call_id}/end`, { headers: hw })).status()).toBe(204);
  await expect(incoming(page)).toBeHidden();

  await page.getByRole("link", { name: "History" }).click();
  await expect(page.getByRole("listitem").filter({ hasText: "on the flat's handset" })).toHaveCount(1);
  await expectAccessible(page, "the history with a handset answer");
});

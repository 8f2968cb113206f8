// "When this browser rings" (issue 16, item 3): the weekly grid painted by a
// drag and by the keyboard, same every day, a date interval by the picker,
// Save, and what the API stored shown back after a reload; a 422 on its
// field with nothing else lost; a window saved with another offset shown in
// the browser's time.
import { test, expect, resident, expectAccessible, screenshot } from "./fixtures.mjs";
import { logIn, item, session, apiAs, expectNoHorizontalOverflow } from "./app.mjs";

// The browser is in Moscow (UTC+03:00 all year): the offsets sent are known.
test.use({ timezoneId: "Europe/Moscow", locale: "en-GB" });

// cell is one half hour of the grid, by its accessible name ("Monday 22:00–22:30").
const cell = (page, name) => page.getByRole("button", { name, exact: true });

// windows is the text list of what the grid makes, as a screen reader reads it.
const windows = (page) =>
  page.getByRole("list", { name: "Rings" }).getByRole("listitem").locator("> span");

// openSchedule logs in a new resident and opens the schedule of their intercom.
async function openSchedule(page, request) {
  const { intercom, user } = await resident(request);
  await logIn(page, user);
  await item(page, "Home").getByRole("button", { name: "Schedule" }).click();
  await expect(page.getByRole("dialog", { name: "Schedule" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1, name: "Schedule: Home" })).toBeVisible();
  const s = await session(page);
  return { intercom, api: apiAs(request, s) };
}

// save presses Save and waits for the API's 200 and the "Saved" toast.
async function save(page) {
  const answer = page.waitForResponse((r) => r.request().method() === "PATCH");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  expect((await answer).status()).toBe(200);
  await expect(page.getByRole("status").filter({ hasText: "Saved" }).last()).toBeVisible();
}

// drag presses on the cell named from, moves to the one named to and lets
// go: with the mouse on a desktop, with a finger on a phone (CDP touch
// events, which Chromium turns into pointer events).
async function drag(page, from, to) {
  const a = cell(page, from), b = cell(page, to);
  await a.scrollIntoViewIfNeeded();
  const ba = await a.boundingBox(), bb = await b.boundingBox();
  const x0 = ba.x + ba.width / 2, y0 = ba.y + ba.height / 2;
  const x1 = bb.x + bb.width / 2, y1 = bb.y + bb.height / 2;
  if (test.info().project.use.hasTouch) {
    const cdp = await page.context().newCDPSession(page);
    const touch = (type, x, y) =>
      cdp.send("Input.dispatchTouchEvent", { type, touchPoints: type === "touchEnd" ? [] : [{ x, y, id: 1 }] });
    await touch("touchStart", x0, y0);
    for (let i = 1; i <= 10; i++) await touch("touchMove", x0 + ((x1 - x0) * i) / 10, y0 + ((y1 - y0) * i) / 10);
    await touch("touchEnd");
    await cdp.detach();
  } else {
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x1, y1, { steps: 10 });
    await page.mouse.up();
  }
}

test("an overnight window painted by a drag and by the keyboard, an interval by the picker: saved, and shown after a reload as the API stored it", async ({ page, request }) => {
  const { intercom, api } = await openSchedule(page, request);
  await expect(page.getByText("An empty schedule (no hours, no dates) means this browser rings at any time")).toBeVisible();
  await expect(windows(page)).toHaveText([]);

  // Monday 22:00–24:00 and Tuesday 00:00–06:00: one run, one overnight window.
  await drag(page, "Monday 22:00–22:30", "Monday 23:30–24:00");
  await drag(page, "Tuesday 00:00–00:30", "Tuesday 05:30–06:00");
  await expect(windows(page)).toHaveText(["Monday 22:00 – Tuesday 06:00"]);
  await expect(cell(page, "Monday 23:30–24:00")).toHaveAttribute("aria-pressed", "true");
  await expect(cell(page, "Tuesday 06:00–06:30")).toHaveAttribute("aria-pressed", "false");

  // The same on Wednesday night with the keyboard: one tab stop into the
  // grid (the cell last pressed), arrows, Home and End, Space and Enter,
  // Shift+arrow carrying the mark.
  await page.getByLabel("Same every day").focus();
  await page.keyboard.press("Tab");
  await expect(cell(page, "Tuesday 00:00–00:30")).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("End");
  for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowLeft");
  await expect(cell(page, "Wednesday 22:00–22:30")).toBeFocused();
  await page.keyboard.press("Space");
  for (let i = 0; i < 3; i++) await page.keyboard.press("Shift+ArrowRight");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Home");
  await expect(cell(page, "Thursday 00:00–00:30")).toBeFocused();
  await page.keyboard.press("Enter");
  for (let i = 0; i < 11; i++) await page.keyboard.press("Shift+ArrowRight");
  await expect(windows(page)).toHaveText(["Monday 22:00 – Tuesday 06:00", "Wednesday 22:00 – Thursday 06:00"]);
  // Still one tab stop: Tab leaves the grid.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Remove Monday 22:00 – Tuesday 06:00" })).toBeFocused();

  // A tap (or click) toggles one cell, a second one takes it back.
  await cell(page, "Friday 12:00–12:30").click();
  await expect(windows(page)).toHaveText(["Monday 22:00 – Tuesday 06:00", "Wednesday 22:00 – Thursday 06:00", "Friday 12:00 – 12:30"]);
  await cell(page, "Friday 12:00–12:30").click();
  await expect(windows(page)).toHaveCount(2);

  await page.getByRole("button", { name: "Add dates" }).click();
  await page.getByLabel("Starts").fill("2026-12-24T18:00");
  await page.getByLabel("Ends").fill("2026-12-26T09:30");
  await expectAccessible(page, "the schedule being edited");
  await expectNoHorizontalOverflow(page);
  await page.getByRole("dialog", { name: "Schedule" }).evaluate((d) => d.scrollTo(0, 0)); // the picture from the top
  await screenshot(page, "schedule");

  await save(page);

  const stored = {
    days: [
      { to: "06:00:00+03:00", from: "22:00:00+03:00", type: "monday" },
      { to: "06:00:00+03:00", from: "22:00:00+03:00", type: "wednesday" },
    ],
    intervals: [{ from: "2026-12-24T18:00:00+03:00", to: "2026-12-26T09:30:00+03:00" }],
  };
  const got = await api("GET", `/intercom/${intercom.id}`);
  expect(got.status).toBe(200);
  expect(got.body.timetable).toEqual(stored);

  await page.reload();
  await expect(windows(page)).toHaveText(["Monday 22:00 – Tuesday 06:00", "Wednesday 22:00 – Thursday 06:00"]);
  await expect(cell(page, "Tuesday 05:30–06:00")).toHaveAttribute("aria-pressed", "true");
  await expect(cell(page, "Thursday 00:00–00:30")).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByLabel("Starts")).toHaveValue("2026-12-24T18:00");
  await expect(page.getByLabel("Ends")).toHaveValue("2026-12-26T09:30");
  await expect(page.getByLabel("Same every day")).not.toBeChecked();
});

test("same every day: one row, saved as one same_every_day window that crosses midnight", async ({ page, request }) => {
  const { intercom, api } = await openSchedule(page, request);
  await page.getByLabel("Same every day").check();
  await expect(cell(page, "Monday 22:00–22:30")).toHaveCount(0);
  await drag(page, "Every day 23:00–23:30", "Every day 23:30–24:00");
  await drag(page, "Every day 00:00–00:30", "Every day 06:30–07:00");
  await expect(windows(page)).toHaveText(["Every day 23:00 – 07:00 (next day)"]);
  await save(page);
  const got = await api("GET", `/intercom/${intercom.id}`);
  expect(got.body.timetable).toEqual({
    days: [{ to: "07:00:00+03:00", from: "23:00:00+03:00", type: "same_every_day" }],
    intervals: [],
  });
  await page.reload();
  await expect(page.getByLabel("Same every day")).toBeChecked();
  await expect(windows(page)).toHaveText(["Every day 23:00 – 07:00 (next day)"]);
  await expectAccessible(page, "the daily schedule");
});

test("Day, From and To add a window; a run to midnight is saved with to 23:59", async ({ page, request }) => {
  const { intercom, api } = await openSchedule(page, request);
  await page.getByRole("combobox", { name: "Day" }).selectOption({ label: "Saturday" });
  await page.getByLabel("From", { exact: true }).fill("20:00");
  await page.getByLabel("To", { exact: true }).fill("23:59");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(windows(page)).toHaveText(["Saturday 20:00 – 24:00"]);
  // Typed and not added: Save sends it too, in the one PATCH.
  await page.getByRole("combobox", { name: "Day" }).selectOption({ label: "Sunday" });
  await page.getByLabel("From", { exact: true }).fill("09:00");
  await page.getByLabel("To", { exact: true }).fill("10:00");
  await save(page);
  const got = await api("GET", `/intercom/${intercom.id}`);
  expect(got.body.timetable.days).toEqual([
    { to: "23:59:59+03:00", from: "20:00:00+03:00", type: "saturday" },
    { to: "10:00:00+03:00", from: "09:00:00+03:00", type: "sunday" },
  ]);
  await expect(windows(page)).toHaveText(["Saturday 20:00 – 24:00", "Sunday 09:00 – 10:00"]);
});

test("a 422 is shown on the field it names, focused, and nothing else changes", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of 422/);
  const { intercom, api } = await openSchedule(page, request);
  await drag(page, "Monday 22:00–22:30", "Monday 23:30–24:00");
  await page.getByRole("button", { name: "Add dates" }).click();
  await page.getByLabel("Starts").fill("2026-12-24T18:00");
  await page.getByLabel("Ends").fill("2026-12-26T09:30");
  await save(page);
  const before = (await api("GET", `/intercom/${intercom.id}`)).body.timetable;

  // A second interval that ends before it starts, and a new window on the grid.
  await drag(page, "Friday 08:00–08:30", "Friday 09:30–10:00");
  await page.getByRole("button", { name: "Add dates" }).click();
  await page.getByLabel("Starts").nth(1).fill("2027-01-02T10:00");
  await page.getByLabel("Ends").nth(1).fill("2027-01-01T10:00");
  await page.getByRole("button", { name: "Save", exact: true }).click();

  const ends = page.getByRole("group", { name: "Dates 2" }).getByLabel("Ends");
  await expect(ends).toHaveAttribute("aria-invalid", "true");
  await expect(ends).toBeFocused();
  await expect(ends).toHaveAccessibleDescription("The timetable.intervals.1.to field must be a date after timetable.intervals.1.from.");
  await expect(page.getByText("Not saved. Check the marked fields.")).toBeVisible();
  await expect(page.locator("[aria-invalid=true]")).toHaveCount(1);
  // What was typed and painted is all still there.
  await expect(windows(page)).toHaveText(["Monday 22:00 – 24:00", "Friday 08:00 – 10:00"]);
  await expect(page.getByLabel("Starts").nth(0)).toHaveValue("2026-12-24T18:00");
  await expect(page.getByLabel("Starts").nth(1)).toHaveValue("2027-01-02T10:00");
  await expect(ends).toHaveValue("2027-01-01T10:00");
  await expectAccessible(page, "a refused schedule");
  // And the API kept what it had.
  expect((await api("GET", `/intercom/${intercom.id}`)).body.timetable).toEqual(before);

  // Mended, it saves.
  await ends.fill("2027-01-03T10:00");
  await expect(ends).not.toHaveAttribute("aria-invalid", "true");
  await save(page);
  expect((await api("GET", `/intercom/${intercom.id}`)).body.timetable.intervals).toEqual([
    { from: "2026-12-24T18:00:00+03:00", to: "2026-12-26T09:30:00+03:00" },
    { from: "2027-01-02T10:00:00+03:00", to: "2027-01-03T10:00:00+03:00" },
  ]);
});

test("windows saved with another offset are shown in the browser's time, weekday and all, and kept as they were", async ({ page, request }) => {
  const { intercom, api } = await openSchedule(page, request);
  // This device's timetable written through the API in UTC and in +05:30,
  // as an app elsewhere in the world would have sent it.
  const seeded = await api("PATCH", `/intercom/${intercom.id}`, {
    timetable: {
      days: [
        { type: "tuesday", from: "22:30Z", to: "23:59:59Z" }, // Wednesday 01:30 – 03:00 in Moscow
        { type: "sunday", from: "01:00+05:30", to: "02:00+05:30" }, // Saturday 22:30 – 23:30
      ],
      intervals: [{ from: "2026-12-24T18:00:00+01:00", to: "2026-12-24T19:00:00Z" }],
    },
  });
  expect(seeded.status).toBe(200);
  await page.reload();
  await expect(windows(page)).toHaveText(["Wednesday 01:30 – 03:00", "Saturday 22:30 – 23:30"]);
  await expect(cell(page, "Saturday 22:30–23:00")).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByLabel("Starts")).toHaveValue("2026-12-24T20:00");
  await expect(page.getByLabel("Ends")).toHaveValue("2026-12-24T22:00");
  await expect(page.getByText("Times are in this browser's time zone, UTC+03:00.")).toBeVisible();
  // Saved untouched, the same instants come back in the browser's offset.
  await save(page);
  expect((await api("GET", `/intercom/${intercom.id}`)).body.timetable).toEqual({
    days: [
      { to: "03:00:00+03:00", from: "01:30:00+03:00", type: "wednesday" },
      { to: "23:30:00+03:00", from: "22:30:00+03:00", type: "saturday" },
    ],
    intervals: [{ from: "2026-12-24T20:00:00+03:00", to: "2026-12-24T22:00:00+03:00" }],
  });
});

test("Clear empties the schedule, which then rings at any time; an unknown intercom is not found", async ({ page, request, consoleErrors }) => {
  consoleErrors.allow(/Failed to load resource: the server responded with a status of 404/);
  const { intercom, api } = await openSchedule(page, request);
  await drag(page, "Monday 10:00–10:30", "Monday 11:30–12:00");
  await save(page);
  await page.getByRole("button", { name: "Clear" }).click();
  await expect(windows(page)).toHaveText([]);
  await save(page);
  expect((await api("GET", `/intercom/${intercom.id}`)).body.timetable).toEqual({ days: [], intervals: [] });

  await page.goto(`/#/schedule/${intercom.id + 100000}`);
  await expect(page.getByRole("alert")).toHaveText("This intercom isn't among your intercoms.");
  await page.getByRole("link", { name: "Back to intercoms" }).click();
  await expect(item(page, "Home")).toBeVisible();
});

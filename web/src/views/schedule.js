// When this browser rings for one intercom (API.md §5): a weekly grid that a
// drag (mouse, pen, touch) or the keyboard paints, one row for "same every
// day", a Day/From/To form, date intervals, all saved with one PATCH of the
// timetable and shown back as the API stored it.
//
// The grid's model is exact, not cells: sets of [start, end) seconds in the
// browser's current UTC offset — the week from Monday 00:00, or one day — so a
// window saved elsewhere (07:15, another offset) is kept to the second until
// the resident paints over it. Cells only show how much of them is covered.
import { h, mount, uid, announce } from "../dom.js";
import { api, ApiError } from "../api.js";
import { t, define } from "../i18n.js";
import { toast } from "../app.js";

define({
  en: {
    s_title: "Schedule",
    s_for: "When this browser rings",
    s_not_found: "This intercom isn't among your intercoms.",
    s_back: "Back to intercoms",
    s_ring_on: "Ringing is on in this browser: it rings at the times below.",
    s_ring_off: "Ringing is off in this browser, so it doesn't ring at any time, whatever the schedule says. Turn Ringing on on the",
    s_ring_off_link: "Intercoms screen",
    s_empty_means: "An empty schedule (no hours, no dates) means this browser rings at any time — as long as Ringing is on on the Intercoms screen.",
    s_tz: "Times are in this browser's time zone, UTC{offset}.",
    s_week: "Weekly hours",
    s_same: "Same every day",
    s_help: "Press and drag across the grid to mark when this browser rings; start on a marked cell to unmark. With the keyboard: arrow keys move, Space or Enter marks or unmarks a half hour, Shift with an arrow carries the mark along. On a phone, swipe the hours row to scroll.",
    s_grid: "Weekly grid, half an hour a cell",
    s_grid_day: "Daily grid, half an hour a cell",
    s_windows: "Rings",
    s_no_windows: "No weekly hours.",
    s_next_day: "next day",
    s_remove: "Remove",
    s_remove_what: "Remove {what}",
    s_add_h: "Add hours by time",
    s_day: "Day",
    s_from: "From",
    s_to: "To",
    s_add: "Add",
    s_need_time: "Enter a time.",
    s_same_time: "From and To must differ.",
    s_dates: "Dates",
    s_dates_help: "Date and time ranges when this browser rings, besides the weekly hours.",
    s_no_dates: "No dates.",
    s_interval: "Dates {n}",
    s_starts: "Starts",
    s_ends: "Ends",
    s_remove_interval: "Remove dates {n}",
    s_add_interval: "Add dates",
    s_save: "Save",
    s_clear: "Clear",
    s_save_hint: "Nothing is stored until you press Save.",
    s_saved: "Saved",
    s_cleared: "Schedule cleared. Press Save to store it: an empty schedule rings at any time.",
    s_not_saved: "Not saved. Check the marked fields.",
    every_day: "Every day",
    days: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    days_short: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    every_day_short: "Daily",
  },
  ru: {
    s_title: "Расписание",
    s_for: "Когда звонит этот браузер",
    s_not_found: "Этого домофона нет среди ваших.",
    s_back: "К домофонам",
    s_ring_on: "Звонки в этом браузере включены: он звонит в указанное ниже время.",
    s_ring_off: "Звонки в этом браузере выключены: он не звонит никогда, что бы ни было в расписании. Включите «Звонки» на",
    s_ring_off_link: "экране домофонов",
    s_empty_means: "Пустое расписание (ни часов, ни дат) значит, что браузер звонит в любое время — если на экране домофонов включены «Звонки».",
    s_tz: "Время — в часовом поясе этого браузера, UTC{offset}.",
    s_week: "Часы по дням недели",
    s_same: "Каждый день одинаково",
    s_help: "Нажмите и проведите по сетке, чтобы отметить, когда браузер звонит; начните с отмеченной клетки, чтобы снять отметку. С клавиатуры: стрелки перемещают, пробел или Enter отмечает или снимает полчаса, Shift со стрелкой переносит отметку. На телефоне сетку прокручивает строка часов.",
    s_grid: "Сетка недели, клетка — полчаса",
    s_grid_day: "Сетка дня, клетка — полчаса",
    s_windows: "Звонит",
    s_no_windows: "Часов не задано.",
    s_next_day: "следующего дня",
    s_remove: "Убрать",
    s_remove_what: "Убрать {what}",
    s_add_h: "Добавить часы по времени",
    s_day: "День",
    s_from: "С",
    s_to: "До",
    s_add: "Добавить",
    s_need_time: "Укажите время.",
    s_same_time: "Время «С» и «До» должно различаться.",
    s_dates: "Даты",
    s_dates_help: "Промежутки дат и времени, когда браузер звонит, помимо часов по дням недели.",
    s_no_dates: "Дат не задано.",
    s_interval: "Даты {n}",
    s_starts: "Начало",
    s_ends: "Конец",
    s_remove_interval: "Убрать даты {n}",
    s_add_interval: "Добавить даты",
    s_save: "Сохранить",
    s_clear: "Очистить",
    s_save_hint: "Ничего не сохраняется, пока вы не нажмёте «Сохранить».",
    s_saved: "Сохранено",
    s_cleared: "Расписание очищено. Нажмите «Сохранить»: пустое расписание — звонки в любое время.",
    s_not_saved: "Не сохранено. Проверьте отмеченные поля.",
    every_day: "Каждый день",
    days: ["Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье"],
    days_short: ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"],
    every_day_short: "Ежедн.",
  },
});

const DAY = 86400;
const WEEK = 7 * DAY;
const STEP = 1800; // a cell: half an hour
const COLS = DAY / STEP;
const TYPES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const EVERY = 7; // the day index of a same_every_day window

const dayName = (d) => (d === EVERY ? t("every_day") : t("days")[d % 7]);

// ---- Sets of [start, end) seconds, sorted, disjoint, not touching ----

function add(set, s, e) {
  const out = [];
  for (const [a, b] of set) {
    if (b < s || a > e) out.push([a, b]);
    else (s = Math.min(s, a)), (e = Math.max(e, b));
  }
  out.push([s, e]);
  return out.sort((x, y) => x[0] - y[0]);
}

function sub(set, s, e) {
  const out = [];
  for (const [a, b] of set) {
    if (b <= s || a >= e) out.push([a, b]);
    else {
      if (a < s) out.push([a, s]);
      if (b > e) out.push([e, b]);
    }
  }
  return out;
}

/** 2: [s, e) all covered, 1: partly, 0: not at all. */
function cover(set, s, e) {
  let n = 0;
  for (const [a, b] of set) n += Math.max(0, Math.min(b, e) - Math.max(a, s));
  return n >= e - s ? 2 : n > 0 ? 1 : 0;
}

/** Adds [s, e) taken around a circle of the period (e - s ≤ period). */
function addAround(set, s, e, period) {
  const len = e - s;
  s = ((s % period) + period) % period;
  if (s + len <= period) return add(set, s, s + len);
  return add(add(set, s, period), 0, s + len - period);
}

function subAround(set, s, e, period) {
  const len = e - s;
  s = ((s % period) + period) % period;
  if (s + len <= period) return sub(set, s, s + len);
  return sub(sub(set, s, period), 0, s + len - period);
}

/** The set's runs around the circle: one that crosses the period's end is one run [a, period + b). */
function runs(set, period) {
  if (set.length < 2) return set.map((r) => [...r]);
  const first = set[0], last = set[set.length - 1];
  if (first[0] === 0 && last[1] === period) {
    return [...set.slice(1, -1).map((r) => [...r]), [last[0], period + first[1]]];
  }
  return set.map((r) => [...r]);
}

// ---- Windows: {d: 0..6 | EVERY, f, t} in seconds, t < f crossing midnight, t = DAY the end of day ----

/**
 * The week set as day windows: a run that goes on past midnight becomes one
 * overnight window when it ends the next day before it started (22:00 →
 * 06:00), otherwise the day is closed at the end of day and the next starts
 * at 00:00.
 */
function weekWindows(set) {
  const out = [];
  for (const [s, e] of runs(set, WEEK)) {
    let pos = s;
    while (pos < e) {
      const d = Math.floor(pos / DAY), f = pos - d * DAY, end = (d + 1) * DAY;
      if (e <= end) {
        out.push({ d: d % 7, f, t: e - d * DAY });
        break;
      }
      if (f > 0 && e - end < f) {
        out.push({ d: d % 7, f, t: e - end });
        break;
      }
      out.push({ d: d % 7, f, t: DAY });
      pos = end;
    }
  }
  return out;
}

function dayWindows(set) {
  return runs(set, DAY).map(([s, e]) => ({ d: EVERY, f: s, t: e > DAY ? e - DAY : e }));
}

const p2 = (n) => String(n).padStart(2, "0");

/** 79200 → "22:00"; seconds only when there are some; the end of day "24:00". */
function hm(sec) {
  const s = `${p2(Math.floor(sec / 3600))}:${p2(Math.floor((sec % 3600) / 60))}`;
  return sec % 60 ? `${s}:${p2(sec % 60)}` : s;
}

/**
 * A time as the API takes it. The end of day goes as "23:59" (§5); a window
 * that really ends at 23:59 goes as "23:59:00", which §5 does not read as
 * the end of day.
 */
function wireClock(sec, isTo) {
  if (isTo && sec >= DAY) return "23:59";
  const s = `${p2(Math.floor(sec / 3600))}:${p2(Math.floor((sec % 3600) / 60))}`;
  return sec % 60 || (isTo && sec === DAY - 60) ? `${s}:${p2(sec % 60)}` : s;
}

/** Seconds east of UTC → "+03:00". */
function offsetText(off) {
  const a = Math.abs(off);
  return `${off < 0 ? "-" : "+"}${p2(Math.floor(a / 3600))}:${p2(Math.floor((a % 3600) / 60))}`;
}

const wire = (w, off) => ({
  type: w.d === EVERY ? "same_every_day" : TYPES[w.d],
  from: wireClock(w.f, false) + offsetText(off),
  to: wireClock(w.t, true) + offsetText(off),
});

function windowText(w) {
  const f = hm(w.f), to = hm(w.t);
  if (w.t > w.f) return `${dayName(w.d)} ${f} – ${to}`;
  if (w.d === EVERY) return `${dayName(w.d)} ${f} – ${to} (${t("s_next_day")})`;
  return `${dayName(w.d)} ${f} – ${dayName((w.d + 1) % 7)} ${to}`;
}

/** "22:00:00+05:00" → {sec, off (null without one), eod (23:59 or 23:59:59)}, or null. */
function parseClock(s) {
  const m = /^(\d\d):(\d\d)(?::(\d\d))?(Z|z|[+-]\d\d:\d\d)?$/.exec(String(s || ""));
  if (!m) return null;
  const [hh, mm, ss] = [+m[1], +m[2], m[3] === undefined ? 0 : +m[3]];
  let off = null;
  if (m[4]) off = /z/i.test(m[4]) ? 0 : (m[4][0] === "-" ? -1 : 1) * (+m[4].slice(1, 3) * 3600 + +m[4].slice(4) * 60);
  return { sec: hh * 3600 + mm * 60 + ss, off, eod: hh === 23 && mm === 59 && (m[3] === undefined || ss === 59) };
}

/**
 * The API's days as sets in the browser's offset: each window is moved by the
 * difference of offsets, weekday and all (a Monday 01:00+05:00 is a Sunday
 * 21:00+01:00). Only same_every_day windows → one day's set.
 */
function fromAPI(days, off) {
  const daily = days.length > 0 && days.every((w) => w.type === "same_every_day");
  let week = [], day = [];
  for (const w of days) {
    const f = parseClock(w.from), to = parseClock(w.to);
    const d = w.type === "same_every_day" ? EVERY : TYPES.indexOf(w.type);
    if (!f || !to || d < 0) continue;
    const tsec = to.eod ? DAY : to.sec;
    if (tsec === f.sec) continue;
    const shift = off - (f.off ?? to.off ?? 0);
    const len = tsec > f.sec ? tsec - f.sec : DAY - f.sec + tsec;
    if (d !== EVERY) week = addAround(week, d * DAY + f.sec + shift, d * DAY + f.sec + shift + len, WEEK);
    else if (daily) day = addAround(day, f.sec + shift, f.sec + shift + len, DAY);
    else for (let k = 0; k < 7; k++) week = addAround(week, k * DAY + f.sec + shift, k * DAY + f.sec + shift + len, WEEK);
  }
  return { daily, week, day };
}

// ---- Intervals: <input type="datetime-local"> ↔ RFC 3339 ----

/** "2026-12-24T18:00:00+03:00" → "2026-12-24T18:00" in the browser's zone (seconds kept when there are some). */
function localInput(s) {
  const d = new Date(s);
  if (!s || isNaN(d)) return "";
  const v = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}`;
  return d.getSeconds() ? `${v}:${p2(d.getSeconds())}` : v;
}

/** "2026-12-24T18:00" → "2026-12-24T18:00:00+03:00", the offset the browser has on that date; "" stays "". */
function rfc3339(v) {
  const m = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?$/.exec(v);
  if (!m) return v;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] || "00"}${offsetText(-d.getTimezoneOffset() * 60)}`;
}

// ---- The screen ----

export async function render(main, [id] = []) {
  let ic;
  try {
    if (!/^\d+$/.test(id || "")) throw new ApiError(404, null);
    ic = await api("GET", `/intercom/${id}`);
  } catch (e) {
    if (e.status === 401) return;
    if (e.status === 404) {
      mount(
        main,
        h("h1", null, t("s_title")),
        h("p", { role: "alert" }, t("s_not_found")),
        h("p", null, h("a", { href: "#/intercoms" }, t("s_back"))),
      );
    } else {
      mount(
        main,
        h("h1", null, t("s_title")),
        h("p", { role: "alert" }, t("failed")),
        h("button", { type: "button", onclick: () => render(main, [id]) }, t("retry")),
      );
    }
    return;
  }
  show(main, ic);
}

let detach = null; // the last screen's window listeners

function show(main, ic) {
  // One offset for what is shown and what is sent, taken when the screen is drawn.
  const off = -new Date().getTimezoneOffset() * 60;
  const tt = ic.timetable || {};
  const st = fromAPI(Array.isArray(tt.days) ? tt.days : [], off);
  let memo = null; // the week as it was when "same every day" was ticked

  const formError = h("p", { id: uid("ferr"), class: "form-error", tabindex: "-1" });
  const weekError = h("p", { class: "field-error", tabindex: "-1" });
  const datesError = h("p", { class: "field-error", tabindex: "-1" });

  // The grid.
  const gridLabel = h("span", { id: uid("gl"), class: "visually-hidden" });
  const grid = h("div", { class: "sched-grid", role: "group", "aria-labelledby": gridLabel.id });
  const scroller = h("div", { class: "sched-scroll" }, grid);
  let cells = []; // [row][col]
  let focusAt = [0, 16]; // the grid's one tab stop: 08:00 on the first row
  let drag = null;
  let lastPointerUp = -1e9;

  const rows = () => (st.daily ? 1 : 7);
  const span = (r, c) => (st.daily ? [c * STEP, (c + 1) * STEP] : [r * DAY + c * STEP, r * DAY + (c + 1) * STEP]);
  const set = () => (st.daily ? st.day : st.week);
  const setSet = (v) => (st.daily ? (st.day = v) : (st.week = v));

  function buildGrid() {
    gridLabel.textContent = t(st.daily ? "s_grid_day" : "s_grid");
    const parts = [h("span", { class: "sched-corner", "aria-hidden": "true" })];
    for (let hr = 0; hr < 24; hr += 2) parts.push(h("span", { class: "sched-hour", "aria-hidden": "true" }, p2(hr)));
    cells = [];
    focusAt = [Math.min(focusAt[0], rows() - 1), focusAt[1]];
    for (let r = 0; r < rows(); r++) {
      const d = st.daily ? EVERY : r;
      parts.push(h("span", { class: "sched-day", "aria-hidden": "true" }, d === EVERY ? t("every_day_short") : t("days_short")[d]));
      const row = [];
      for (let c = 0; c < COLS; c++) {
        const cell = h("button", {
          type: "button",
          class: c % 2 ? "sched-cell" : "sched-cell hour",
          tabindex: r === focusAt[0] && c === focusAt[1] ? "0" : "-1",
          "aria-label": `${dayName(d)} ${hm(c * STEP)}–${hm((c + 1) * STEP)}`,
          "aria-pressed": "false",
          dataset: { r, c },
        });
        row.push(cell);
        parts.push(cell);
      }
      cells.push(row);
    }
    mount(grid, parts);
  }

  function paintCells() {
    const s = set();
    for (let r = 0; r < cells.length; r++) {
      for (let c = 0; c < COLS; c++) {
        const [a, b] = span(r, c);
        const v = cover(s, a, b);
        cells[r][c].setAttribute("aria-pressed", v === 2 ? "true" : v === 1 ? "mixed" : "false");
      }
    }
  }

  // The windows as the API will get them, in the order they are sent.
  const windows = () => (st.daily ? dayWindows(st.day) : weekWindows(st.week));

  const list = h("ul", { class: "sched-windows", "aria-labelledby": uid("wl") });
  const listHead = h("h3", { id: list.getAttribute("aria-labelledby"), class: "sched-sub" }, t("s_windows"));
  let items = [];
  function renderList() {
    items = [];
    const ws = windows();
    if (!ws.length) {
      mount(list, h("li", { class: "muted" }, t("s_no_windows")));
      return;
    }
    mount(
      list,
      ws.map((w) => {
        const text = windowText(w);
        const err = h("p", { id: uid("werr"), class: "field-error" });
        const li = h(
          "li",
          { tabindex: "-1", "aria-describedby": err.id },
          h("span", null, text),
          " ",
          h("button", {
            type: "button",
            class: "small",
            "aria-label": t("s_remove_what", { what: text }),
            onclick: () => {
              const len = w.t > w.f ? w.t - w.f : DAY - w.f + w.t;
              if (w.d === EVERY) st.day = subAround(st.day, w.f, w.f + len, DAY);
              else st.week = subAround(st.week, w.d * DAY + w.f, w.d * DAY + w.f + len, WEEK);
              changed();
              (list.querySelector("button") || cells[focusAt[0]][focusAt[1]]).focus();
            },
          }, t("s_remove")),
          err,
        );
        li.err = err;
        items.push(li);
        return li;
      }),
    );
  }

  function changed() {
    paintCells();
    renderList();
  }

  function toggle(r, c) {
    const [a, b] = span(r, c);
    setSet(cover(set(), a, b) === 2 ? sub(set(), a, b) : add(set(), a, b));
    changed();
  }

  function moveFocus(r, c) {
    const [r0, c0] = focusAt;
    cells[r0]?.[c0]?.setAttribute("tabindex", "-1");
    focusAt = [r, c];
    cells[r][c].setAttribute("tabindex", "0");
    cells[r][c].focus();
  }

  const cellOf = (el) => {
    const cell = el && el.closest && el.closest(".sched-cell");
    return cell && grid.contains(cell) ? [+cell.dataset.r, +cell.dataset.c] : null;
  };

  // Press and drag: the rectangle from the pressed cell to the one under the
  // pointer is painted (or erased, when the press was on a painted cell) over
  // the set as it was at the press, so dragging back undoes.
  function paintRect(r1, c1) {
    const { r0, c0, erase, before } = drag;
    let s = before;
    for (let r = Math.min(r0, r1); r <= Math.max(r0, r1); r++) {
      const [a] = span(r, Math.min(c0, c1));
      const [, b] = span(r, Math.max(c0, c1));
      s = erase ? sub(s, a, b) : add(s, a, b);
    }
    setSet(s);
    changed();
  }

  grid.addEventListener("pointerdown", (e) => {
    const at = cellOf(e.target);
    if (!at || drag || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault(); // no text selection, no compatibility mouse events
    const [a, b] = span(...at);
    drag = { id: e.pointerId, r0: at[0], c0: at[1], erase: cover(set(), a, b) === 2, before: set(), last: at.join() };
    moveFocus(...at);
    paintRect(...at);
  });
  const onMove = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    const at = cellOf(document.elementFromPoint(e.clientX, e.clientY));
    if (!at || at.join() === drag.last) return;
    drag.last = at.join();
    paintRect(...at);
  };
  const onUp = (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    drag = null;
    lastPointerUp = e.timeStamp;
  };
  // A press already painted: the click that follows it is not a second toggle.
  // Keyboard and assistive technology clicks come without a press and toggle.
  grid.addEventListener("click", (e) => {
    const at = cellOf(e.target);
    if (!at || (e.detail !== 0 && e.timeStamp - lastPointerUp < 1000)) return;
    moveFocus(...at);
    toggle(...at);
  });
  grid.addEventListener("keydown", (e) => {
    const at = cellOf(e.target);
    if (!at) return;
    let [r, c] = at;
    const move = {
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
    }[e.key];
    if (move) {
      r = Math.max(0, Math.min(rows() - 1, r + move[0]));
      c = Math.max(0, Math.min(COLS - 1, c + move[1]));
    } else if (e.key === "Home") c = e.ctrlKey ? ((r = 0), 0) : 0;
    else if (e.key === "End") c = e.ctrlKey ? ((r = rows() - 1), COLS - 1) : COLS - 1;
    else return;
    e.preventDefault();
    if (r === at[0] && c === at[1]) return;
    if (e.shiftKey && move) {
      const [a0, b0] = span(...at), [a, b] = span(r, c);
      setSet(cover(set(), a0, b0) === 2 ? add(set(), a, b) : sub(set(), a, b));
      changed();
    }
    moveFocus(r, c);
  });

  const same = h("input", {
    type: "checkbox",
    id: uid("same"),
    checked: st.daily,
    onchange: () => {
      if (same.checked) {
        memo = { week: st.week, day: null };
        // The day starts as Monday was.
        st.day = [];
        for (const [a, b] of st.week) if (a < DAY) st.day = add(st.day, a, Math.min(b, DAY));
        memo.day = JSON.stringify(st.day);
        st.daily = true;
      } else {
        st.daily = false;
        if (memo && memo.day === JSON.stringify(st.day)) st.week = memo.week;
        else {
          st.week = [];
          for (let k = 0; k < 7; k++) for (const [a, b] of st.day) st.week = add(st.week, k * DAY + a, k * DAY + b);
        }
        memo = null;
      }
      buildGrid();
      changed();
      fillDayOptions();
    },
  });

  // Day, From, To: a window by time, added to the grid — or sent as it is by
  // Save when it was filled in and not added.
  const daySel = h("select", { id: uid("day") });
  function fillDayOptions() {
    const keep = daySel.value;
    const opts = st.daily ? [EVERY] : [0, 1, 2, 3, 4, 5, 6, EVERY];
    mount(daySel, opts.map((d) => h("option", { value: d === EVERY ? "same_every_day" : TYPES[d] }, dayName(d))));
    if ([...daySel.options].some((o) => o.value === keep)) daySel.value = keep;
  }
  fillDayOptions();
  const field = (labelKey, input) => {
    const err = h("p", { id: uid("err"), class: "field-error" });
    input.setAttribute("aria-describedby", err.id);
    input.err = err;
    input.addEventListener("input", () => clearField(input));
    return h("div", { class: "sched-field" }, h("label", { for: input.id }, t(labelKey)), input, err);
  };
  const fromIn = h("input", { type: "time", id: uid("from") });
  const toIn = h("input", { type: "time", id: uid("to") });
  const dayField = field("s_day", daySel);
  function addWindow() {
    for (const el of [fromIn, toIn]) clearField(el);
    const f = parseClock(fromIn.value), to = parseClock(toIn.value);
    if (!f) return setField(fromIn, t("s_need_time"), true);
    if (!to) return setField(toIn, t("s_need_time"), true);
    const tsec = to.eod ? DAY : to.sec;
    if (tsec === f.sec) return setField(toIn, t("s_same_time"), true);
    const len = tsec > f.sec ? tsec - f.sec : DAY - f.sec + tsec;
    const type = daySel.value;
    if (st.daily) st.day = addAround(st.day, f.sec, f.sec + len, DAY);
    else if (type === "same_every_day") for (let k = 0; k < 7; k++) st.week = addAround(st.week, k * DAY + f.sec, k * DAY + f.sec + len, WEEK);
    else {
      const d = TYPES.indexOf(type);
      st.week = addAround(st.week, d * DAY + f.sec, d * DAY + f.sec + len, WEEK);
    }
    fromIn.value = "";
    toIn.value = "";
    changed();
    announce(windowText({ d: type === "same_every_day" ? EVERY : TYPES.indexOf(type), f: f.sec, t: tsec }));
  }
  // The window typed in and not added, as Save sends it (null when the form is empty).
  const pending = () =>
    fromIn.value || toIn.value
      ? { type: daySel.value, from: fromIn.value ? fromIn.value + offsetText(off) : "", to: toIn.value ? toIn.value + offsetText(off) : "" }
      : null;

  // Dates.
  const dates = h("div", { class: "sched-dates" });
  const noDates = h("p", { class: "muted" }, t("s_no_dates"));
  let dateRows = [];
  function addDateRow(from = "", to = "") {
    const fromD = h("input", { type: "datetime-local", id: uid("df"), value: from, step: /T\d\d:\d\d:\d\d/.test(from) ? "1" : null });
    const toD = h("input", { type: "datetime-local", id: uid("dt"), value: to, step: /T\d\d:\d\d:\d\d/.test(to) ? "1" : null });
    const legend = h("legend", null);
    const remove = h("button", { type: "button", class: "small" }, t("s_remove"));
    const fs = h("fieldset", { class: "sched-interval" }, legend, field("s_starts", fromD), field("s_ends", toD), h("div", { class: "sched-remove" }, remove));
    const row = { fs, from: fromD, to: toD, legend, remove };
    remove.addEventListener("click", () => {
      const i = dateRows.indexOf(row);
      dateRows.splice(i, 1);
      fs.remove();
      numberDates();
      (dateRows[i]?.from || dateRows[i - 1]?.from || addDateBtn).focus();
    });
    dateRows.push(row);
    dates.append(fs);
    numberDates();
    return row;
  }
  function numberDates() {
    dateRows.forEach((row, i) => {
      row.legend.textContent = t("s_interval", { n: i + 1 });
      row.remove.setAttribute("aria-label", t("s_remove_interval", { n: i + 1 }));
    });
    noDates.hidden = dateRows.length > 0;
  }
  for (const iv of Array.isArray(tt.intervals) ? tt.intervals : []) addDateRow(localInput(iv.from), localInput(iv.to));
  numberDates();
  const addDateBtn = h("button", { type: "button", onclick: () => addDateRow().from.focus() }, t("s_add_interval"));

  // Errors.
  function setField(el, msg, focus) {
    el.setAttribute("aria-invalid", "true");
    if (el.err) el.err.textContent = el.err.textContent ? `${el.err.textContent} ${msg}` : msg;
    if (focus) el.focus();
  }
  function clearField(el) {
    el.removeAttribute("aria-invalid");
    if (el.err) el.err.textContent = "";
  }
  function clearErrors() {
    for (const el of [fromIn, toIn, daySel, ...items, ...dateRows.flatMap((r) => [r.from, r.to])]) clearField(el);
    for (const el of [formError, weekError, datesError]) el.textContent = "";
  }
  /** Puts each of a 422's messages by the field it names; focuses the first. */
  function showErrors(err, sentCount, pend) {
    const marked = [];
    const general = [];
    const mark = (el, msg) => {
      setField(el, msg);
      marked.push(el);
    };
    for (const [key, msgs] of Object.entries(err.errors || {})) {
      const msg = [].concat(msgs).join(" ");
      let m;
      if ((m = /^timetable\.days\.(\d+)(?:\.(\w+))?$/.exec(key))) {
        const i = +m[1];
        if (i < sentCount && items[i]) mark(items[i], msg);
        else if (i === sentCount && pend) {
          mark(m[2] === "type" ? daySel : m[2] === "to" ? toIn : fromIn, msg);
        } else general.push(msg);
      } else if ((m = /^timetable\.intervals\.(\d+)(?:\.(\w+))?$/.exec(key)) && dateRows[+m[1]]) {
        const row = dateRows[+m[1]];
        mark(m[2] === "to" ? row.to : row.from, msg);
      } else if (key === "timetable.days") {
        weekError.textContent = msg;
        marked.push(weekError);
      } else if (key === "timetable.intervals") {
        datesError.textContent = msg;
        marked.push(datesError);
      } else general.push(msg);
    }
    formError.textContent = [t("s_not_saved"), ...general].join(" ");
    marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    (marked[0] || formError).focus();
  }

  const saveBtn = h("button", { type: "submit", class: "primary" }, t("s_save"));
  async function save(e) {
    e.preventDefault();
    clearErrors();
    const ws = windows();
    const pend = pending();
    const days = ws.map((w) => wire(w, off));
    if (pend) days.push(pend);
    const intervals = dateRows.map((r) => ({ from: rfc3339(r.from.value), to: rfc3339(r.to.value) }));
    saveBtn.disabled = true;
    try {
      const v = await api("PATCH", `/intercom/${ic.id}`, { body: { timetable: { days, intervals } } });
      show(main, v);
      toast(t("s_saved"));
      main.querySelector("button[type=submit]")?.focus();
    } catch (err) {
      if (err.status === 401) return; // the re-login dialog keeps all of this
      if (err instanceof ApiError && err.status === 422) showErrors(err, ws.length, pend);
      else {
        formError.textContent = err.message || t("failed");
        toast(err.message || t("failed"), "error");
      }
    } finally {
      saveBtn.disabled = false;
    }
  }

  function clearAll() {
    clearErrors();
    st.week = [];
    st.day = [];
    fromIn.value = "";
    toIn.value = "";
    for (const r of dateRows) r.fs.remove();
    dateRows = [];
    numberDates();
    changed();
    announce(t("s_cleared"));
  }

  const ringing = ic.is_enabled
    ? h("p", { class: "sched-ring on" }, t("s_ring_on"))
    : h("p", { class: "sched-ring off" }, t("s_ring_off"), " ", h("a", { href: "#/intercoms" }, t("s_ring_off_link")), ".");

  buildGrid();
  changed();

  const weekH = uid("wh"), datesH = uid("dh"), helpID = uid("help");
  mount(
    main,
    h("h1", null, t("s_title"), ": ", h("bdi", null, ic.title)),
    h("p", { class: "sched-lead" }, t("s_for"), ". ", t("s_tz", { offset: offsetText(off) })),
    ringing,
    h("p", { class: "muted" }, t("s_empty_means")),
    h(
      "form",
      { class: "sched", novalidate: true, onsubmit: save },
      formError,
      h(
        "section",
        { class: "card sched-card", "aria-labelledby": weekH },
        h("h2", { id: weekH }, t("s_week")),
        h("div", { class: "sched-check" }, same, h("label", { for: same.id }, t("s_same"))),
        h("p", { id: helpID, class: "muted sched-help" }, t("s_help")),
        gridLabel,
        scroller,
        weekError,
        listHead,
        list,
        h(
          "fieldset",
          { class: "sched-add" },
          h("legend", null, t("s_add_h")),
          dayField,
          field("s_from", fromIn),
          field("s_to", toIn),
          h("div", { class: "sched-remove" }, h("button", { type: "button", onclick: addWindow }, t("s_add"))),
        ),
      ),
      h(
        "section",
        { class: "card sched-card", "aria-labelledby": datesH },
        h("h2", { id: datesH }, t("s_dates")),
        h("p", { class: "muted" }, t("s_dates_help")),
        noDates,
        dates,
        datesError,
        h("div", null, addDateBtn),
      ),
      h(
        "div",
        { class: "sched-actions" },
        saveBtn,
        h("button", { type: "button", onclick: clearAll }, t("s_clear")),
        h("span", { class: "muted" }, t("s_save_hint")),
      ),
    ),
  );
  grid.setAttribute("aria-describedby", helpID);
  detach?.();
  window.addEventListener("pointermove", onMove);
  window.addEventListener("pointerup", onUp);
  window.addEventListener("pointercancel", onUp);
  detach = () => {
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
    window.removeEventListener("pointercancel", onUp);
  };
}

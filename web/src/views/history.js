// The account's call history (GET /intercom/calls): newest first, filtered
// by intercom and by missed/answered as the API filters, a page at a time;
// entries chosen with checkboxes leave the history (DELETE /intercom/calls);
// intercom.call.store and intercom.call.delete keep it live.
import { h, mount, uid, announce } from "../dom.js";
import { api } from "../api.js";
import { t, define, lang, plural } from "../i18n.js";
import { on, toast, when, confirmDialog } from "../app.js";
import { listIntercoms } from "../intercoms.js";

define({
  en: {
    h_title: "History",
    h_filters: "Filters",
    h_intercom: "Intercom",
    h_all_intercoms: "All intercoms",
    h_calls: "Show",
    h_all_calls: "All calls",
    h_missed_calls: "Missed calls",
    h_answered_calls: "Answered calls",
    h_list: "Calls",
    h_none: "No calls yet.",
    h_none_filtered: "No calls match these filters.",
    h_total: ({ n }) => (n === 1 ? "1 call" : `${n} calls`),
    h_select_all: "Select all",
    h_delete: "Delete selected",
    h_delete_n: ({ n }) => `Delete selected (${n})`,
    h_confirm: ({ n }) => (n === 1 ? "Delete 1 call from the history?" : `Delete ${n} calls from the history?`),
    h_confirm_note: "The calls are removed from this account only, on all its devices.",
    h_deleted: ({ n }) => (n === 1 ? "1 call deleted" : `${n} calls deleted`),
    h_more: "Load more",
    h_loaded: ({ n }) => (n === 1 ? "1 more call shown" : `${n} more calls shown`),
    h_ring: "Ringing",
    h_answered: "Answered",
    h_on_analog: "on the flat's handset",
    h_on_landline: "on the landline phone",
    h_ended: "Answered",
    h_missed: "Missed",
    h_talked: "talked {d}",
    h_new_call: "New call: {title}",
    v_delete: "Delete",
  },
  ru: {
    h_title: "История",
    h_filters: "Отбор",
    h_intercom: "Домофон",
    h_all_intercoms: "Все домофоны",
    h_calls: "Показать",
    h_all_calls: "Все звонки",
    h_missed_calls: "Пропущенные звонки",
    h_answered_calls: "Отвеченные звонки",
    h_list: "Звонки",
    h_none: "Звонков пока нет.",
    h_none_filtered: "Нет звонков, подходящих под отбор.",
    h_total: ({ n }) => `${n} ${plural(n, "звонок", "звонка", "звонков")}`,
    h_select_all: "Выбрать все",
    h_delete: "Удалить выбранные",
    h_delete_n: ({ n }) => `Удалить выбранные (${n})`,
    h_confirm: ({ n }) => `Удалить из истории ${n} ${plural(n, "звонок", "звонка", "звонков")}?`,
    h_confirm_note: "Звонки удаляются только из этой учётной записи, на всех её устройствах.",
    h_deleted: ({ n }) => `${plural(n, "Удалён", "Удалено", "Удалено")} ${n} ${plural(n, "звонок", "звонка", "звонков")}`,
    h_more: "Показать ещё",
    h_loaded: ({ n }) => `${plural(n, "Показан", "Показано", "Показано")} ещё ${n} ${plural(n, "звонок", "звонка", "звонков")}`,
    h_ring: "Звонит",
    h_answered: "Отвечен",
    h_on_analog: "по трубке в квартире",
    h_on_landline: "по стационарному телефону",
    h_ended: "Отвечен",
    h_missed: "Пропущен",
    h_talked: "разговор {d}",
    h_new_call: "Новый звонок: {title}",
    v_delete: "Удалить",
  },
});

const PER_PAGE = 25;
// The filters chosen, kept while the app runs (a return to the screen shows
// the same calls).
const filters = { intercom: "", type: "" };
const STATUSES = ["ring", "answered", "ended", "missed"];
const statusesOf = { missed_intercom_call: ["missed"], answered_intercom_call: ["answered", "ended"] };
let undo = [];

export async function render(main) {
  undo.forEach((f) => f());
  undo = [];

  const intercomID = uid("f-ic"), typeID = uid("f-type"), allID = uid("all");
  const intercomSel = h("select", { id: intercomID, name: "intercom" }, h("option", { value: "" }, t("h_all_intercoms")));
  const typeSel = h(
    "select",
    { id: typeID, name: "types" },
    h("option", { value: "" }, t("h_all_calls")),
    h("option", { value: "missed_intercom_call" }, t("h_missed_calls")),
    h("option", { value: "answered_intercom_call" }, t("h_answered_calls")),
  );
  typeSel.value = filters.type;
  const selectAll = h("input", { type: "checkbox", id: allID, onchange: () => {
    for (const r of rows.values()) r.box.checked = selectAll.checked;
    selectionChanged();
  } });
  const deleteBtn = h("button", { type: "button", class: "danger", disabled: true, onclick: () => remove() }, t("h_delete"));
  const total = h("p", { class: "muted total" });
  const list = h("ul", { class: "calls", "aria-labelledby": "history-list-h", "aria-busy": "true" });
  const more = h("button", { type: "button", hidden: true, onclick: () => loadMore() }, t("h_more"));
  const failure = h("div", { class: "load-error", hidden: true });
  const tools = h(
    "div",
    { class: "list-tools", hidden: true },
    h("div", { class: "check" }, selectAll, h("label", { for: allID }, t("h_select_all"))),
    deleteBtn,
  );

  mount(
    main,
    h("h1", null, t("h_title")),
    h(
      "form",
      { class: "filters", "aria-label": t("h_filters"), onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: intercomID }, t("h_intercom")), intercomSel),
      h("div", { class: "field" }, h("label", { for: typeID }, t("h_calls")), typeSel),
    ),
    h("h2", { id: "history-list-h", class: "visually-hidden" }, t("h_list")),
    total,
    tools,
    failure,
    list,
    more,
  );

  const rows = new Map(); // call id → {row, box, call}
  let count = 0; // calls in the history under the filters (the API's total, kept live)
  let generation = 0; // a newer load makes older answers moot
  let loading = false;
  let ready = false; // the first page is shown: live events apply

  const matches = (c) => {
    if (filters.intercom && String(c.intercom?.id) !== filters.intercom) return false;
    if (filters.type && !statusesOf[filters.type].includes(c.status)) return false;
    return true;
  };

  function selected() {
    return [...rows.values()].filter((r) => r.box.checked);
  }

  function selectionChanged() {
    const n = selected().length;
    deleteBtn.disabled = n === 0;
    deleteBtn.textContent = n ? t("h_delete_n", { n }) : t("h_delete");
    selectAll.checked = n > 0 && n === rows.size;
    selectAll.indeterminate = n > 0 && n < rows.size;
  }

  function refresh() {
    total.textContent = rows.size || count ? t("h_total", { n: count }) : "";
    tools.hidden = rows.size === 0;
    more.hidden = loading || rows.size >= count;
    list.querySelector(".empty")?.remove();
    if (!rows.size && !loading && failure.hidden) {
      list.append(h("li", { class: "empty" }, filters.intercom || filters.type ? t("h_none_filtered") : t("h_none")));
    }
    selectionChanged();
  }

  // One page of calls: the page holding the first call not shown yet (live
  // additions and deletions move the API's pages; calls shown are skipped).
  async function fetchPage() {
    const page = Math.floor(rows.size / PER_PAGE) + 1;
    return api("GET", "/intercom/calls", {
      query: { page, per_page: PER_PAGE, intercom: filters.intercom, "types[]": filters.type ? [filters.type] : undefined },
    });
  }

  async function load(first) {
    const gen = ++generation;
    loading = true;
    failure.hidden = true;
    list.setAttribute("aria-busy", "true");
    more.hidden = true;
    if (first) {
      ready = false;
      rows.clear();
      mount(list);
      count = 0;
      refresh();
    }
    let res;
    try {
      res = await fetchPage();
    } catch (e) {
      if (gen !== generation) return null;
      loading = false;
      list.setAttribute("aria-busy", "false");
      if (e.status === 401) return null;
      mount(failure, h("p", { role: "alert" }, e.status ? e.message : t("failed")),
        h("button", { type: "button", onclick: () => load(first) }, t("retry")));
      failure.hidden = false;
      refresh();
      return null;
    }
    if (gen !== generation) return null;
    loading = false;
    ready = true;
    list.setAttribute("aria-busy", "false");
    const added = [];
    for (const c of res.data || []) {
      if (rows.has(c.id)) continue;
      const r = entry(c);
      rows.set(c.id, r);
      list.append(r.row);
      added.push(r);
    }
    count = res.meta ? res.meta.total : rows.size;
    if (res.meta && res.meta.current_page >= res.meta.last_page) count = Math.max(count, rows.size);
    refresh();
    return added;
  }

  async function loadMore() {
    const added = await load(false);
    if (!added || !added.length) return;
    announce(t("h_loaded", { n: added.length }));
    if (more.hidden) added[0].box.focus();
  }

  function entry(c) {
    const boxID = uid("call");
    const box = h("input", { type: "checkbox", id: boxID, onchange: selectionChanged });
    const word = STATUSES.includes(c.status) ? t("h_" + c.status) : c.status;
    const bits = [h("span", { class: "call-status " + c.status }, word), " · ", h("time", { datetime: isoOf(c.created_at) }, when(c.created_at, lang()))];
    if (c.answered_on === "analog" || c.answered_on === "landline") bits.push(" · ", t("h_on_" + c.answered_on));
    const talk = duration(c.started_at, c.ended_at);
    if (c.status === "ended" && talk) bits.push(" · ", t("h_talked", { d: talk }));
    const row = h(
      "li",
      { class: "call card" },
      box,
      h(
        "label",
        { for: boxID, class: "what" },
        // Spaces between the parts keep them apart in the checkbox's name.
        h("span", { class: "title" }, h("bdi", null, c.intercom?.title ?? "")),
        " ",
        h("span", { class: "address" }, h("bdi", null, c.intercom?.address ?? "")),
        " ",
        h("span", { class: "meta" }, bits),
      ),
    );
    return { row, box, call: c };
  }

  async function remove() {
    const chosen = selected();
    if (!chosen.length) return;
    const n = chosen.length;
    if (!(await confirmDialog(t("h_confirm", { n }), t("h_confirm_note"), t("v_delete")))) return;
    deleteBtn.disabled = true;
    try {
      await api("DELETE", "/intercom/calls", { body: { ids: chosen.map((r) => r.call.id) } });
    } catch (e) {
      selectionChanged();
      if (e.status !== 401) toast(e.status ? e.message : t("failed"), "error");
      return;
    }
    for (const r of chosen) drop(r.call.id);
    refresh();
    toast(t("h_deleted", { n }));
    main.querySelector("h1")?.focus();
  }

  function drop(id) {
    const r = rows.get(id);
    if (!r) return false;
    r.row.remove();
    rows.delete(id);
    count = Math.max(0, count - 1);
    return true;
  }

  intercomSel.addEventListener("change", () => {
    filters.intercom = intercomSel.value;
    load(true);
  });
  typeSel.addEventListener("change", () => {
    filters.type = typeSel.value;
    load(true);
  });

  const alive = () => main.contains(list);
  undo.push(
    on("intercom.call.store", (p) => {
      const c = p && p.intercom_call;
      if (!alive() || !c || !ready) return;
      const old = rows.get(c.id);
      if (!matches(c)) {
        if (old && drop(c.id)) refresh();
        return;
      }
      const r = entry(c);
      if (old) {
        r.box.checked = old.box.checked;
        old.row.replaceWith(r.row);
        rows.set(c.id, r);
        return;
      }
      // Newest first: a call goes before the first older one shown; one
      // older than every call shown comes with a later page.
      const after = [...rows.values()].find((x) => x.call.id < c.id);
      if (!after && rows.size < count) return;
      if (after) list.insertBefore(r.row, after.row);
      else list.append(r.row);
      // The Map keeps the order shown, for "select all" and the next page.
      const ordered = [...rows.entries(), [c.id, r]].sort((a, b) => b[0] - a[0]);
      rows.clear();
      for (const [id, x] of ordered) rows.set(id, x);
      count++;
      refresh();
      if (c.status === "ring") announce(t("h_new_call", { title: c.intercom?.title ?? "" }));
    }),
    on("intercom.call.delete", (p) => {
      if (!alive()) return;
      let changed = false;
      for (const id of (p && p.deleted_ids) || []) changed = drop(id) || changed;
      if (changed) refresh();
    }),
    on("intercom.delete", () => alive() && load(true)),
    on("socket.reconnected", () => alive() && load(true)),
  );

  // The intercoms to filter by; the history loads meanwhile.
  const intercoms = listIntercoms().then(
    (all) => {
      for (const ic of all) intercomSel.append(h("option", { value: String(ic.id) }, ic.title + " — " + ic.address));
      if (filters.intercom && !all.some((ic) => String(ic.id) === filters.intercom)) {
        intercomSel.append(h("option", { value: filters.intercom }, "#" + filters.intercom));
      }
      intercomSel.value = filters.intercom;
    },
    () => {
      intercomSel.value = filters.intercom = "";
    },
  );
  await Promise.all([load(true), intercoms]);
}

/** "2022-04-19 16:43:15" (UTC) → its ISO form for <time datetime>. */
function isoOf(s) {
  return /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(s || "") ? s.replace(" ", "T") + "Z" : s || "";
}

/** How long a conversation lasted, "1:05" or "1:02:05"; "" when unknown. */
function duration(from, to) {
  if (!from || !to) return "";
  const s = Math.round((new Date(isoOf(to)) - new Date(isoOf(from))) / 1000);
  if (!(s >= 0)) return "";
  const two = (n) => String(n).padStart(2, "0");
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

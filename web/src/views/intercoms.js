// My intercoms: title, address, live online state (intercom.status), rename
// (the seed's PATCH), ringing on/off for this browser, the flat's handset
// and landline when the intercom has them, open door, and the way to this
// browser's schedule.
import { h, mount, uid } from "../dom.js";
import { api, ApiError } from "../api.js";
import { t, define } from "../i18n.js";
import { on, toast } from "../app.js";
import { listIntercoms } from "../intercoms.js";

define({
  en: {
    list: "Intercoms",
    none: "No intercoms yet. Add one with the code your intercom shows.",
    add: "Add intercom",
    online: "Online",
    offline_s: "Offline",
    close: "Close",
    ringing: "Ringing",
    rename: "Rename",
    title: "Title",
    save: "Save",
    cancel: "Cancel",
    open: "Open door",
    no_door: "This intercom can't open its door from the app.",
    schedule: "Schedule",
    opened: "Door opened: {title}",
    renamed: "Renamed",
    ring_on: "This browser rings for {title}",
    ring_off: "This browser no longer rings for {title}",
    handset: "Handset",
    landline: "Landline",
    handset_on: "The flat's handset rings for {title}",
    handset_off: "The flat's handset no longer rings for {title}",
    landline_on: "Calls from {title} go to the landline too",
    landline_off: "Calls from {title} no longer go to the landline",
  },
  ru: {
    list: "Домофоны",
    none: "Домофонов пока нет. Добавьте домофон по коду на его экране.",
    add: "Добавить домофон",
    online: "В сети",
    offline_s: "Не в сети",
    close: "Закрыть",
    ringing: "Звонки",
    rename: "Переименовать",
    title: "Название",
    save: "Сохранить",
    cancel: "Отмена",
    open: "Открыть дверь",
    no_door: "Этот домофон не открывает дверь из приложения.",
    schedule: "Расписание",
    opened: "Дверь открыта: {title}",
    renamed: "Название сохранено",
    ring_on: "Этот браузер принимает звонки {title}",
    ring_off: "Этот браузер больше не принимает звонки {title}",
    handset: "Трубка",
    landline: "Телефон",
    handset_on: "Трубка в квартире звонит при вызове {title}",
    handset_off: "Трубка в квартире больше не звонит при вызове {title}",
    landline_on: "Вызовы {title} идут и на стационарный телефон",
    landline_off: "Вызовы {title} больше не идут на стационарный телефон",
  },
});

let undo = [];

export async function render(main) {
  undo.forEach((f) => f());
  undo = [];
  const list = h("ul", { class: "intercoms", "aria-labelledby": "intercoms-h" });
  mount(
    main,
    h(
      "div",
      { class: "head" },
      h("h1", { id: "intercoms-h" }, t("list")),
      h("a", { class: "button", href: "#/pairing" }, t("add")),
    ),
    list,
  );
  let items;
  try {
    items = await listIntercoms();
  } catch (e) {
    if (e.status === 401) return;
    mount(list, h("li", { role: "alert" }, t("failed")));
    return;
  }
  const rows = new Map();
  const show = (ic) => {
    const row = item(ic);
    const old = rows.get(ic.id);
    if (old) old.replaceWith(row);
    else list.append(row);
    rows.set(ic.id, row);
    list.querySelector(".empty")?.remove();
  };
  items.forEach(show);
  if (!items.length) list.append(h("li", { class: "empty" }, t("none")));

  undo.push(
    on("intercom.status", (p) => {
      const row = rows.get(p.intercom_id);
      if (row) row.setOnline(!!p.is_online);
    }),
  );
  for (const type of ["intercom.rename", "intercom.update", "intercom.store"]) {
    undo.push(on(type, (p) => p.intercom && p.intercom.status !== "keyConfirmed" && show(p.intercom)));
  }
  undo.push(
    on("intercom.delete", (p) => {
      for (const id of p.deleted_ids || []) {
        rows.get(id)?.remove();
        rows.delete(id);
      }
    }),
  );
  undo.push(on("socket.reconnected", () => document.getElementById("main")?.contains(list) && render(main)));
}

function item(ic) {
  const titleID = uid("t"), addrID = uid("a"), stateID = uid("s");
  const title = h("bdi", null, ic.title);
  const state = h("span", { id: stateID, class: "state" });
  const setOnline = (online) => {
    ic.is_online = online;
    state.textContent = online ? t("online") : t("offline_s");
    state.className = "state " + (online ? "on" : "off");
  };
  setOnline(ic.is_online);

  // A switch for one of the seed's PATCH booleans: this browser's ringing,
  // or the flat's handset and landline when the intercom lists them in
  // available_answer_devices.
  const toggle = (field, label, said) => {
    const sw = h("button", {
      type: "button",
      role: "switch",
      class: "switch",
      "aria-checked": String(!!ic[field]),
      onclick: async () => {
        const want = sw.getAttribute("aria-checked") !== "true";
        sw.setAttribute("aria-checked", String(want));
        sw.disabled = true;
        try {
          const v = await api("PATCH", `/intercom/${ic.id}`, { body: { [field]: want } });
          ic[field] = v[field];
          sw.setAttribute("aria-checked", String(!!v[field]));
          toast(t(said + (v[field] ? "_on" : "_off"), { title: v.title }));
        } catch (e) {
          sw.setAttribute("aria-checked", String(!want));
          if (e.status !== 401) toast((e instanceof ApiError && e.field(field)) || e.message, "error");
        } finally {
          sw.disabled = false;
        }
      },
    }, h("span", { class: "switch-track", "aria-hidden": "true" }), h("span", null, t(label)));
    return sw;
  };
  const answers = ic.available_answer_devices || [];
  const ringing = toggle("is_enabled", "ringing", "ring");
  const lines = [];
  if (answers.includes("is_analog_line_available")) lines.push(toggle("is_analog_line_available", "handset", "handset"));
  if (answers.includes("is_landline_sip_line_available")) lines.push(toggle("is_landline_sip_line_available", "landline", "landline"));

  const row = h(
    "li",
    { class: "intercom card", "aria-labelledby": `${titleID} ${addrID} ${stateID}` },
    h("div", { class: "what" }, h("h2", { id: titleID, class: "title" }, title), h("p", { id: addrID, class: "address" }, h("bdi", null, ic.address)), state),
  );
  const actions = h(
    "div",
    { class: "actions" },
    ringing,
    ...lines,
    h("button", { type: "button", onclick: () => renameForm() }, t("rename")),
    h("button", { type: "button", disabled: !ic.is_open_door_app, title: ic.is_open_door_app ? null : t("no_door"), onclick: (e) => openDoor(ic, e.currentTarget) }, t("open")),
    h("button", { type: "button", onclick: () => (location.hash = `#/schedule/${ic.id}`) }, t("schedule")),
  );
  row.append(actions);

  function renameForm() {
    const inputID = uid("title"), errID = uid("err");
    const input = h("input", { id: inputID, value: ic.title, maxlength: 1000, "aria-describedby": errID, required: true });
    const err = h("p", { id: errID, class: "field-error" });
    const form = h(
      "form",
      {
        class: "rename",
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            const v = await api("PATCH", `/intercom/${ic.id}`, { body: { title: input.value } });
            toast(t("renamed"));
            row.replaceWith(item(v));
          } catch (e) {
            if (e instanceof ApiError && e.field("title")) {
              err.textContent = e.field("title");
              input.setAttribute("aria-invalid", "true");
              input.focus();
            } else if (e.status !== 401) toast(e.message, "error");
          }
        },
      },
      h("label", { for: inputID }, t("title")),
      input,
      err,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "primary" }, t("save")),
        h("button", { type: "button", onclick: () => { form.remove(); actions.hidden = false; } }, t("cancel"))),
    );
    actions.hidden = true;
    row.append(form);
    input.focus();
    input.select();
  }
  row.setOnline = setOnline;
  return row;
}

/** Opens an intercom's door (POST /intercom/{id}/open-door); the call dialog uses it too. */
export async function openDoor(ic, button) {
  if (button) button.disabled = true;
  try {
    await api("POST", `/intercom/${ic.id}/open-door`);
    toast(t("opened", { title: ic.title }));
  } catch (e) {
    if (e.status !== 401) toast((e instanceof ApiError && (e.field("intercom") || e.message)) || t("failed"), "error");
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Opens the dialog "Schedule" of intercom id (views/schedule.js, loaded
 * then): when this browser rings for it. #/schedule/{id} opens it too.
 */
export async function openSchedule(id) {
  document.querySelector("dialog.schedule")?.remove();
  const body = h("div", { class: "schedule-body" });
  const dialog = h(
    "dialog",
    { class: "schedule sheet", "aria-label": t("schedule") },
    h("div", { class: "sheet-bar" }, h("button", { type: "button", onclick: () => dialog.close() }, t("close"))),
    body,
  );
  const closeOnLeave = () => dialog.close();
  dialog.addEventListener("close", () => {
    window.removeEventListener("hashchange", closeOnLeave);
    dialog.remove();
    if (location.hash.startsWith("#/schedule/")) history.replaceState(null, "", "#/intercoms");
  });
  document.body.append(dialog);
  dialog.showModal();
  window.addEventListener("hashchange", closeOnLeave);
  const view = await import("./schedule.js");
  await view.render(body, [String(id)]);
  const heading = body.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

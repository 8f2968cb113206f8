// Visitor codes (GET /intercom/codes): a code a visitor types at the panel
// to open the door until it expires. Made with POST
// /intercom/{intercom}/codes for an intercom that opens by code, removed
// with DELETE /intercom/codes, shared as a text on the clipboard; kept live
// by intercom.code.store and intercom.code.delete.
import { h, mount, uid, announce } from "../dom.js";
import { api, ApiError } from "../api.js";
import { t, define, lang } from "../i18n.js";
import { on, toast, when, confirmDialog } from "../app.js";
import { listIntercoms } from "../intercoms.js";

define({
  en: {
    c_title: "Visitor codes",
    c_new: "New code",
    c_intercom: "Intercom",
    c_name: "Visitor",
    c_name_hint: "Who the code is for, e.g. “Plumber”.",
    c_until: "Valid until",
    c_until_hint: "Up to 30 days from now.",
    c_create: "Create code",
    c_created: "Code {code} created",
    c_none_support: "None of your intercoms opens its door with visitor codes.",
    c_no_intercoms: "You have no intercoms yet.",
    c_add: "Add intercom",
    c_list: "Your codes",
    c_none: "No visitor codes yet.",
    c_code: "Code",
    c_digits: "Code {digits}",
    c_valid: "Valid until {at}",
    c_expired: "Expired {at}",
    c_copy: "Copy",
    c_copied: "Copied",
    c_share: "Code {code} for {address}, valid until {at}",
    c_share_label: "Text to share",
    c_share_manual: "Copying isn't allowed here. The text is selected: copy it with Ctrl+C (⌘C on a Mac).",
    c_confirm: "Delete the code {code}?",
    c_confirm_note: "It stops opening the door at once.",
    c_deleted: "Code {code} deleted",
    v_delete: "Delete",
  },
  ru: {
    c_title: "Гостевые коды",
    c_new: "Новый код",
    c_intercom: "Домофон",
    c_name: "Гость",
    c_name_hint: "Для кого код, например «Сантехник».",
    c_until: "Действует до",
    c_until_hint: "Не дольше 30 дней.",
    c_create: "Создать код",
    c_created: "Код {code} создан",
    c_none_support: "Ни один из ваших домофонов не открывает дверь по гостевому коду.",
    c_no_intercoms: "У вас пока нет домофонов.",
    c_add: "Добавить домофон",
    c_list: "Ваши коды",
    c_none: "Гостевых кодов пока нет.",
    c_code: "Код",
    c_digits: "Код {digits}",
    c_valid: "Действует до {at}",
    c_expired: "Истёк {at}",
    c_copy: "Копировать",
    c_copied: "Скопировано",
    c_share: "Код {code} для входа: {address}, действует до {at}",
    c_share_label: "Текст для отправки",
    c_share_manual: "Копирование здесь запрещено. Текст выделен: скопируйте его сочетанием Ctrl+C (⌘C на Mac).",
    c_confirm: "Удалить код {code}?",
    c_confirm_note: "Он сразу перестанет открывать дверь.",
    c_deleted: "Код {code} удалён",
    v_delete: "Удалить",
  },
});

const DAY = 24 * 60 * 60 * 1000;
const MAX_AHEAD = 30 * DAY;
let undo = [];

export async function render(main) {
  undo.forEach((f) => f());
  undo = [];

  const formBox = h("section", { class: "new-code", "aria-labelledby": "codes-new-h" }, h("h2", { id: "codes-new-h" }, t("c_new")));
  const list = h("ul", { class: "codes", "aria-labelledby": "codes-list-h", "aria-busy": "true" });
  mount(
    main,
    h("h1", null, t("c_title")),
    formBox,
    h("section", { class: "code-list", "aria-labelledby": "codes-list-h" }, h("h2", { id: "codes-list-h" }, t("c_list")), list),
  );

  const rows = new Map(); // code id → li
  const alive = () => main.contains(list);
  const empty = () => {
    list.querySelector(".empty")?.remove();
    if (!rows.size) list.append(h("li", { class: "empty muted" }, t("c_none")));
  };
  const show = (c, first) => {
    const row = item(c, () => remove(c));
    const old = rows.get(c.id);
    if (old) old.replaceWith(row);
    else if (first) list.prepend(row);
    else list.append(row);
    rows.set(c.id, row);
    empty();
    return row;
  };
  const forget = (id) => {
    rows.get(id)?.remove();
    rows.delete(id);
  };

  async function remove(c) {
    if (!(await confirmDialog(t("c_confirm", { code: c.code }), t("c_confirm_note"), t("v_delete")))) return;
    try {
      await api("DELETE", "/intercom/codes", { body: { ids: [c.id] } });
    } catch (e) {
      if (e.status !== 401) toast(e.status ? e.message : t("failed"), "error");
      return;
    }
    const next = rows.get(c.id)?.nextElementSibling || rows.get(c.id)?.previousElementSibling;
    forget(c.id);
    empty();
    toast(t("c_deleted", { code: c.code }));
    (next?.querySelector("button") || main.querySelector("#codes-list-h"))?.focus();
  }

  const [intercoms, codes] = await Promise.allSettled([listIntercoms(), listCodes()]);
  if (!alive()) return;
  if ([intercoms, codes].some((r) => r.status === "rejected" && r.reason?.status === 401)) return;

  if (intercoms.status === "fulfilled") formBox.append(newCodeForm(intercoms.value, (c) => show(c, true)));
  else formBox.append(h("p", { role: "alert" }, t("failed")));

  fill(codes);

  // The list (not the form, which may hold what the resident typed) read again.
  async function reload() {
    list.setAttribute("aria-busy", "true");
    const res = await Promise.allSettled([listCodes()]);
    if (alive() && res[0].reason?.status !== 401) fill(res[0]);
  }
  function fill(res) {
    list.setAttribute("aria-busy", "false");
    rows.clear();
    mount(list);
    if (res.status === "fulfilled") {
      res.value.forEach((c) => show(c));
      empty();
    } else {
      const retry = h("button", { type: "button", onclick: reload }, t("retry"));
      list.append(h("li", null, h("p", { role: "alert" }, t("failed")), retry));
    }
  }

  undo.push(
    on("intercom.code.store", (p) => alive() && p && p.intercom_code && show(p.intercom_code, true)),
    on("intercom.code.delete", (p) => {
      if (!alive()) return;
      for (const id of (p && p.deleted_ids) || []) forget(id);
      empty();
    }),
    on("socket.reconnected", () => alive() && reload()),
  );
}

/** Every page of GET /intercom/codes. */
async function listCodes() {
  const all = [];
  for (let page = 1; page <= 20; page++) {
    const res = await api("GET", "/intercom/codes", { query: { page, per_page: 100 } });
    all.push(...(res.data || []));
    if (!res.meta || page >= res.meta.last_page) break;
  }
  return all;
}

/** The form making a code; done(code) takes the new one. */
function newCodeForm(intercoms, done) {
  if (!intercoms.length) {
    return h("p", null, t("c_no_intercoms"), " ", h("a", { href: "#/pairing" }, t("c_add")));
  }
  const usable = intercoms.filter((ic) => ic.is_open_door_code);
  if (!usable.length) return h("p", { class: "notice" }, t("c_none_support"));

  const fields = {};
  const field = (name, label, control, hint) => {
    const errID = uid("err"), hintID = hint ? uid("hint") : null;
    control.id = uid(name);
    control.setAttribute("aria-describedby", [hintID, errID].filter(Boolean).join(" "));
    const err = h("p", { id: errID, class: "field-error" });
    fields[name] = { control, err };
    return h(
      "div",
      { class: "field" },
      h("label", { for: control.id }, label),
      hint ? h("p", { id: hintID, class: "hint muted" }, hint) : null,
      control,
      err,
    );
  };
  const intercomSel = h("select", { name: "intercom", required: true }, usable.map((ic) => h("option", { value: String(ic.id) }, ic.title + " — " + ic.address)));
  const title = h("input", { name: "title", maxlength: 255, required: true, autocomplete: "off" });
  const until = h("input", { name: "expired_at", type: "datetime-local", required: true });
  const setBounds = () => {
    const now = Date.now();
    until.min = localValue(new Date(now + 60 * 1000));
    until.max = localValue(new Date(now + MAX_AHEAD - 60 * 1000));
  };
  setBounds();
  until.value = localValue(new Date(Math.ceil((Date.now() + DAY) / 3600000) * 3600000)); // tomorrow, on the hour
  const formError = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, t("c_create"));

  const clear = () => {
    formError.textContent = "";
    for (const { control, err } of Object.values(fields)) {
      err.textContent = "";
      control.removeAttribute("aria-invalid");
    }
  };
  const form = h(
    "form",
    {
      class: "card code-form",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        clear();
        setBounds();
        const at = until.value ? new Date(until.value) : null; // datetime-local is the browser's local time
        const body = { title: title.value, expired_at: at && !isNaN(at) ? at.toISOString() : until.value };
        submit.disabled = true;
        try {
          const c = await api("POST", `/intercom/${encodeURIComponent(intercomSel.value)}/codes`, { body });
          title.value = "";
          toast(t("c_created", { code: c.code }));
          const row = done(c);
          row.querySelector("button")?.focus();
        } catch (e) {
          if (e.status === 401) return;
          if (!(e instanceof ApiError)) {
            formError.textContent = t("failed");
            return;
          }
          let first = null;
          for (const [name, { control, err }] of Object.entries(fields)) {
            const msg = e.field(name);
            if (!msg) continue;
            err.textContent = msg;
            control.setAttribute("aria-invalid", "true");
            first ??= control;
          }
          if (first) first.focus();
          else formError.textContent = e.message;
        } finally {
          submit.disabled = false;
        }
      },
    },
    field("intercom", t("c_intercom"), intercomSel),
    field("title", t("c_name"), title, t("c_name_hint")),
    field("expired_at", t("c_until"), until, t("c_until_hint")),
    formError,
    h("div", { class: "row" }, submit),
  );
  return form;
}

/** A date as an <input type=datetime-local> value, in the browser's zone. */
function localValue(d) {
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** One code: who it is for, the digits, its intercom, until when; Copy and Delete. */
function item(c, remove) {
  const titleID = uid("ct");
  const at = when(c.expired_at, lang());
  const address = c.intercom?.address ?? "";
  const share = t("c_share", { code: c.code, address, at });
  const shareBox = h("div", { class: "share", hidden: true });
  const copy = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        try {
          if (!navigator.clipboard) throw new Error("no clipboard");
          await navigator.clipboard.writeText(share);
          shareBox.hidden = true;
          toast(t("c_copied"));
        } catch {
          // Refused (no permission, an insecure page): the text, selected, to copy by hand.
          const id = uid("share");
          const text = h("textarea", { id, readonly: true, rows: 2, "aria-describedby": id + "-note" }, share);
          mount(shareBox, h("label", { for: id }, t("c_share_label")), text, h("p", { id: id + "-note", class: "muted" }, t("c_share_manual")));
          shareBox.hidden = false;
          text.focus();
          text.select();
        }
      },
    },
    t("c_copy"),
    h("span", { class: "visually-hidden" }, " ", h("bdi", null, c.title)),
  );
  const del = h(
    "button",
    { type: "button", class: "danger-outline", onclick: remove },
    t("v_delete"),
    h("span", { class: "visually-hidden" }, " ", h("bdi", null, c.title)),
  );
  return h(
    "li",
    { class: "code-item card" + (c.is_expired ? " expired" : ""), "aria-labelledby": titleID },
    h(
      "div",
      { class: "what" },
      h("h3", { id: titleID, class: "title" }, h("bdi", null, c.title)),
      h(
        "p",
        { class: "code" },
        h("span", { class: "visually-hidden" }, t("c_digits", { digits: String(c.code).split("").join(" ") })),
        h("span", { "aria-hidden": "true" }, c.code),
      ),
      h("p", { class: "address" }, h("bdi", null, c.intercom?.title ?? ""), " — ", h("bdi", null, address)),
      h("p", { class: c.is_expired ? "until expired" : "until" }, t(c.is_expired ? "c_expired" : "c_valid", { at })),
    ),
    h("div", { class: "actions" }, c.is_expired ? null : copy, del),
    shareBox,
  );
}

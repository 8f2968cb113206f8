// Adding an intercom (API.md §3, pairing): the app asks for a pairing code
// (POST /intercom), the resident types it at the panel and touches their
// key, the socket says intercom.key_confirmed (or intercom.key_error /
// intercom.add_error), and the resident chooses their flat (POST
// /intercom/{intercom}/flat). Cancel unlinks a pairing in progress (DELETE
// /intercom); a code alone just runs out.
import { h, mount, uid, announce } from "../dom.js";
import { api, ApiError } from "../api.js";
import { t, define } from "../i18n.js";
import { on, toast } from "../app.js";

define({
  en: {
    p_title: "Add intercom",
    p_step1: "Type this code on the intercom's keypad, then touch your key to the reader.",
    p_code: "Pairing code",
    p_code_sr: "Pairing code: {digits}",
    p_left: "Valid for {t}",
    p_expired: "The code has expired.",
    p_new: "New code",
    p_waiting: "Waiting for the intercom…",
    p_confirmed: "Key accepted",
    p_at: "Intercom at",
    p_step2: "Choose your flat to finish.",
    p_flat: "Flat",
    p_flat_left: "Choose within {t}",
    p_flat_expired: "The time to choose the flat ran out. Start again with a new code.",
    p_gone: "This pairing is no longer in progress. Start again with a new code.",
    p_add: "Add",
    p_added: "Intercom added: {title}",
    p_cancel: "Cancel",
  },
  ru: {
    p_title: "Добавить домофон",
    p_step1: "Наберите этот код на клавиатуре домофона, затем приложите ключ к считывателю.",
    p_code: "Код для добавления",
    p_code_sr: "Код для добавления: {digits}",
    p_left: "Действует ещё {t}",
    p_expired: "Срок действия кода истёк.",
    p_new: "Новый код",
    p_waiting: "Ждём ответа домофона…",
    p_confirmed: "Ключ принят",
    p_at: "Домофон по адресу",
    p_step2: "Укажите номер квартиры, чтобы закончить.",
    p_flat: "Квартира",
    p_flat_left: "Осталось {t}",
    p_flat_expired: "Время на выбор квартиры истекло. Начните заново с новым кодом.",
    p_gone: "Это добавление больше не действует. Начните заново с новым кодом.",
    p_add: "Добавить",
    p_added: "Домофон добавлен: {title}",
    p_cancel: "Отмена",
  },
});

let undo = [];

export async function render(main) {
  undo.forEach((f) => f());
  undo = [];

  const box = h("section", { class: "pairing card" });
  const cancel = h("button", { type: "button", onclick: () => quit() }, t("p_cancel"));
  mount(main, h("h1", null, t("p_title")), box, h("div", { class: "row" }, cancel));

  let timer = null;
  let pending = null; // the key_confirmed intercom awaiting its flat
  let stage = "code"; // code → flat; or over (expired, refused)
  const alive = () => main.contains(box);
  const stop = () => {
    clearInterval(timer);
    timer = null;
  };

  /** A countdown into el for seconds; then() when it reaches zero. */
  function countdown(el, seconds, words, then) {
    stop();
    const end = Date.now() + seconds * 1000;
    const tick = () => {
      if (!alive()) return stop();
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      el.textContent = t(words, { t: clock(left) });
      if (left === 0) {
        stop();
        then();
      }
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  async function newCode(focus) {
    stop();
    stage = "code";
    pending = null;
    mount(box, h("p", { class: "muted" }, t("loading")));
    let res;
    try {
      res = await api("POST", "/intercom");
    } catch (e) {
      if (!alive() || e.status === 401) return;
      over(e.status ? e.message : t("failed"), focus);
      return;
    }
    if (!alive()) return;
    const digits = String(res.code);
    const left = h("p", { class: "countdown", role: "timer" });
    mount(
      box,
      h("h2", { class: "visually-hidden" }, t("p_code")),
      h(
        "p",
        { class: "pair-code" },
        h("span", { class: "visually-hidden" }, t("p_code_sr", { digits: digits.split("").join(" ") })),
        h("span", { "aria-hidden": "true" }, digits),
      ),
      h("p", { class: "instructions" }, t("p_step1")),
      left,
      h("p", { class: "muted waiting" }, t("p_waiting")),
    );
    countdown(left, res.expire_in_seconds, "p_left", () => {
      if (stage === "code") over(t("p_expired"), true);
    });
    if (focus) {
      const code = box.querySelector(".pair-code");
      code.tabIndex = -1;
      code.focus();
    }
  }

  /** The code is spent or gone: say why, offer a new one. */
  function over(text, focus) {
    stop();
    stage = "over";
    pending = null;
    const again = h("button", { type: "button", class: "primary", onclick: () => newCode(true) }, t("p_new"));
    mount(box, h("p", { role: "alert", class: "pair-error" }, text), h("div", { class: "row" }, again));
    if (focus) again.focus();
  }

  function confirmed(ic, seconds) {
    stop();
    stage = "flat";
    pending = ic;
    const inputID = uid("flat"), errID = uid("err"), leftID = uid("left");
    const input = h("input", {
      id: inputID, name: "flat", type: "number", inputmode: "numeric", min: 1, step: 1, required: true,
      autocomplete: "off", "aria-describedby": `${errID} ${leftID}`,
    });
    const err = h("p", { id: errID, class: "field-error" });
    const left = h("p", { id: leftID, class: "countdown muted", role: "timer" });
    const add = h("button", { type: "submit", class: "primary" }, t("p_add"));
    const form = h(
      "form",
      {
        class: "flat-form",
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = "";
          input.removeAttribute("aria-invalid");
          const v = input.value.trim();
          add.disabled = true;
          try {
            const out = await api("POST", `/intercom/${ic.id}/flat`, { body: { flat: /^\d{1,9}$/.test(v) ? Number(v) : v } });
            stop();
            stage = "done";
            toast(t("p_added", { title: out.title || out.address }));
            location.hash = "#/intercoms";
          } catch (e) {
            if (!alive() || e.status === 401) return;
            if (e.status === 404) return over(t("p_gone"), true);
            err.textContent = (e instanceof ApiError && e.field("flat")) || (e.status ? e.message : t("failed"));
            input.setAttribute("aria-invalid", "true");
            input.focus();
          } finally {
            add.disabled = false;
          }
        },
      },
      h("label", { for: inputID }, t("p_flat")),
      input,
      err,
      left,
      h("div", { class: "row" }, add),
    );
    mount(
      box,
      h("h2", null, t("p_confirmed")),
      h("p", { class: "address" }, t("p_at"), " ", h("bdi", null, ic.address ?? "")),
      h("p", null, t("p_step2")),
      form,
    );
    if (seconds > 0) {
      countdown(left, seconds, "p_flat_left", () => {
        if (stage === "flat") over(t("p_flat_expired"), true);
      });
    }
    announce(t("p_confirmed"));
    input.focus();
  }

  async function quit() {
    stop();
    const ic = stage === "flat" ? pending : null;
    stage = "done";
    if (ic) {
      cancel.disabled = true;
      try {
        await api("DELETE", "/intercom", { body: { ids: [ic.id] } });
      } catch (e) {
        cancel.disabled = false;
        if (e.status === 401) return;
        stage = "flat";
        toast(e.status ? e.message : t("failed"), "error");
        return;
      }
    }
    location.hash = "#/intercoms";
  }

  undo.push(
    stop,
    on("intercom.key_confirmed", (p) => {
      if (!alive() || !p || !p.intercom || stage === "done") return;
      confirmed(p.intercom, Number(p.expire_in_seconds) || 0);
    }),
  );
  for (const type of ["intercom.key_error", "intercom.add_error"]) {
    undo.push(
      on(type, (p) => {
        if (!alive() || stage !== "code") return;
        // The panel spent the code on a key that cannot pair.
        over((p && p.error) || t("failed"), true);
      }),
    );
  }

  await newCode(false);
}

/** Seconds as "m:ss". */
function clock(s) {
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

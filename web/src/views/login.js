// The login form: POST /token with login and password; the API's own
// words for wrong credentials (422 on login) and for its throttle (429,
// with the wait counted down). At the account's limit of sessions (419)
// it lists them and logs in again ending the one chosen (session_id and
// the key the 419 gave).
import { h, uid } from "../dom.js";
import { api, setToken, ApiError } from "../api.js";
import { t, define, lang } from "../i18n.js";
import { when as whenText } from "../app.js";

define({
  en: {
    login: "Login",
    password: "Password",
    submit: "Log in",
    busy: "Logging in…",
    network: "No connection to the server.",
    end_one: "End a session to log in here",
    end_submit: "End it and log in",
    choose_one: "Choose the session to end.",
    online_now: "online now",
    last_used: "last used {when}",
  },
  ru: {
    login: "Логин",
    password: "Пароль",
    submit: "Войти",
    busy: "Входим…",
    network: "Нет связи с сервером.",
    end_one: "Завершите сеанс, чтобы войти здесь",
    end_submit: "Завершить и войти",
    choose_one: "Выберите сеанс, который нужно завершить.",
    online_now: "сейчас в сети",
    last_used: "последний вход {when}",
  },
});

/** loginForm({onDone({token, user})}) → the form element. */
export function loginForm({ onDone }) {
  const loginID = uid("login"), passID = uid("password"), loginErr = uid("err"), formErr = uid("err");
  const login = h("input", { id: loginID, name: "login", autocomplete: "username", required: true, "aria-describedby": loginErr });
  const password = h("input", {
    id: passID,
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const loginMsg = h("p", { id: loginErr, class: "field-error" });
  const formMsg = h("p", { id: formErr, class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, t("submit"));
  let timer = null;
  // At the limit of sessions: the sessions to choose from and the key.
  let limit = null;
  const sessions = h("fieldset", { class: "sessions", hidden: true });

  // showLimit lists the account's sessions (the 419's) as radio buttons.
  const showLimit = (err) => {
    limit = { key: err.body.key };
    const name = uid("session");
    sessions.replaceChildren(
      h("legend", null, t("end_one")),
      ...(err.body.sessions || []).map((x) => {
        const id = uid("s");
        const what = [x.client, x.user_agent, x.ip].filter(Boolean).join(" · ");
        const when = x.online ? t("online_now") : t("last_used", { when: whenText(x.last, lang()) });
        return h(
          "div",
          { class: "session" },
          h("input", { type: "radio", id, name, value: x.id }),
          h("label", { for: id }, h("bdi", null, what), " — ", when),
        );
      }),
    );
    sessions.hidden = false;
    formMsg.textContent = err.message;
    button.textContent = t("end_submit");
    sessions.querySelector("input")?.focus();
  };

  const show = (field, text) => {
    loginMsg.textContent = field === "login" ? text : "";
    formMsg.textContent = field === "login" ? "" : text;
    if (field === "login") login.setAttribute("aria-invalid", "true");
    else login.removeAttribute("aria-invalid");
  };

  // The throttle's wait: the button stays off and the message counts down.
  const wait = (message, seconds) => {
    clearInterval(timer);
    let left = seconds;
    button.disabled = true;
    const tick = () => {
      formMsg.textContent = left > 0 ? message.replace(/\d+ seconds?/, `${left} s`) : message;
      if (left-- <= 0) {
        clearInterval(timer);
        button.disabled = false;
        formMsg.textContent = "";
      }
    };
    formMsg.textContent = message;
    timer = setInterval(tick, 1000);
  };

  const form = h(
    "form",
    {
      class: "login card",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (button.disabled) return;
        const body = { login: login.value, password: password.value };
        if (limit) {
          const chosen = sessions.querySelector("input:checked");
          if (!chosen) {
            formMsg.textContent = t("choose_one");
            sessions.querySelector("input")?.focus();
            return;
          }
          Object.assign(body, { session_id: chosen.value, key: limit.key });
        }
        button.disabled = true;
        button.textContent = t("busy");
        try {
          const res = await api("POST", "/token", { body });
          setToken(res.access_token);
          onDone({ token: res.access_token, user: res.user });
          return;
        } catch (err) {
          if (err instanceof ApiError) {
            if (err.status === 429) {
              button.textContent = t("submit");
              wait(err.message, err.retryAfter || 60);
              return;
            }
            if (err.status === 419 && err.body.key) {
              button.disabled = false;
              showLimit(err);
              return;
            }
            const first = Object.keys(err.errors)[0];
            if (first) show(first, err.field(first));
            else show("", err.message);
            (first === "login" ? login : password).focus();
          } else show("", t("network"));
        }
        button.disabled = false;
        button.textContent = t("submit");
      },
    },
    h("label", { for: loginID }, t("login")),
    login,
    loginMsg,
    h("label", { for: passID }, t("password")),
    password,
    sessions,
    formMsg,
    button,
  );
  // A changed login or password is another login: the list no longer applies.
  for (const input of [login, password]) {
    input.addEventListener("input", () => {
      if (!limit) return;
      limit = null;
      sessions.hidden = true;
      sessions.replaceChildren();
      button.textContent = t("submit");
    });
  }
  return form;
}

// The login form: POST /token with login and password; the API's own
// words for wrong credentials (422 on login) and for its throttle (429,
// with the wait counted down).
import { h, uid } from "../dom.js";
import { api, setToken, ApiError } from "../api.js";
import { t, define } from "../i18n.js";

define({
  en: { login: "Login", password: "Password", submit: "Log in", busy: "Logging in…", network: "No connection to the server." },
  ru: { login: "Логин", password: "Пароль", submit: "Войти", busy: "Входим…", network: "Нет связи с сервером." },
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
        button.disabled = true;
        button.textContent = t("busy");
        try {
          const res = await api("POST", "/token", { body: { login: login.value, password: password.value } });
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
    formMsg,
    button,
  );
  return form;
}

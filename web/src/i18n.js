// English and Russian, chosen from the browser's languages; the API's hl
// header follows the choice. Each module defines its own words with define().

const words = { en: {}, ru: {} };

function pick() {
  for (const l of navigator.languages || [navigator.language || "en"]) {
    const base = String(l).toLowerCase().split("-")[0];
    if (base === "ru" || base === "en") return base;
  }
  return "en";
}
const current = pick();

/** The app's language: "en" or "ru". */
export const lang = () => current;

/** define({en: {key: "text"}, ru: {key: "текст"}}) adds a module's words. */
export function define(dict) {
  for (const l of Object.keys(words)) Object.assign(words[l], dict[l] || {});
}

/** t("key", {n: 3}) → the text in the app's language, {n} filled in. */
export function t(key, params) {
  let s = words[current][key] ?? words.en[key] ?? key;
  if (typeof s === "function") return s(params || {});
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** Russian plural form: plural(n, "день", "дня", "дней"). */
export function plural(n, one, few, many) {
  const a = Math.abs(n) % 100;
  const b = a % 10;
  if (a > 10 && a < 20) return many;
  if (b > 1 && b < 5) return few;
  if (b === 1) return one;
  return many;
}

document.documentElement.lang = current;

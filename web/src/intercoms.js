// The account's intercoms, read page by page (GET /intercom) and kept for
// the screens that need them until the next login.
import { api } from "./api.js";

/** All of the account's intercoms, every page of GET /intercom. */
export async function listIntercoms() {
  const all = [];
  for (let page = 1; page <= 200; page++) {
    const res = await api("GET", "/intercom", { query: { page } });
    all.push(...(res.data || []));
    if (!res.meta || page >= res.meta.last_page) break;
  }
  return all;
}

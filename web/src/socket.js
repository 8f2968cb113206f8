// The Pusher socket (API.md §3 "Real time"), through pusher-js as the
// mobile apps use pusher-swift and pusher-java: GET /wsurl says where, the
// private channels of the account and of this token are signed by
// POST /broadcasting/auth, and every event is the notification envelope
// {type, id, ...} of Laravel's BroadcastNotificationCreated.
import PusherModule from "pusher-js/dist/web/pusher.js";
import { api, headers, setSocketID } from "./api.js";

const Pusher = PusherModule.default || PusherModule;
const EVENT = "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated";

/**
 * connect({user, onEvent(type, payload), onState(state, previous)}) opens
 * the socket and subscribes to private-user.{id} and
 * private-token.{access_token_id}. Returns {close()}.
 */
export async function connect({ user, onEvent, onState: report }) {
  let closed = false; // after close(), what the socket does is no news
  const onState = (...args) => closed || report(...args);
  const where = await api("GET", "/wsurl");
  const pusher = new Pusher(where.app_key, {
    cluster: "",
    wsHost: where.host,
    wsPort: where.port,
    wssPort: where.port,
    forceTLS: !!where.is_encrypted,
    enabledTransports: ["ws", "wss"],
    disableStats: true,
    channelAuthorization: {
      endpoint: "/api/v1/broadcasting/auth",
      transport: "ajax",
      headersProvider: () => {
        const hd = headers();
        delete hd["X-Socket-ID"];
        return hd;
      },
    },
  });
  pusher.connection.bind("state_change", ({ previous, current }) => {
    if (closed) return;
    setSocketID(current === "connected" ? pusher.connection.socket_id : "");
    onState(current, previous);
  });
  // "subscribed" once both channels are (again, after each reconnection):
  // from then on a ring reaches this browser.
  const names = [`private-user.${user.id}`, `private-token.${user.access_token_id}`];
  const ready = new Set();
  for (const name of names) {
    const channel = pusher.subscribe(name);
    channel.bind(EVENT, (payload) => {
      if (!closed && payload && typeof payload.type === "string") onEvent(payload.type, payload);
    });
    channel.bind("pusher:subscription_succeeded", () => {
      ready.add(name);
      if (ready.size === names.length && pusher.connection.state === "connected") onState("subscribed", "connected");
    });
  }
  pusher.connection.bind("state_change", ({ current }) => current !== "connected" && ready.clear());
  // A token that ended (logout elsewhere, expiry) closes the socket with
  // 4009: pusher-js does not reconnect after 4000–4099.
  pusher.connection.bind("error", (e) => {
    const code = e && e.error && e.error.data && e.error.data.code;
    if (code >= 4000 && code < 4100) onState("refused", "connected");
  });
  return {
    close() {
      closed = true;
      setSocketID("");
      pusher.disconnect();
    },
  };
}

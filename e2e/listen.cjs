// Connects to intercomd with the stock pusher-js client, as an app does:
// GET /api/v1/wsurl, then a socket subscribed to the device's private-token
// and private-user channels, authorized by /api/v1/broadcasting/auth. Prints
// one JSON line per event: {"channel", "event", "data"}; "ready" once both
// subscriptions succeed. Usage:
//   node listen.cjs <base url> <access token> <X-UUID> <user id> <access_token_id>
const Pusher = require('pusher-js');

const [base, token, uuid, userId, tokenId] = process.argv.slice(2);
const headers = { Authorization: 'Bearer ' + token, 'X-Client': 'web', 'X-UUID': uuid, Accept: 'application/json' };

async function main() {
  const res = await fetch(base + '/api/v1/wsurl', { headers });
  if (!res.ok) throw new Error('wsurl: ' + res.status);
  const ws = await res.json();
  const pusher = new Pusher(ws.app_key, {
    cluster: 'local',
    wsHost: ws.host,
    wsPort: ws.port,
    wssPort: ws.port,
    wsPath: ws.path,
    forceTLS: ws.is_encrypted,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: { endpoint: base + '/api/v1/broadcasting/auth', transport: 'ajax', headers },
  });
  pusher.connection.bind('error', (err) => console.log(JSON.stringify({ event: 'connection_error', data: String(err && err.error && err.error.data && err.error.data.message || err) })));
  let subscribed = 0;
  for (const name of ['private-token.' + tokenId, 'private-user.' + userId]) {
    const ch = pusher.subscribe(name);
    ch.bind('pusher:subscription_succeeded', () => { if (++subscribed === 2) console.log(JSON.stringify({ event: 'ready', socket_id: pusher.connection.socket_id })); });
    ch.bind('pusher:subscription_error', (e) => console.log(JSON.stringify({ channel: name, event: 'subscription_error', data: e })));
    ch.bind_global((event, data) => { if (!event.startsWith('pusher:')) console.log(JSON.stringify({ channel: name, event, data })); });
  }
  // A channel that is not ours must be refused.
  const foreign = pusher.subscribe('private-user.' + (Number(userId) + 1000));
  foreign.bind('pusher:subscription_error', (e) => console.log(JSON.stringify({ channel: foreign.name, event: 'subscription_error', data: { status: e.status } })));
  process.stdin.on('end', () => { pusher.disconnect(); process.exit(0); });
  process.stdin.resume();
}

main().catch((e) => { console.error(e); process.exit(1); });

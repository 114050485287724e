// N official automerge-repo JS clients (one Repo and socket each, in this one process) load a
// server the way load-bench's Rust clients do: all find() the plan at once; they make EDITS
// edits each at RATE edits per second in total; then half go offline, edit, and all
// reconnect. Prints one JSON line of figures: how long the first find() of every client
// took, and what the clients sent (messages, bytes) in each phase.
//
// Usage: node load.mjs WS_URL PLAN_URL N [--seed-from WS_URL]
//   --seed-from: first copy the plan from that server (same document id) onto WS_URL's
//   server, which holds nothing yet (the reference sync server).
// Every wait is bounded; on a timeout the line says which phase did not finish.
import WebSocket from "ws";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

const args = process.argv.slice(2);
const [wsUrl, planUrl, nText] = args;
const seedFrom = args.includes("--seed-from") ? args[args.indexOf("--seed-from") + 1] : null;
const n = Number(nText);
const EDITS = 4;
const RATE = 100;
const PHASE_MS = 180_000;
// Keys unique to this run: a plan copied from a server that ran the load already holds some.
const tag = Math.random().toString(36).slice(2, 8);
const say = (event) => console.log(JSON.stringify(event));
setTimeout(() => { say({ event: "error", why: "timed out after 15 minutes" }); process.exit(1); }, 900_000).unref();

// What the clients send: every frame goes through ws's send.
const sent = { messages: 0, bytes: 0 };
const wsSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data, ...rest) {
  if (this.notCounted) return wsSend.call(this, data, ...rest);
  sent.messages += 1;
  sent.bytes += data.byteLength ?? data.length ?? 0;
  return wsSend.call(this, data, ...rest);
};
const take = () => { const s = { ...sent }; sent.messages = 0; sent.bytes = 0; return s; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (ms, what, p) => Promise.race([
  p,
  sleep(ms).then(() => { throw new Error(`${what} did not finish within ${ms / 1000} s`); }),
]);

function client(url) {
  const adapter = new WebSocketClientAdapter(url, 1000);
  const repo = new Repo({ network: [adapter] });
  return { adapter, repo };
}

/** Copies the plan from `from` onto the (empty) server at `wsUrl` under the same id. */
async function seed(from) {
  const source = client(from);
  const handle = await within(60_000, "finding the plan to copy", source.repo.find(planUrl));
  const bytes = Automerge.save(handle.doc());
  source.adapter.disconnect();
  const seeder = client(wsUrl);
  for (let i = 0; i < 100 && !seeder.adapter.socket; i++) await sleep(50);
  seeder.adapter.socket.notCounted = true;
  seeder.repo.import(bytes, { docId: planUrl.replace("automerge:", "") });
  // The copy is there once a fresh client finds it.
  for (let i = 0; i < 60; i++) {
    await sleep(500);
    const probe = client(wsUrl);
    try {
      await within(5_000, "probe", probe.repo.find(planUrl));
      probe.adapter.disconnect();
      break;
    } catch {
      probe.adapter.disconnect();
    }
  }
  // The seeder stays connected (not counted): the reference server may otherwise answer
  // "unavailable" to a burst of requests that arrive while it reads the plan from its files.
  return seeder;
}

/** Resolves when every client has seen every key (or rejects after the phase limit);
 *  returns, per key, when its last receiver saw it. */
function allSee(handles, keys) {
  const want = new Set(keys);
  const seenBy = new Map(keys.map((k) => [k, 0]));
  const lastAt = new Map();
  let done = 0;
  return within(PHASE_MS, "reaching every client", new Promise((resolve) => {
    handles.forEach((h) => {
      const mine = new Set();
      const look = (doc) => {
        for (const k of want) {
          if (!mine.has(k) && doc[k] !== undefined) {
            mine.add(k);
            const c = seenBy.get(k) + 1;
            seenBy.set(k, c);
            lastAt.set(k, performance.now());
            if (c === handles.length) done += 1;
          }
        }
        if (done === want.size) resolve(lastAt);
      };
      h.on("change", ({ doc }) => look(doc));
      look(h.doc());
    });
  }));
}

const pct = (xs, p) => xs.length ? xs[Math.round((xs.length - 1) * p)] : null;

try {
  const seeder = seedFrom ? await seed(seedFrom) : null;
  take();
  const clients = Array.from({ length: n }, () => client(wsUrl));
  const t0 = performance.now();
  const handles = await within(PHASE_MS, "first find", Promise.all(clients.map((c) => c.repo.find(planUrl))));
  const findS = (performance.now() - t0) / 1000;
  const find = take();

  // Online: EDITS edits each, RATE per second in total.
  const online = [];
  const at = new Map();
  const onlineDone = allSee(handles, Array.from({ length: n * EDITS }, (_, j) => `bench-js-${tag}-on-${j % n}-${Math.floor(j / n)}`));
  for (let r = 0; r < EDITS; r++) {
    for (let i = 0; i < n; i++) {
      const key = `bench-js-${tag}-on-${i}-${r}`;
      online.push(key);
      at.set(key, performance.now());
      handles[i].change((d) => { d[key] = Date.now(); });
      await sleep(1000 / RATE);
    }
  }
  const lastAt = await onlineDone;
  const lat = online.map((k) => lastAt.get(k) - at.get(k)).sort((a, b) => a - b);
  await sleep(500);
  const onlineSent = take();

  // Offline: half disconnect and edit; then all reconnect at once.
  const off = clients.map((_, i) => i).filter((i) => i % 2 === 0);
  off.forEach((i) => clients[i].adapter.disconnect());
  await sleep(300);
  const offKeys = [];
  for (let r = 0; r < EDITS; r++) {
    for (const i of off) {
      const key = `bench-js-${tag}-off-${i}-${r}`;
      offKeys.push(key);
      handles[i].change((d) => { d[key] = Date.now(); });
    }
  }
  await sleep(300);
  take();
  const t1 = performance.now();
  const offDone = allSee(handles, offKeys);
  off.forEach((i) => clients[i].adapter.connect(clients[i].adapter.peerId, clients[i].adapter.peerMetadata));
  await offDone;
  const reconnectS = (performance.now() - t1) / 1000;
  await sleep(500);
  const reconnect = take();

  // One big change (50 KB of text) by one client: what it sends for it.
  const bigKey = `bench-js-${tag}-big`;
  const bigDone = allSee(handles, [bigKey]);
  handles[1 % n].change((d) => { d[bigKey] = "x".repeat(50_000); });
  await bigDone;
  await sleep(500);
  const big = take();
  say({
    event: "figures",
    n,
    find_s: findS,
    find_messages: find.messages,
    find_bytes: find.bytes,
    online_messages: onlineSent.messages,
    online_bytes: onlineSent.bytes,
    latency_p50_ms: pct(lat, 0.5),
    latency_p99_ms: pct(lat, 0.99),
    reconnect_s: reconnectS,
    reconnect_messages: reconnect.messages,
    reconnect_bytes: reconnect.bytes,
    big_change_bytes: big.bytes,
    big_change_messages: big.messages,
  });
  clients.forEach((c) => c.adapter.disconnect());
  seeder?.adapter.disconnect();
  process.exit(0);
} catch (e) {
  say({ event: "error", why: String(e) });
  process.exit(1);
}

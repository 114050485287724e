// Many plans, a few official automerge-repo JS clients each (one Repo and socket per client,
// all in this one process), the way load-bench --plans drives its Rust clients: every
// client finds its plan at once; then edits at RATE per second in all, round-robin over the
// plans, each timed until the plan's other clients all see it. Prints one JSON line of
// figures: first, clients joining the first plan one at a time (the time and this process's
// CPU per join); then the first find() of every client, the CPU and memory this process
// spent per client joining, what each client received and how many sockets it opened
// while joining, and the edits' latency.
//
// Usage: node plans.mjs SPEC_FILE N SECONDS
//   SPEC_FILE: {"plans": [{"url": WS_URL, "plan": PLAN_URL}, ...],
//               "seed_from": [WS_URL, ...] or null}
//   seed_from: only copy each plan from that server (same document id) onto its url's
//   server, which holds nothing yet (the reference sync server); print {"event":"seeded"}
//   and stay connected until stdin closes. The clients then measured run in a fresh
//   process, so that neither server's clients inherit memory the copying used.
// Every wait is bounded; on a timeout the line says which phase did not finish.
import fs from "fs";
import WebSocket from "ws";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

const [specFile, nText, secsText] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const n = Number(nText);
const secs = Number(secsText);
const RATE = 100;
const ONE_AT_A_TIME = 30;
const PHASE_MS = 300_000;
const tag = Math.random().toString(36).slice(2, 8);
const say = (event) => console.log(JSON.stringify(event));
setTimeout(() => { say({ event: "error", why: "timed out after 40 minutes" }); process.exit(1); }, 2_400_000).unref();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (ms, what, p) => Promise.race([
  p,
  sleep(ms).then(() => { throw new Error(`${what} did not finish within ${ms / 1000} s`); }),
]);
void WebSocket;

/** Closes a client's socket, even one still connecting (whose error is of no interest). */
function close(c) {
  c.adapter.socket?.on("error", () => {});
  try { c.adapter.disconnect(); } catch { /* already closed */ }
}

/** What the measured clients received while finding, by message type, and how many
 *  sockets they opened (the adapter opens another when one is not open within a second). */
const received = { counting: false, types: {}, bytes: 0, peers: 0, sockets: 0 };

function client(url) {
  const adapter = new WebSocketClientAdapter(url, 1000);
  const connect = adapter.connect.bind(adapter);
  adapter.connect = (...args) => {
    if (received.counting) received.sockets += 1;
    return connect(...args);
  };
  adapter.on("message", (m) => {
    if (!received.counting) return;
    received.types[m.type] = (received.types[m.type] ?? 0) + 1;
    received.bytes += m.data?.byteLength ?? 0;
  });
  adapter.on("peer-candidate", () => { if (received.counting) received.peers += 1; });
  const repo = new Repo({ network: [adapter] });
  // The repo adds a peer in its own "peer" listener, registered before this one.
  const connected = new Promise((resolve) => repo.networkSubsystem.once("peer", resolve));
  return { adapter, repo, connected };
}

/** Copies every plan from its source server onto the (empty) server of its url, a few at
 *  a time; the seeders stay connected (the reference server may otherwise answer
 *  "unavailable" while it reads a plan from its files). */
async function seed() {
  const seeders = new Map();
  const plans = spec.plans;
  for (let i = 0; i < plans.length; i += 10) {
    await Promise.all(plans.slice(i, i + 10).map(async (p, j) => {
      const source = client(spec.seed_from[i + j]);
      const handle = await within(60_000, "finding a plan to copy", source.repo.find(p.plan));
      const bytes = Automerge.save(handle.doc());
      close(source);
      if (!seeders.has(p.url)) seeders.set(p.url, client(p.url));
      seeders.get(p.url).repo.import(bytes, { docId: p.plan.replace("automerge:", "") });
    }));
  }
  // The copies are there once a fresh client finds each of them.
  let missing = plans;
  for (let round = 0; round < 60 && missing.length > 0; round++) {
    await sleep(500);
    const still = [];
    for (let i = 0; i < missing.length; i += 20) {
      await Promise.all(missing.slice(i, i + 20).map(async (p) => {
        const probe = client(p.url);
        try {
          await within(5_000, "probe", probe.repo.find(p.plan));
        } catch {
          still.push(p);
        }
        close(probe);
      }));
    }
    missing = still;
  }
  if (missing.length > 0) throw new Error(`${missing.length} plans were not copied`);
  return [...seeders.values()];
}

// A socket the server closes while a busy client process is still opening it would
// otherwise end the process; the adapter reconnects, and such errors are counted.
let socketErrors = 0;
let retries = 0;
process.on("uncaughtException", (e) => {
  if (["ECONNRESET", "EPIPE"].includes(e.code) || String(e).includes("socket hang up")) {
    socketErrors += 1;
    return;
  }
  say({ event: "error", why: String(e) });
  process.exit(1);
});

const pct = (xs, p) => xs.length ? xs[Math.round((xs.length - 1) * p)] : null;

try {
  if (spec.seed_from) {
    const seeders = await seed();
    say({ event: "seeded" });
    process.stdin.on("data", () => {});
    process.stdin.on("end", () => { seeders.forEach(close); process.exit(0); });
    await new Promise(() => {});
  }
  global.gc?.();
  await sleep(500);
  // One client at a time, as people open a plan one by one: each finds the first plan
  // alone and leaves; the wall time and this process's CPU per join.
  say({ event: "one-at-a-time", joins: ONE_AT_A_TIME });
  const aloneCpu0 = process.cpuUsage();
  const aloneT0 = performance.now();
  for (let i = 0; i < ONE_AT_A_TIME; i++) {
    const c = client(spec.plans[0].url);
    await within(60_000, "connecting one at a time", c.connected);
    await within(60_000, "finding one at a time", c.repo.find(spec.plans[0].plan));
    close(c);
  }
  const aloneCpu = process.cpuUsage(aloneCpu0);
  const aloneJoinMs = (performance.now() - aloneT0) / ONE_AT_A_TIME;
  const aloneCpuMs = (aloneCpu.user + aloneCpu.system) / 1000 / ONE_AT_A_TIME;
  await sleep(500);
  say({ event: "measuring" });
  received.counting = true;
  const mem0 = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const plans = spec.plans.map((p) => ({ ...p, clients: Array.from({ length: n }, () => client(p.url)) }));
  const t0 = performance.now();
  const findMs = [];
  await within(PHASE_MS, "first find", Promise.all(plans.map(async (p) => {
    p.handles = await Promise.all(p.clients.map(async (c) => {
      // A find() before the socket is open is answered "unavailable" once hundreds of
      // clients start at once (against either server): each finds once connected.
      await c.connected;
      // A server pressed by hundreds of finds may answer "unavailable" (the reference
      // server does, while it reads plans from its files): the client asks again, as an
      // app would, and the retries are counted.
      let h;
      for (let attempt = 0; ; attempt++) {
        try {
          h = await c.repo.find(p.plan);
          break;
        } catch (e) {
          if (attempt >= 5) throw e;
          retries += 1;
          await sleep(1000);
        }
      }
      findMs.push(performance.now() - t0);
      return h;
    }));
  })));
  const findS = (performance.now() - t0) / 1000;
  const cpu1 = process.cpuUsage(cpu0);
  received.counting = false;
  await sleep(1000);
  const mem1 = process.memoryUsage();
  const joins = plans.length * n;
  findMs.sort((a, b) => a - b);

  // Edits: RATE per second in all, round-robin over plans and their clients; each timed
  // until every other client of its plan sees it.
  const total = Math.round(secs * RATE);
  const sentAt = new Map();
  const lastAt = new Map();
  const seen = new Map();
  plans.forEach((p, pi) => p.handles.forEach((h, hi) => {
    h.on("change", ({ doc }) => {
      for (const key of Object.keys(doc)) {
        if (!key.startsWith(`b-${tag}-${pi}-`)) continue;
        const mark = `${key}#${hi}`;
        if (seen.has(mark)) continue;
        seen.set(mark, true);
        lastAt.set(key, performance.now());
        const [, , , , writer] = key.split("-");
        if (Number(writer) !== hi) seenCount.set(key, (seenCount.get(key) ?? 0) + 1);
      }
    });
  }));
  const seenCount = new Map();
  const keys = [];
  const start = performance.now();
  for (let e = 0; e < total; e++) {
    const pi = e % plans.length;
    const hi = Math.floor(e / plans.length) % n;
    const key = `b-${tag}-${pi}-${e}-${hi}`;
    keys.push(key);
    sentAt.set(key, performance.now());
    plans[pi].handles[hi].change((d) => { d[key] = Date.now(); });
    const next = start + ((e + 1) * 1000) / RATE;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const deadline = performance.now() + PHASE_MS;
  while (performance.now() < deadline && keys.some((k) => (seenCount.get(k) ?? 0) < n - 1)) {
    await sleep(200);
  }
  const arrived = keys.filter((k) => (seenCount.get(k) ?? 0) >= n - 1);
  const lat = arrived.map((k) => lastAt.get(k) - sentAt.get(k)).sort((a, b) => a - b);
  say({
    event: "figures",
    plans: plans.length,
    n,
    find_s: findS,
    alone_join_ms: aloneJoinMs,
    alone_cpu_per_join_ms: aloneCpuMs,
    find_p50_ms: pct(findMs, 0.5),
    find_p99_ms: pct(findMs, 0.99),
    cpu_per_join_ms: (cpu1.user + cpu1.system) / 1000 / joins,
    rss_per_join_kb: (mem1.rss - mem0.rss) / 1024 / joins,
    array_buffers_per_join_kb: (mem1.arrayBuffers - mem0.arrayBuffers) / 1024 / joins,
    edits: total,
    latency_p50_ms: pct(lat, 0.5),
    latency_p99_ms: pct(lat, 0.99),
    lost: total - arrived.length,
    find_retries: retries,
    received_per_join: Object.values(received.types).reduce((a, b) => a + b, 0) / joins,
    received_by_type: received.types,
    received_kb_per_join: received.bytes / 1024 / joins,
    sockets_per_join: received.sockets / joins,
    peers_per_join: received.peers / joins,
    socket_errors: socketErrors,
  });
  plans.forEach((p) => p.clients.forEach(close));
  process.exit(0);
} catch (e) {
  say({ event: "error", why: String(e) });
  process.exit(1);
}

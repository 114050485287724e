// The official automerge-repo JS client's Presence on a plansync server.
// Usage: node presence.mjs WS_URL PLAN_URL [PEER_TTL_MS]
// Starts presence with a short heartbeat and time-out, claims a name the server must
// replace, and prints one JSON line per presence event (and every second, the peers it
// holds). Stops when stdin closes. Every wait is bounded.
import { Repo, Presence } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const [wsUrl, planUrl, ttl = "2000"] = process.argv.slice(2);
const say = (event) => console.log(JSON.stringify(event));
setTimeout(() => { say({ event: "error", why: "timed out after 90 s" }); process.exit(1); }, 90_000).unref();

try {
  const repo = new Repo({ network: [new WebSocketClientAdapter(wsUrl)] });
  const handle = await repo.find(planUrl);
  say({ event: "found", peer: repo.peerId });
  const presence = new Presence({ handle });
  for (const kind of ["snapshot", "update", "goodbye"]) {
    presence.on(kind, (e) => say({ event: kind, peer: e.peerId, state: e.state ?? null }));
  }
  presence.on("pruning", (e) => say({ event: "pruning", peers: e.pruned }));
  presence.start({
    initialState: { view: "outline", participant: { name: "Forged by JS", agency: "Nobody" } },
    heartbeatMs: 500,
    peerTtlMs: Number(ttl),
  });
  await new Promise((resolve) => {
    process.stdin.on("data", () => {});
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    setTimeout(resolve, 60_000).unref();
  });
  presence.stop();
  await new Promise((r) => setTimeout(r, 200));
  await repo.shutdown?.();
  process.exit(0);
} catch (e) {
  say({ event: "error", why: String(e) });
  process.exit(1);
}

// The official automerge-repo JS client as an attacker: it writes a sign-off entry
// straight into the plan document, as if the board's chair had signed off. (Writing into
// the reporting round itself is refused outright: only owners change rounds.)
// Usage: node forge.mjs WS_URL PLAN_URL ROUND BOARD
// Prints one JSON line per step; every wait is bounded.
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const [wsUrl, planUrl, round, board] = process.argv.slice(2);
const say = (event) => console.log(JSON.stringify(event));
const fail = (why) => { say({ event: "error", why: String(why) }); process.exit(1); };
setTimeout(() => fail("timed out after 60 s"), 60_000).unref();

try {
  const repo = new Repo({ network: [new WebSocketClientAdapter(wsUrl)] });
  const handle = await repo.find(planUrl);
  handle.change((d) => {
    if (!d.sign_offs) d.sign_offs = {};
    d.sign_offs[`${round}:${board}`] = { round, board, by: "Chair", signed: "2027-01-14" };
  });
  say({ event: "forged" });
  // Stay until the server has had time to take it (the Rust test checks that it did).
  await new Promise((r) => setTimeout(r, 3_000));
  say({ event: "done" });
  process.exit(0);
} catch (e) {
  fail(e);
}

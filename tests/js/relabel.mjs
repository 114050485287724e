// The official automerge-repo JS client as an editor who tries to put words in someone
// else's mouth: it changes the plan through /sync with its own token, then reports that
// change as made by someone else (`POST /api/plans/{plan}/relayed-authors`), as only an
// enrolled relaying server may.
// Usage: node relabel.mjs HTTP_URL TOKEN PLAN_URL
// Prints one JSON line per step; every wait is bounded.
import { Repo, splice } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as A from "@automerge/automerge";

const [httpUrl, token, planUrl] = process.argv.slice(2);
const say = (event) => console.log(JSON.stringify(event));
const fail = (why) => { say({ event: "error", why: String(why) }); process.exit(1); };
setTimeout(() => fail("timed out after 60 s"), 60_000).unref();

try {
  const wsUrl = `${httpUrl.replace(/^http/, "ws")}/sync?token=${token}`;
  const repo = new Repo({ network: [new WebSocketClientAdapter(wsUrl)] });
  const handle = await repo.find(planUrl);
  handle.change((d) => splice(d, ["title"], 0, 0, "Edited: "));
  const hash = A.getHeads(handle.doc())[0];
  say({ event: "changed", hash });
  const plan = planUrl.replace(/^automerge:/, "");
  // Wait (bounded) until the server holds the change as this token's.
  let mine = false;
  for (let i = 0; i < 100 && !mine; i++) {
    const r = await fetch(`${httpUrl}/api/plans/${plan}/authors`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify([hash]),
    });
    mine = r.ok && (await r.json())[hash] !== undefined;
    if (!mine) await new Promise((r) => setTimeout(r, 100));
  }
  say({ event: "held", held: mine });
  const r = await fetch(`${httpUrl}/api/plans/${plan}/relayed-authors`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify([{ name: "Chief Constable", agency: "Police", hashes: [hash] }]),
  });
  say({ event: "reported", status: r.status, body: await r.text() });
  process.exit(0);
} catch (e) {
  fail(e);
}

// N official automerge-repo JS clients keep editing a plan's title, each mark "<cI.K>" at
// its front, and say which marks the server has acknowledged: a mark is acknowledged once
// the plan as at the heads the server sent (it sends them only after storing) holds it.
//
// Usage: node editing.mjs WS_URL PLAN_URL N
// Prints {"event":"found"} once every client has the plan, then {"event":"acked","marks":[…]}
// lines as marks are acknowledged. Stops when stdin closes, or after 120 s. Every wait is
// bounded.
import { Repo, splice, decodeHeads } from "@automerge/automerge-repo";
import * as Automerge from "@automerge/automerge";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const [wsUrl, planUrl, nText] = process.argv.slice(2);
const n = Number(nText);
const say = (event) => console.log(JSON.stringify(event));
const fail = (why) => { say({ event: "error", why: String(why) }); process.exit(1); };
setTimeout(() => process.exit(0), 120_000).unref();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stopping = false;
process.stdin.on("data", () => {});
process.stdin.on("end", () => { stopping = true; });
process.stdin.on("close", () => { stopping = true; });

async function client(i) {
  const repo = new Repo({ network: [new WebSocketClientAdapter(wsUrl, 1000)] });
  const handle = await Promise.race([
    repo.find(planUrl),
    sleep(60_000).then(() => { throw new Error(`client ${i} did not find the plan in 60 s`); }),
  ]);
  let pending = [];
  const acked = (heads) => {
    if (!pending.length) return;
    let title;
    try {
      title = String(Automerge.view(handle.doc(), decodeHeads(heads)).title);
    } catch {
      return; // heads this client has not received yet: the next ones will do
    }
    const held = pending.filter((m) => title.includes(m));
    if (held.length) say({ event: "acked", marks: held });
    pending = pending.filter((m) => !title.includes(m));
  };
  handle.on("remote-heads", ({ heads }) => acked(heads));
  return { repo, handle, mark: (k) => {
    const m = `<c${i}.${k}>`;
    handle.change((d) => splice(d, ["title"], 0, 0, m));
    pending.push(m);
  } };
}

try {
  const clients = await Promise.all([...Array(n).keys()].map(client));
  say({ event: "found" });
  for (let k = 0; !stopping && k < 100_000; k++) {
    clients.forEach((c) => c.mark(k));
    // Now and then a pause long enough for the server to store and acknowledge.
    await sleep(k % 5 === 4 ? 120 : 15);
  }
  await sleep(500);
  process.exit(0);
} catch (e) {
  fail(e);
}

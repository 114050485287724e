// The official automerge-repo JS client as an independent peer of a plansync server.
// Usage: node interop.mjs WS_URL PLAN_URL [editor|viewer]
// Prints one JSON line per step on stdout; the Rust test reads them. Every wait is bounded.
import { Repo, splice } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const [wsUrl, planUrl, mode = "editor"] = process.argv.slice(2);
const say = (event) => console.log(JSON.stringify(event));
const fail = (why) => { say({ event: "error", why: String(why) }); process.exit(1); };
setTimeout(() => fail("timed out after 60 s"), 60_000).unref();

const waitFor = (handle, ok, ms) => new Promise((resolve, reject) => {
  if (ok(handle.doc())) return resolve(handle.doc());
  const timer = setTimeout(() => reject(new Error(`condition not met in ${ms} ms`)), ms);
  handle.on("change", ({ doc }) => { if (ok(doc)) { clearTimeout(timer); resolve(doc); } });
});

try {
  const repo = new Repo({ network: [new WebSocketClientAdapter(wsUrl)] });
  const handle = await repo.find(planUrl);
  const plan = handle.doc();
  say({ event: "found", title: String(plan.title), themes: plan.theme_order.length });

  if (mode === "viewer") {
    // A viewer's change must be refused: the server closes the connection.
    const closed = new Promise((resolve) => repo.networkSubsystem.once("peer-disconnected", resolve));
    handle.change((d) => splice(d, ["title"], 0, 0, "[VIEWER] "));
    say({ event: "edited", title: String(handle.doc().title) });
    const outcome = await Promise.race([
      closed.then(() => "disconnected"),
      new Promise((r) => setTimeout(() => r("still-connected"), 15_000)),
    ]);
    say({ event: outcome });
    process.exit(0);
  }

  handle.change((d) => splice(d, ["title"], 0, 0, "[JS] "));
  say({ event: "edited", title: String(handle.doc().title) });

  const seen = await waitFor(handle, (d) => String(d.title).includes("[RUST]"), 20_000);
  say({ event: "saw-rust", title: String(seen.title) });

  const created = repo.create({ title: "Made by the JS client", items: ["one", "two"] });
  say({ event: "created", url: created.url });

  // Stay connected so the new document reaches the server; stop when told (stdin closes).
  await new Promise((resolve) => {
    process.stdin.on("data", () => {});
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    setTimeout(resolve, 30_000).unref();
  });
  await repo.shutdown?.();
  process.exit(0);
} catch (e) {
  fail(e);
}

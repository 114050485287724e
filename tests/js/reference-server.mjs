// The reference automerge-repo sync server, for the load bench to measure the official JS
// client against it beside plansync. It is what @automerge/automerge-repo-sync-server 0.2.8
// runs (a Repo with the WebSocket server adapter, file storage and a share policy that
// announces nothing), on this directory's automerge-repo version rather than that package's
// pinned 1.x, and without its express page.
// Usage: node reference-server.mjs DATA_DIR   (prints {"event":"listening","port":N})
import fs from "fs";
import { WebSocketServer } from "ws";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";

const [dir] = process.argv.slice(2);
fs.mkdirSync(dir, { recursive: true });
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: "storage-server-reference",
  sharePolicy: async () => false,
});
wss.on("listening", () => {
  console.log(JSON.stringify({ event: "listening", port: wss.address().port }));
});
// Stop when the bench does (stdin closes).
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));

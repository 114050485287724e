// Plansync's sync worker: the app's own module, started off the page's main thread. The
// page's first message names the module and its WebAssembly (as the page loaded them);
// the plan's document, the sync with the server and this browser's copy in IndexedDB then
// live here, and the page gets the typed plan and its patches.
const queued = [];
let starting = false;
self.onmessage = async (e) => {
  if (starting || !(e.data && e.data.app)) {
    queued.push(e);
    return;
  }
  starting = true;
  try {
    const app = await import(e.data.app);
    await app.default({ module_or_path: e.data.wasm });
    app.worker_main();
    for (const q of queued) self.onmessage(q);
  } catch (err) {
    self.postMessage(JSON.stringify({ Failed: String(err && err.stack ? err.stack : err) }));
  }
};

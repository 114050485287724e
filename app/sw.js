// Plansync's service worker: keeps the app shell (the page, its script, wasm and style) so a
// reload with no network still opens the app, which then reads the plan from IndexedDB.
// Network first, so a newer app is picked up whenever the server is reachable.
const CACHE = "plansync-shell-v1";

async function precache() {
  const cache = await caches.open(CACHE);
  const page = await fetch("/", { cache: "no-store" });
  if (!page.ok) return;
  const html = await page.clone().text();
  await cache.put("/", page);
  const assets = [...html.matchAll(/(?:href|src)="(\/[^"#?]+)"/g)].map((m) => m[1]);
  // The sync worker's script, which the page starts rather than names.
  await cache.addAll([...new Set([...assets, "/worker.js"])]);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().catch(() => {}).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  const shell =
    req.method === "GET" &&
    url.origin === self.location.origin &&
    !url.pathname.startsWith("/api/") &&
    url.pathname !== "/sync" &&
    url.pathname !== "/health";
  if (!shell) return;
  event.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok) {
          const copy = resp.clone();
          const key = req.mode === "navigate" ? "/" : req;
          caches.open(CACHE).then((c) => c.put(key, copy));
        }
        return resp;
      })
      .catch(async () => {
        const hit = await caches.match(req.mode === "navigate" ? "/" : req, { ignoreSearch: true });
        return hit || Response.error();
      })
  );
});

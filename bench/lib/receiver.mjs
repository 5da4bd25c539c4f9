// A streaming destination on 127.0.0.1 for benchmarks: answers 200 at once and records, per
// delivery, its webhook-id (duplicates are counted, not double counted), the destination path,
// and the time from the event's created_at to its arrival here. Paths under /hang/ are never
// answered (a receiver hanging past the delivery timeout): counted in `hung`, nothing else.
import { createServer } from 'node:http';

/** Start the receiver; `url(path)` is a destination URL on it. */
export async function startBenchReceiver() {
  const seen = new Set();
  const state = { received: 0, unique: 0, duplicates: 0, latencies: [], firstAt: 0, lastAt: 0, byPath: new Map(), hung: 0 };
  const server = createServer((req, res) => {
    if (req.url.startsWith('/hang/')) {
      state.hung++;
      return; // never answered; the worker's timeout gives up on it
    }
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const now = Date.now();
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      state.received++;
      const id = req.headers['webhook-id'];
      if (seen.has(id)) {
        state.duplicates++;
        return;
      }
      seen.add(id);
      state.unique++;
      if (!state.firstAt) state.firstAt = now;
      state.lastAt = now;
      state.byPath.set(req.url, (state.byPath.get(req.url) ?? 0) + 1);
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        state.latencies.push(now - Date.parse(body.created_at));
      } catch {
        /* not a streaming payload: counted, no latency */
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    state,
    url: (path) => `${origin}${path}`,
    /** Forget what was received (between scenarios). */
    reset() {
      seen.clear();
      Object.assign(state, { received: 0, unique: 0, duplicates: 0, latencies: [], firstAt: 0, lastAt: 0, byPath: new Map(), hung: 0 });
    },
    close: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections(); // hanging requests included
      }),
  };
}

// A streaming destination on 127.0.0.1 for benchmarks: answers 200 (at once, or after
// `delayMs`) and records, per delivery, its webhook-id (duplicates are counted, not double
// counted), the destination path, and the time from the event's created_at to its arrival here.
// Paths for which `hang(path)` is true (by default those under /hang/) get no answer at all (a receiver hanging past the
// delivery timeout): counted in `hung`, not as deliveries; their connections are dropped on close.
import { createServer } from 'node:http';

/** Start the receiver; `url(path)` is a destination URL on it. `set({ delayMs, hang })` changes how it answers. */
export async function startBenchReceiver({ delayMs = 0, hang = (path) => path.startsWith('/hang/') } = {}) {
  const seen = new Set();
  const behaviour = { delayMs, hang };
  const fresh = () => ({ received: 0, unique: 0, duplicates: 0, hung: 0, latencies: [], firstAt: 0, lastAt: 0, byPath: new Map(), latencyByPath: new Map() });
  const state = fresh();
  const hanging = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const now = Date.now();
      if (behaviour.hang(req.url)) {
        state.hung++;
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const answer = () => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      };
      if (behaviour.delayMs > 0) setTimeout(answer, behaviour.delayMs);
      else answer();
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
        const latency = now - Date.parse(body.created_at);
        state.latencies.push(latency);
        if (!state.latencyByPath.has(req.url)) state.latencyByPath.set(req.url, []);
        state.latencyByPath.get(req.url).push(latency);
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
    /** Change how it answers from now on: `delayMs` before each 200, `hang(path)` true for no answer. */
    set(change) {
      Object.assign(behaviour, change);
    },
    /** Unique deliveries received on paths starting with `prefix`. */
    deliveredUnder: (prefix) => [...state.byPath].reduce((n, [path, c]) => (path.startsWith(prefix) ? n + c : n), 0),
    /** Latencies (created_at → arrival) of the deliveries on paths starting with `prefix`, sorted. */
    latenciesUnder: (prefix) => [...state.latencyByPath].flatMap(([path, l]) => (path.startsWith(prefix) ? l : [])).sort((a, b) => a - b),
    /** Forget what was received (between scenarios). */
    reset() {
      seen.clear();
      Object.assign(state, fresh());
    },
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

// CPU profiles of workerd isolates through the inspector (Chrome DevTools Protocol): start,
// run `work`, stop, and summarise self time by function per isolate. For finding where a
// benchmark's time goes (see bench/RESULTS.md). Uses `ws` (a dependency of miniflare) rather
// than Node's WebSocket, which the inspector refuses.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

async function connect(url) {
  const ws = new WebSocket(url);
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', (e) => j(new Error(`inspector ${url}: ${e.message}`))); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  // An isolate that never answers (some of workerd's internal ones) must not hang the caller.
  const send = (method, params = {}, timeoutMs = 5000) =>
    new Promise((r, j) => {
      const i = ++id;
      const timer = setTimeout(() => { pending.delete(i); j(new Error(`inspector ${url}: no answer to ${method}`)); }, timeoutMs);
      pending.set(i, (msg) => { clearTimeout(timer); r(msg); });
      ws.send(JSON.stringify({ id: i, method, params }));
    });
  return { ws, send };
}

function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  let busy = 0;
  for (const s of profile.samples) {
    const f = byId.get(s).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    total++;
    if (f.functionName !== '(idle)') busy++;
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
  return { rows, total, busy };
}

/**
 * Profile the isolates whose inspector ids match `pick` (all of them by default) at the
 * inspector `host:port` while `work()` runs. Returns { result, isolates: [{ id, busyMs, rows }] }.
 */
export async function profileWhile(address, work, { top = 20, pick = () => true, intervalUs = 200 } = {}) {
  const targets = (await (await fetch(`http://${address}/json`)).json()).filter((t) => pick(t.id));
  const sessions = [];
  for (const t of targets) {
    const s = await connect(t.webSocketDebuggerUrl.replace('localhost', '127.0.0.1'));
    try {
      await s.send('Profiler.enable');
      await s.send('Profiler.setSamplingInterval', { interval: intervalUs });
      await s.send('Profiler.start');
      sessions.push({ id: t.id, ...s });
    } catch (err) {
      console.error(`not profiled: ${t.id} (${err.message})`);
      s.ws.close();
    }
  }
  const result = await work();
  const isolates = [];
  for (const s of sessions) {
    const { result: r } = await s.send('Profiler.stop', {}, 60_000);
    s.ws.close();
    const { rows, total, busy } = summarise(r.profile, top);
    isolates.push({ id: s.id, busyMs: (busy * intervalUs) / 1000, samples: total, rows });
  }
  return { result, isolates };
}

/** Whether process `pid` descends from process `ancestor` (Linux /proc). */
function descendsFrom(pid, ancestor) {
  for (let p = pid; p > 1; ) {
    if (p === ancestor) return true;
    try {
      p = Number(readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * The raw workerd inspector address of a `wrangler dev` whose user worker is `name` (every
 * isolate, not only the user worker); with `under`, only a workerd started by that process
 * (another `wrangler dev` on the machine runs the same worker names).
 */
export async function workerdInspector(name = 'core:user:audit-events-edge', { under = null } = {}) {
  const { execFileSync } = await import('node:child_process');
  const lines = execFileSync('ss', ['-ltnp'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('"workerd"'));
  for (const l of lines) {
    const m = l.match(/127\.0\.0\.1:(\d+)/);
    if (!m) continue;
    if (under !== null && !descendsFrom(Number(l.match(/pid=(\d+)/)?.[1]), under)) continue;
    try {
      const res = await fetch(`http://127.0.0.1:${m[1]}/json`, { signal: AbortSignal.timeout(1000) });
      const list = await res.json();
      if (Array.isArray(list) && list.some((t) => t.id === name)) return `127.0.0.1:${m[1]}`;
    } catch { /* not an inspector */ }
  }
  throw new Error('no workerd inspector found');
}

#!/usr/bin/env node
// Where the tracked redirect spends its time: CPU profiles of every workerd isolate (the Worker,
// D1, queues, miniflare's own) while autocannon requests the tracked download URL (or the bare
// route). Not a benchmark; prints busy time and top functions per isolate.
// Usage: node bench/profile-redirect.mjs [--requests 4000] [--connections 10] [--path bare|tracked]
// Only one `wrangler dev` with this Worker should be running (the inspector is found by its name).
import autocannon from 'autocannon';
import { seedPublicRelease, startWorker } from './lib/worker.mjs';
import { options } from './lib/results.mjs';
import { profileWhile, workerdInspector } from './lib/profile.mjs';

const opt = options({ requests: 4000, connections: 10, path: 'tracked' });
const worker = await startWorker({ inspector: true });
try {
  const seeded = await seedPublicRelease(worker.base, worker.adminToken, `p${Date.now().toString(36)}`);
  const url = opt.path === 'bare' ? `${worker.base}/-/bench/redirect` : `${worker.base}${seeded.downloadPath}`;
  await autocannon({ url, connections: opt.connections, amount: 500 });
  const address = await workerdInspector();
  const { result, isolates } = await profileWhile(address, () => autocannon({ url, connections: opt.connections, amount: opt.requests, sampleInt: 20 }));
  console.log(`${opt.path}: ${result['3xx']} redirects in ${result.duration} s (${(result['3xx'] / result.duration).toFixed(0)}/s)`);
  for (const i of isolates.filter((x) => x.samples > 0).sort((a, b) => b.busyMs - a.busyMs)) {
    console.log(`\n## ${i.id}: ${i.busyMs.toFixed(0)} ms busy (${(i.busyMs / opt.requests).toFixed(2)} ms per request)`);
    console.log(i.rows.slice(0, 12).join('\n'));
  }
} finally {
  await worker.stop();
  worker.removeState();
}

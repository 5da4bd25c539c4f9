// CPU time of the Worker's workerd processes, from /proc (Linux only; null elsewhere). Local
// throughput is bound by CPU on workerd's one event-loop thread (every Worker, Durable Object, D1
// database and queue of `wrangler dev` runs on it), so CPU seconds per delivery and per event are
// the figures a change moves, whatever else the machine does meanwhile.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux architecture Node runs on). */
const TICKS_PER_SECOND = 100;

/** utime + stime in ticks of a /proc stat line, and its process group (fields after the parenthesised name). */
function statFields(text) {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
  return { pgrp: Number(rest[2]), ticks: Number(rest[11]) + Number(rest[12]) };
}

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // gone meanwhile
  }
};

/**
 * A snapshot of the CPU ticks of every thread of every `workerd` process in process group `pgid`
 * (the bench starts `npm start` as its own group: npm, wrangler and workerd); null off Linux.
 */
export function workerdThreads(pgid) {
  let pids;
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const threads = new Map();
  for (const pid of pids) {
    if (read(`/proc/${pid}/comm`)?.trim() !== 'workerd') continue;
    const stat = read(`/proc/${pid}/stat`);
    if (stat === null || statFields(stat).pgrp !== pgid) continue;
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const t = read(`/proc/${pid}/task/${tid}/stat`);
      if (t !== null) threads.set(`${pid}/${tid}`, statFields(t).ticks);
    }
  }
  return threads;
}

/**
 * CPU seconds spent between two snapshots of workerdThreads: in all, and on the busiest thread
 * (workerd's event loop); null when either is null.
 */
export function cpuBetween(before, after) {
  if (!before || !after) return null;
  let total = 0;
  let busiest = 0;
  for (const [id, ticks] of after) {
    const d = ticks - (before.get(id) ?? 0);
    total += d;
    busiest = Math.max(busiest, d);
  }
  return { seconds: total / TICKS_PER_SECOND, busiestThreadSeconds: busiest / TICKS_PER_SECOND };
}

/**
 * From per-event CPU at two or more destination counts (rows of { d, msPerEvent }), the share of
 * one event (recording it: the API Worker, its D1 writes, its queue message) and of one delivery,
 * by a least-squares line msPerEvent = event + d × delivery; null with fewer than two counts.
 */
export function splitPerEvent(rows) {
  const pts = rows.filter((r) => Number.isFinite(r.msPerEvent));
  if (new Set(pts.map((r) => r.d)).size < 2) return null;
  const n = pts.length;
  const mx = pts.reduce((s, r) => s + r.d, 0) / n;
  const my = pts.reduce((s, r) => s + r.msPerEvent, 0) / n;
  const sxy = pts.reduce((s, r) => s + (r.d - mx) * (r.msPerEvent - my), 0);
  const sxx = pts.reduce((s, r) => s + (r.d - mx) ** 2, 0);
  const delivery = sxy / sxx;
  return { eventMs: my - delivery * mx, deliveryMs: delivery };
}

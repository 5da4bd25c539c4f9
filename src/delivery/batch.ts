/**
 * The queue handler of the consumer Worker: one batch of delivery messages.
 *
 * - Each message is settled as soon as its own attempt is recorded (src/delivery/consumer.ts,
 *   processMessage): a receiver that answered is acked or scheduled for retry at once, whatever
 *   the other messages are doing. Attempt records are grouped (AttemptRecorder) with records of
 *   other messages that finish meanwhile; a record waits at most RECORD_LINGER_MS for them, never
 *   for a slow POST.
 * - Per-destination lanes: the batch's messages are queued per destination and started round
 *   robin, at most DELIVERY_CONCURRENCY POSTs at a time (Workers keep six connections open per
 *   invocation) and per destination at most its share of them (PER_DESTINATION_IN_FLIGHT, or
 *   more when the batch has fewer destinations), so no destination takes another's share. A
 *   destination whose POST takes longer than slowAfterMs (or whose recent POSTs did, in this
 *   isolate) is slow: one POST in flight, and the rest of its lane is retried with a short delay
 *   instead of waiting in line behind it.
 * - One D1 round trip loads every message's context before the first POST.
 */
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import { toAuditEvent, type AuditEventRow } from '../audit/record';
import type { DeliveryContext, DeliveryDestination, DeliveryRow } from '../db/deliveries';
import { isDeliveryJob, processMessage, retryLater } from './consumer';
import { deliveryTimeoutMs } from './retry';

/** POSTs in flight per invocation at most: Workers open at most six connections at a time. */
export const DELIVERY_CONCURRENCY = 6;
/**
 * POSTs in flight per destination within one invocation: an equal share of the connections among
 * the batch's destinations, at least this many (a batch for one destination uses all six, for
 * two three each; with three or more destinations each gets two).
 */
export const PER_DESTINATION_IN_FLIGHT = 2;
/** A POST still running after this long (or half the delivery timeout, if shorter) makes its destination slow. */
export const SLOW_POST_MS = 2000;
/** How long this isolate remembers a slow destination (then it gets its full share again). */
export const SLOW_MEMORY_MS = 60_000;

/** Destinations whose POSTs were slow recently, in this isolate: destination id → until (ms). */
const slowUntil = new Map<number, number>();

/** Whether a destination is slow now (see SLOW_POST_MS). */
export function isSlowDestination(destinationId: number, now: number = Date.now()): boolean {
  const until = slowUntil.get(destinationId);
  if (until === undefined) return false;
  if (until > now) return true;
  slowUntil.delete(destinationId);
  return false;
}

/** Seconds a message of a slow destination waits before it comes back (at least 1, about one timeout). */
export function deferDelaySeconds(env: Pick<Env, 'DELIVERY_TIMEOUT_MS'>): number {
  return Math.max(1, Math.ceil(deliveryTimeoutMs(env) / 1000));
}

/** Attempt records one D1 write carries at most. */
export const RECORD_GROUP_MAX = 50;
/** How long a record may wait for others whose POSTs are still running (never longer: see AttemptRecorder). */
export const RECORD_LINGER_MS = 25;

/**
 * Group commit of attempt records. A record is written with every record that comes in until
 * no other POST of the batch is running, RECORD_GROUP_MAX records are waiting, or it has waited
 * RECORD_LINGER_MS — so a record waits for faster POSTs' records but never for a slow POST —
 * and, while a write is in flight, with every record that arrives meanwhile. Each record's
 * promise settles with the write that carried it (a failed write fails all of its records).
 */
export class AttemptRecorder {
  private waiting: { statements: D1PreparedStatement[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private writing = false;
  private nudge: (() => void) | null = null;
  /** D1 write transactions so far (for the benchmarks and tests). */
  transactions = 0;

  /** `postsRunning`: how many POSTs of the batch are still running (their records may come soon). */
  constructor(
    private readonly db: D1Database,
    private readonly postsRunning: () => number = () => 0,
    private readonly lingerMs: number = RECORD_LINGER_MS,
  ) {}

  /** Record the statements of one attempt; resolves once they are committed. */
  record = (statements: D1PreparedStatement[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.waiting.push({ statements, resolve, reject });
      if (this.nudge) this.nudge();
      else if (!this.writing) void this.drain();
    });

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const deadline = Date.now() + this.lingerMs;
      while (this.postsRunning() > 0 && this.waiting.length < RECORD_GROUP_MAX && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          this.nudge = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.nudge = null;
      }
      const group = this.waiting.splice(0, RECORD_GROUP_MAX);
      try {
        this.transactions++;
        await this.db.batch(group.flatMap((g) => g.statements));
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.writing = false;
  }
}

/**
 * Everything the batch's deliveries need, in ONE D1 round trip: their events, destinations,
 * active headers and delivery rows (instead of one round trip per message). Null when loading
 * failed (each message then loads its own).
 */
async function loadBatchContexts(env: Env, jobs: DeliveryJob[]): Promise<Map<string, DeliveryContext> | null> {
  if (jobs.length === 0) return new Map();
  const eventIds = JSON.stringify([...new Set(jobs.map((j) => j.eventId))]);
  const destinationIds = JSON.stringify([...new Set(jobs.map((j) => j.destinationId))]);
  const pairs = JSON.stringify(jobs.map((j) => [j.eventId, j.destinationId]));
  let results: D1Result[];
  try {
    results = await env.DB.batch([
      env.DB.prepare('SELECT * FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))').bind(eventIds),
      env.DB
        .prepare(
          `SELECT id, scope, namespace_id, destination_url, verification_token, signing_secret, previous_signing_secret,
                  previous_secret_expires_at, active, consecutive_failures, breaker_open_until
           FROM streaming_destinations WHERE id IN (SELECT value FROM json_each(?1))`,
        )
        .bind(destinationIds),
      env.DB
        .prepare('SELECT destination_id, key, value FROM streaming_headers WHERE destination_id IN (SELECT value FROM json_each(?1)) AND active = 1 ORDER BY id')
        .bind(destinationIds),
      env.DB
        .prepare(
          `SELECT d.* FROM deliveries d JOIN json_each(?1) p
             ON d.event_id = json_extract(p.value, '$[0]') AND d.destination_id = json_extract(p.value, '$[1]')`,
        )
        .bind(pairs),
    ]);
  } catch (err) {
    console.error('loading the batch failed; loading message by message', err instanceof Error ? err.message : err);
    return null;
  }
  const events = new Map((results[0].results as AuditEventRow[]).map((r) => [r.id, toAuditEvent(r)]));
  const destinations = new Map((results[1].results as DeliveryDestination[]).map((d) => [d.id, d]));
  const headers = new Map<number, { key: string; value: string }[]>();
  for (const h of results[2].results as { destination_id: number; key: string; value: string }[]) {
    let list = headers.get(h.destination_id);
    if (!list) headers.set(h.destination_id, (list = []));
    list.push({ key: h.key, value: h.value });
  }
  const deliveries = new Map((results[3].results as DeliveryRow[]).map((d) => [`${d.event_id}:${d.destination_id}`, d]));
  const contexts = new Map<string, DeliveryContext>();
  for (const j of jobs) {
    const key = `${j.eventId}:${j.destinationId}`;
    contexts.set(key, {
      event: events.get(j.eventId) ?? null,
      destination: destinations.get(j.destinationId) ?? null,
      headers: headers.get(j.destinationId) ?? [],
      delivery: deliveries.get(key) ?? null,
    });
  }
  return contexts;
}

/** The handler: see the module comment. Resolves once every message of the batch is settled. */
export async function handleDeliveryBatch(batch: MessageBatch<DeliveryJob>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const jobs = batch.messages.map((m) => m.body).filter(isDeliveryJob);
  const contexts = await loadBatchContexts(env, jobs);
  const slowAfterMs = Math.min(SLOW_POST_MS, deliveryTimeoutMs(env) / 2);
  const deferSeconds = deferDelaySeconds(env);

  const lanes = new Map<number, Message<DeliveryJob>[]>();
  for (const m of batch.messages) {
    if (!isDeliveryJob(m.body)) {
      await processMessage(m, env); // acks it (nothing to deliver)
      continue;
    }
    let lane = lanes.get(m.body.destinationId);
    if (!lane) lanes.set(m.body.destinationId, (lane = []));
    lane.push(m);
  }
  // Each destination's share of the connections, from the batch's destinations (fixed for the
  // batch: a hanging destination does not grow into the connections others have finished with).
  const share = Math.max(PER_DESTINATION_IN_FLIGHT, Math.floor(DELIVERY_CONCURRENCY / Math.max(1, lanes.size)));
  const inFlight = new Map<number, number>();
  let slots = 0; // messages started whose POST has not ended (connections in use, at most)
  const recorder = new AttemptRecorder(env.DB, () => slots);
  const settling: Promise<unknown>[] = [];
  let wake: () => void = () => {};

  const start = (destinationId: number, m: Message<DeliveryJob>) => {
    const job = m.body;
    inFlight.set(destinationId, (inFlight.get(destinationId) ?? 0) + 1);
    slots++;
    const started = Date.now();
    // Slow while it runs: the lane's other messages stop waiting behind it.
    const timer = setTimeout(() => {
      slowUntil.set(destinationId, Date.now() + SLOW_MEMORY_MS);
      wake();
    }, slowAfterMs);
    // The slot is free once the POST has ended: recording the attempt needs no connection, and
    // the lane's next POST need not wait for it.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      if (Date.now() - started < slowAfterMs) slowUntil.delete(destinationId);
      inFlight.set(destinationId, (inFlight.get(destinationId) ?? 1) - 1);
      slots--;
      wake();
    };
    const context = contexts?.get(`${job.eventId}:${job.destinationId}`);
    settling.push(processMessage(m, env, { context, record: recorder.record, onPosted: release }).then(release));
  };

  while ([...lanes.values()].some((lane) => lane.length > 0)) {
    // One pass: at most one new POST per destination, round robin, within the limits.
    for (const [destinationId, lane] of lanes) {
      if (lane.length === 0) continue;
      const slow = isSlowDestination(destinationId);
      const busy = inFlight.get(destinationId) ?? 0;
      if (slow && busy >= 1) {
        // Behind a slow POST: come back later instead of holding the batch's connections.
        for (const m of lane.splice(0)) settling.push(retryLater(m, env, deferSeconds));
        continue;
      }
      if (busy >= share || slots >= DELIVERY_CONCURRENCY) continue;
      start(destinationId, lane.shift()!);
    }
    const startable = [...lanes].some(([id, lane]) => lane.length > 0 && (inFlight.get(id) ?? 0) < share && !isSlowDestination(id));
    if (startable && slots < DELIVERY_CONCURRENCY) continue;
    if (slots === 0) continue;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  await Promise.all(settling);
}

/**
 * Group commit: concurrent callers' work is done in ONE round trip, each caller awaiting the
 * outcome of the round trip that carried its item. No timer adds latency: when nothing is in
 * flight, a caller runs at once with whatever is queued (usually only its own item); items that
 * arrive while a round trip is in flight ride on the next one. This is how the audit writer
 * shares the cost of durability between concurrent requests (src/audit/record.ts) and how
 * fan-out shares its queries (src/delivery/fanout.ts).
 *
 * Workers rules this respects: the round trip runs in the context of a request whose own item
 * is in it (the leader awaits it, and registers it with waitUntil so a client disconnect does
 * not cancel it); the others' promises are created in their own contexts and settled from the
 * leader's, which workerd delivers to each owner's context. Should a leader's context still be
 * cancelled mid-flight, a waiting caller gives up after `stallMs` (its request fails: nothing
 * is claimed durable that was not confirmed) and unblocks the group for everyone else.
 */

interface Entry<T, R> {
  item: T;
  settled: boolean;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
  promise: Promise<R>;
}

/** Thrown to a caller whose group round trip did not settle in time. */
export class GroupCommitStalled extends Error {
  constructor(ms: number) {
    super(`group commit did not settle within ${ms} ms`);
    this.name = 'GroupCommitStalled';
  }
}

/** A group committer: `run` does the work of many items in one round trip and returns one result per item, in order. */
export class GroupCommit<T, R> {
  private queue: Entry<T, R>[] = [];
  private inflight: Promise<void> | null = null;
  /** Round trips made and items carried (for benchmarks and tests). */
  readonly stats = { rounds: 0, items: 0, maxGroup: 0 };

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly maxItems: number,
    private readonly stallMs = 15_000,
  ) {}

  /** Submit one item; resolves with its result once the round trip that carried it completed. */
  async submit(item: T, ctx?: Pick<ExecutionContext, 'waitUntil'> | null): Promise<R> {
    let resolve!: (r: R) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry<T, R> = { item, settled: false, resolve, reject, promise };
    this.queue.push(entry);
    while (!entry.settled) {
      const current = this.inflight;
      if (current === null) {
        const group = this.queue.splice(0, this.maxItems);
        const flight: Promise<void> = this.flush(group).finally(() => {
          if (this.inflight === flight) this.inflight = null;
        });
        this.inflight = flight;
        ctx?.waitUntil(flight);
        await flight;
      } else {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = await Promise.race([
          current.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), this.stallMs);
          }),
        ]);
        if (timer !== undefined) clearTimeout(timer);
        if (stalled && !entry.settled) {
          // The leader's round trip never settled: free the group and fail this caller.
          if (this.inflight === current) this.inflight = null;
          const at = this.queue.indexOf(entry);
          if (at >= 0) this.queue.splice(at, 1);
          entry.settled = true;
          entry.reject(new GroupCommitStalled(this.stallMs));
        }
      }
    }
    return promise;
  }

  /** One round trip for a group; never rejects (each entry gets its own outcome). */
  private async flush(group: Entry<T, R>[]): Promise<void> {
    this.stats.rounds++;
    this.stats.items += group.length;
    this.stats.maxGroup = Math.max(this.stats.maxGroup, group.length);
    try {
      const results = await this.run(group.map((e) => e.item));
      group.forEach((e, i) => {
        if (e.settled) return;
        e.settled = true;
        e.resolve(results[i]);
      });
    } catch (err) {
      for (const e of group) {
        if (e.settled) continue;
        e.settled = true;
        e.reject(err);
      }
    }
  }
}

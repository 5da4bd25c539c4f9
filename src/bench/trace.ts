/**
 * A binding tracer: a copy of a Worker's env whose D1 databases, queues and Durable Object
 * namespaces (found by duck typing) count every call, split into before and after the
 * response. The edge latency model (./edge_model.ts) adds its waits through the hooks; tests
 * count round trips with it (test/support/d1.ts). Calls behave exactly as on the real bindings.
 */

/** Where a D1 round trip goes: the primary (reads outside a session, and every write) or a read replica. */
export type D1Kind = 'primary-read' | 'primary-write' | 'replica-read';

/** What the traced bindings were asked to do. */
export interface TraceCounts {
  /** D1 round trips to the primary (a statement's first/all/run/raw, a batch, an exec). */
  d1Primary: number;
  /** D1 round trips that read through a `withSession(...)` session (a replica once replication is on). */
  d1Replica: number;
  /** D1 round trips holding at least one write statement (each is one write transaction). */
  d1WriteTransactions: number;
  /** Sum of `meta.rows_written` over the results that carry meta (run, all, batch; not first, raw or exec). */
  rowsWritten: number;
  /** Sum of `meta.rows_read` over the same results (what D1 bills for reads: index and table rows visited). */
  rowsRead: number;
  /** Queue `send` and `sendBatch` calls. */
  queueSends: number;
  /** Messages those calls carried. */
  queueMessages: number;
  /** Method calls and fetches on Durable Object stubs. */
  durableObjectCalls: number;
  /** Outbound fetches made through `outboundFetch` (./edge_model.ts). */
  fetches: number;
}

/** All counts at zero. */
export function zeroCounts(): TraceCounts {
  return { d1Primary: 0, d1Replica: 0, d1WriteTransactions: 0, rowsWritten: 0, rowsRead: 0, queueSends: 0, queueMessages: 0, durableObjectCalls: 0, fetches: 0 };
}

/** Add `from` into `into`. */
export function addCounts(into: TraceCounts, from: TraceCounts): TraceCounts {
  for (const k of Object.keys(into) as (keyof TraceCounts)[]) into[k] += from[k];
  return into;
}

/**
 * The counts of one invocation (or of a test). The caller sets `responded` once its response
 * is ready; calls made from then on (ctx.waitUntil work) count in `after`. A trace made with a
 * `forward` trace also counts everything there (per-isolate totals), in the same half.
 */
export class BindingTrace {
  responded = false;
  readonly before: TraceCounts = zeroCounts();
  readonly after: TraceCounts = zeroCounts();
  constructor(readonly forward?: BindingTrace) {}

  /** The half a call starting now counts in. */
  half(): 'before' | 'after' {
    return this.responded ? 'after' : 'before';
  }

  /** Count `n` of `key` in `half` (default: the half of now). */
  count(key: keyof TraceCounts, n = 1, half = this.half()): void {
    this[half][key] += n;
    this.forward?.count(key, n, half);
  }

  /** Both halves at zero, responded false. */
  reset(): void {
    this.responded = false;
    Object.assign(this.before, zeroCounts());
    Object.assign(this.after, zeroCounts());
  }
}

/** Runs a traced call; the model waits around it. Each hook must call `call` exactly once. */
export type Around = <T>(call: () => Promise<T>) => Promise<T>;

/** What a caller may add around traced calls (latency, bookkeeping). All optional. */
export interface TraceHooks {
  /** Around every D1 round trip. */
  d1?: (kind: D1Kind) => Around;
  /** Around every queue send or sendBatch. */
  queue?: () => Around;
  /** Around every Durable Object call; `located` when the stub was got with a locationHint. */
  durableObject?: (located: boolean) => Around;
  /** Sees the results of every D1 batch, in order (tests). */
  batchResults?: (results: D1Result[]) => void;
  /** Sees every statement prepared (tests). */
  prepared?: (sql: string) => void;
}

const direct: Around = (call) => call();

const WRITE_VERB = /^(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;
const WRITE_IN_CTE = /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i;

/** SQL without leading whitespace and comments. */
function stripLeading(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.trimStart();
    if (t.startsWith('--')) {
      const nl = t.indexOf('\n');
      s = nl < 0 ? '' : t.slice(nl + 1);
    } else if (t.startsWith('/*')) {
      const end = t.indexOf('*/');
      s = end < 0 ? '' : t.slice(end + 2);
    } else {
      return t;
    }
  }
}

/**
 * True when a statement writes: it starts (after comments and whitespace) with INSERT, UPDATE,
 * DELETE, REPLACE, CREATE, DROP or ALTER, or is a `WITH ...` whose body inserts, updates,
 * deletes or replaces.
 */
export function isWriteSql(sql: string): boolean {
  const s = stripLeading(sql);
  if (WRITE_VERB.test(s)) return true;
  return /^WITH\b/i.test(s) && WRITE_IN_CTE.test(s);
}

/** Rows written or read that a D1 result reports (0 when it carries no meta: first(), raw()). */
function rowsOf(result: unknown, key: 'rows_written' | 'rows_read'): number {
  const meta = (result as { meta?: Record<string, unknown> } | null)?.meta;
  const n = meta?.[key];
  return typeof n === 'number' ? n : 0;
}

function isObject(v: unknown): v is Record<string | symbol, unknown> {
  return typeof v === 'object' && v !== null;
}

function hasMethods(v: unknown, ...names: string[]): boolean {
  return isObject(v) && names.every((n) => typeof v[n] === 'function');
}

/** A property of a native object, functions bound to it. */
function passThrough(t: object, k: string | symbol): unknown {
  const v = Reflect.get(t, k, t);
  return typeof v === 'function' ? v.bind(t) : v;
}

/** Per traced database: the real statement behind each wrapped one (batch needs the real ones). */
interface StatementMeta {
  sql: string;
  session: boolean;
}

class D1Tracer {
  private readonly real = new WeakMap<object, D1PreparedStatement>();
  private readonly meta = new WeakMap<object, StatementMeta>();
  constructor(private readonly trace: BindingTrace, private readonly hooks: TraceHooks) {}

  /** One round trip: counted, classified, run through the d1 hook, its rows written counted. */
  async roundTrip<T>(write: boolean, session: boolean, call: () => Promise<T>, results: (r: T) => unknown[]): Promise<T> {
    const half = this.trace.half();
    const kind: D1Kind = write ? 'primary-write' : session ? 'replica-read' : 'primary-read';
    this.trace.count(kind === 'replica-read' ? 'd1Replica' : 'd1Primary', 1, half);
    if (write) this.trace.count('d1WriteTransactions', 1, half);
    const out = await (this.hooks.d1?.(kind) ?? direct)(call);
    let written = 0;
    let read = 0;
    for (const r of results(out)) {
      written += rowsOf(r, 'rows_written');
      read += rowsOf(r, 'rows_read');
    }
    if (written > 0) this.trace.count('rowsWritten', written, half);
    if (read > 0) this.trace.count('rowsRead', read, half);
    return out;
  }

  statement(s: D1PreparedStatement, m: StatementMeta): D1PreparedStatement {
    const p = new Proxy(s, {
      get: (t, k) => {
        if (k === 'bind') return (...args: unknown[]) => this.statement(t.bind(...args), m);
        if (k === 'first' || k === 'raw') {
          return (...args: unknown[]) => this.roundTrip(isWriteSql(m.sql), m.session, () => (t[k] as (...a: unknown[]) => Promise<unknown>)(...args), () => []);
        }
        if (k === 'all' || k === 'run') return () => this.roundTrip(isWriteSql(m.sql), m.session, () => t[k](), (r) => [r]);
        return passThrough(t, k);
      },
    });
    this.real.set(p, s);
    this.meta.set(p, m);
    return p;
  }

  /** A D1Database, or a session of one (`session`: its reads are replica reads). */
  database<D extends D1Database | D1DatabaseSession>(db: D, session: boolean): D {
    return new Proxy(db, {
      get: (t, k) => {
        if (k === 'prepare') {
          return (sql: string) => {
            this.hooks.prepared?.(sql);
            return this.statement(t.prepare(sql), { sql, session });
          };
        }
        if (k === 'batch') {
          return async (stmts: D1PreparedStatement[]) => {
            const write = stmts.some((s) => isWriteSql(this.meta.get(s)?.sql ?? ''));
            const results = await this.roundTrip(write, session, () => t.batch(stmts.map((s) => this.real.get(s) ?? s)), (r) => r);
            this.hooks.batchResults?.(results);
            return results;
          };
        }
        if (k === 'exec' && !session) {
          const real = t as D1Database;
          return (sql: string) =>
            this.roundTrip(sql.split(';').some(isWriteSql), false, () => real.exec(sql), () => []);
        }
        if (k === 'withSession' && !session) {
          return (constraint?: string) => this.database((t as D1Database).withSession(constraint as D1SessionConstraint), true);
        }
        return passThrough(t, k);
      },
    }) as D;
  }
}

/** A Durable Object stub whose method calls and fetches are counted. */
function traceStub(stub: DurableObjectStub, located: boolean, trace: BindingTrace, hooks: TraceHooks): DurableObjectStub {
  return new Proxy(stub, {
    get(t, k) {
      // `then` would make the stub look like a promise; id and name are data.
      if (typeof k === 'symbol' || k === 'then' || k === 'id' || k === 'name') return passThrough(t, k);
      const v = Reflect.get(t, k, t);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        trace.count('durableObjectCalls');
        // Called on the stub by name: an RPC method stub has no `apply` of its own (it would be a remote call).
        return (hooks.durableObject?.(located) ?? direct)(async () => (t as unknown as Record<string, (...a: unknown[]) => unknown>)[k](...args));
      };
    },
  });
}

/** A Durable Object namespace whose stubs are traced (get, getByName, jurisdiction). */
function traceNamespace(ns: DurableObjectNamespace, trace: BindingTrace, hooks: TraceHooks): DurableObjectNamespace {
  return new Proxy(ns, {
    get(t, k) {
      if (k === 'get' || k === 'getByName') {
        return (idOrName: unknown, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
          traceStub((t[k] as (a: unknown, o?: unknown) => DurableObjectStub)(idOrName, options), Boolean(options?.locationHint), trace, hooks);
      }
      if (k === 'jurisdiction') return (j: DurableObjectJurisdiction) => traceNamespace(t.jurisdiction(j), trace, hooks);
      return passThrough(t, k);
    },
  });
}

/** A queue producer whose send and sendBatch calls (and their messages) are counted. */
function traceQueue(q: Queue, trace: BindingTrace, hooks: TraceHooks): Queue {
  return new Proxy(q, {
    get(t, k) {
      if (k === 'send') {
        return (body: unknown, options?: QueueSendOptions) => {
          trace.count('queueSends');
          trace.count('queueMessages');
          return (hooks.queue?.() ?? direct)(() => t.send(body, options));
        };
      }
      if (k === 'sendBatch') {
        return (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
          const list = [...messages];
          trace.count('queueSends');
          trace.count('queueMessages', list.length);
          return (hooks.queue?.() ?? direct)(() => t.sendBatch(list, options));
        };
      }
      return passThrough(t, k);
    },
  });
}

/**
 * A copy of `env` whose bindings count into `trace` and run through `hooks`: D1 databases (they
 * have prepare and batch), queue producers (send and sendBatch) and Durable Object namespaces
 * (idFromName and get). Everything else is copied as is.
 */
export function traceEnv<E extends object>(env: E, trace: BindingTrace, hooks: TraceHooks = {}): E {
  const out = { ...env } as Record<string, unknown>;
  for (const [name, v] of Object.entries(out)) {
    if (hasMethods(v, 'prepare', 'batch')) out[name] = new D1Tracer(trace, hooks).database(v as unknown as D1Database, false);
    else if (hasMethods(v, 'send', 'sendBatch')) out[name] = traceQueue(v as unknown as Queue, trace, hooks);
    else if (hasMethods(v, 'idFromName', 'get')) out[name] = traceNamespace(v as unknown as DurableObjectNamespace, trace, hooks);
  }
  return out as E;
}

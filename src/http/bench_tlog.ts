/**
 * Bench only (BENCH_ROUTES="true"; `npm run bench:tlog`): grow the audit log's tree by synthetic
 * leaves in bulk, through the builder's own append (src/audit/log_builder.ts), so that proofs can
 * be measured over a million leaves without recording a million events first.
 *   POST /-/bench/tlog/fill?count=N   (1 to 100,000 leaves; answers {"size": ...})
 * Synthetic leaves name no event (negative event ids, below every real one, in order) and are
 * marked content-removed, as retention leaves them; a fill is refused once a real event has a leaf
 * (the builder appends real events after them). Otherwise an ordinary unknown path.
 */
import { benchRoutesEnabled, type Env } from '../env';
import { treeHead } from '../db/audit_log_tree';
import { appendHashes } from '../audit/log_builder';
import { leafHash } from '../tlog/hash';
import { json } from '../web/errors';

export const BENCH_TLOG_FILL_PATH = '/-/bench/tlog/fill';
/** Synthetic leaf i names event i - 2^50: negative, and increasing with i. */
const SYNTHETIC_BASE = 2 ** 50;

export async function handleBenchTlog(request: Request, env: Env, pathname: string): Promise<Response | null> {
  if (pathname !== BENCH_TLOG_FILL_PATH || request.method !== 'POST' || !benchRoutesEnabled(env)) return null;
  const raw = new URL(request.url).searchParams.get('count') ?? '';
  const count = /^\d{1,6}$/.test(raw) ? Number(raw) : 0;
  if (count < 1 || count > 100_000) return json({ message: '400 Bad request - count must be 1 to 100000' }, 400);
  const head = await treeHead(env.DB);
  if (head.size > 0 && head.lastEventId >= 0) return json({ message: '409 Conflict - real events already have leaves' }, 409);
  const encoder = new TextEncoder();
  const leaves = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      eventId: head.size + i - SYNTHETIC_BASE,
      hash: await leafHash(encoder.encode(`bench leaf ${head.size + i}`)),
      contentRemoved: true,
    })),
  );
  await appendHashes(env, head.size, leaves);
  return json({ size: head.size + count });
}

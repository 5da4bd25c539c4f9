/** A page of rows and the number of rows it was taken from. */
export interface PageOf<T> {
  total: number;
  items: T[];
}

/** SQL and the values bound to its anonymous `?` placeholders, in order. */
export interface Condition {
  sql: string;
  binds: unknown[];
}

/**
 * One page of `select` (a SELECT up to and including its FROM and joins) filtered by `where`,
 * with the total: a COUNT and the page in one batch, so one D1 round trip whatever the page size.
 * `limit` and `offset` are integers the caller has validated (readPage).
 */
export async function pagedSelect<Row, T>(
  db: D1Database,
  q: { select: string; from: string; where: Condition; orderBy: string },
  limit: number,
  offset: number,
  map: (row: Row) => T,
): Promise<PageOf<T>> {
  const [count, rows] = await db.batch([
    db.prepare(`SELECT COUNT(*) AS n FROM ${q.from} WHERE ${q.where.sql}`).bind(...q.where.binds),
    db.prepare(`${q.select} WHERE ${q.where.sql} ORDER BY ${q.orderBy} LIMIT ${limit} OFFSET ${offset}`).bind(...q.where.binds),
  ]);
  return { total: (count.results[0] as { n: number }).n, items: (rows.results as Row[]).map(map) };
}

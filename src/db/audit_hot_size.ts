/**
 * The figures the archive's size rule estimates D1's audit data from (src/audit/archive_size.ts),
 * read cheaply: two index lookups for the hot id range and a bounded sample of the newest hot
 * events with their deliveries and attempts (never a scan of the tables).
 */

/** What one read of the hot window's figures returns. */
export interface HotFigures {
  /** Ids from the oldest hot event to the newest (retention's gaps above the cold prefix included). */
  hotEvents: number;
  /** Events in the sample (the newest hot ones). */
  sampled: number;
  /** Bytes of the sampled events' text columns (their stored lengths). */
  sampledTextBytes: number;
  /** Deliveries rows and delivery attempts of the sampled events. */
  sampledDeliveries: number;
  sampledAttempts: number;
}

const TEXT_COLUMNS = ['author_name', 'entity_path', 'entity_type', 'event_type', 'target_type', 'target_details', 'ip_address', 'details', 'created_at', 'scope_path', 'uuid'];

/** The hot window's figures: events above `lastColdId`, sampling at most `sample` of the newest (0: the id range only). */
export async function hotFigures(db: D1Database, lastColdId: number, sample: number): Promise<HotFigures> {
  const text = TEXT_COLUMNS.map((c) => `COALESCE(length(${c}), 0)`).join(' + ');
  const rangeStatement = db.prepare('SELECT (SELECT MAX(id) FROM audit_events) AS max_id, (SELECT MIN(id) FROM audit_events WHERE id > ?1) AS min_id').bind(lastColdId);
  if (sample === 0) {
    const r = (await rangeStatement.first<{ max_id: number | null; min_id: number | null }>())!;
    return { hotEvents: r.max_id === null || r.min_id === null ? 0 : r.max_id - r.min_id + 1, sampled: 0, sampledTextBytes: 0, sampledDeliveries: 0, sampledAttempts: 0 };
  }
  const [range, sampled] = await db.batch([
    rangeStatement,
    db
      .prepare(
        `SELECT COUNT(*) AS n, COALESCE(SUM(${text}), 0) AS bytes,
                COALESCE(SUM((SELECT COUNT(*) FROM deliveries d WHERE d.event_id = s.id)), 0) AS deliveries,
                COALESCE(SUM((SELECT COUNT(*) FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.event_id = s.id)), 0) AS attempts
         FROM (SELECT * FROM audit_events WHERE id > ?1 ORDER BY id DESC LIMIT ?2) s`,
      )
      .bind(lastColdId, sample),
  ]);
  const r = (range.results as { max_id: number | null; min_id: number | null }[])[0];
  const s = (sampled.results as { n: number; bytes: number; deliveries: number; attempts: number }[])[0];
  return {
    hotEvents: r.max_id === null || r.min_id === null ? 0 : r.max_id - r.min_id + 1,
    sampled: s.n,
    sampledTextBytes: s.bytes,
    sampledDeliveries: s.deliveries,
    sampledAttempts: s.attempts,
  };
}

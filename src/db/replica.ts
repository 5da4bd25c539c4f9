/**
 * Reads that may go to a D1 read replica (the Sessions API), for the hot download path.
 */

/**
 * Where a read goes: a replica through a D1 session (any replica will do), or the primary when
 * the caller knows a recent write may not have reached the replicas yet.
 */
export function replicaOrPrimary(db: D1Database, primaryNeeded: boolean): D1Database {
  if (primaryNeeded) return db;
  // A session offers the prepare/batch that the lookups use; its reads may go to a replica.
  return db.withSession('first-unconstrained') as unknown as D1Database;
}

/**
 * Read from a replica (or the primary when `primaryNeeded`); when the answer is one a lagging
 * replica could give wrongly (`askPrimary` says so), read it again from the primary.
 */
export async function readReplicaFirst<T>(
  db: D1Database,
  primaryNeeded: boolean,
  read: (reader: D1Database, onPrimary: boolean) => Promise<T>,
  askPrimary: (answer: T) => boolean,
): Promise<T> {
  const reader = replicaOrPrimary(db, primaryNeeded);
  const answer = await read(reader, reader === db);
  if (reader === db || !askPrimary(answer)) return answer;
  return read(db, true);
}

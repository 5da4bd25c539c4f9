-- Fewer index rows per delivery (issue 13: D1 write units are the cost of a delivery on the one
-- primary). Measured with D1's meta.rows_written: a deliveries row cost 5 rows to insert and 3 to
-- mark delivered, an attempt 5 rows to insert; after this migration 4, 2 and 4 (about 3 of the
-- ~12 rows a delivery wrote at 10 destinations per event).
--
-- deliveries_destination_created (destination_id, status, created_at) duplicated
-- deliveries_destination (destination_id, status, id) for every status; only "redeliver the failed
-- deliveries created since" reads by created_at, and only failed rows: a partial index holds those,
-- so a pending row that is delivered never enters it.
DROP INDEX deliveries_destination_created;
CREATE INDEX deliveries_failed_created ON deliveries(destination_id, created_at) WHERE status = 'failed';

-- delivery_attempts_created (created_at) served only the retention prune, which now walks
-- delivery_attempts_destination_created (destination_id, created_at) destination by destination
-- (src/db/deliveries.ts, pruneDeliveryAttempts).
DROP INDEX delivery_attempts_created;

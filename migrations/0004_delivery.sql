-- Delivery: attempts of the current run and when the next retry is due, for the delivery log.
-- run_attempts counts attempts since the delivery was (re)enqueued; a redelivery starts a new
-- run with the full retry schedule, while `attempts` keeps counting every attempt ever made.
ALTER TABLE deliveries ADD COLUMN run_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN next_retry_at TEXT;
-- Redeliver-failed-since and the log's newest-first listing of one destination.
CREATE INDEX deliveries_destination_created ON deliveries(destination_id, status, created_at);

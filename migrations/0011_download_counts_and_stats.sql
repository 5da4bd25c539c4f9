-- Issue 15: download counts, downloads over time, the instance's monthly figures and the
-- per-destination delivery chart. Every counter below is written in the SAME D1 transaction
-- that stores the download events it counts (the download buffer's flush,
-- src/db/download_counts.ts); nothing scans the audit log on read.

-- Tracked downloads of each release link (GitHub's download_count per release asset).
ALTER TABLE release_links ADD COLUMN download_count INTEGER NOT NULL DEFAULT 0;

-- Tracked downloads of each link per UTC day of the click: the release page's chart reads at
-- most 90 days of one release's links by primary key. Rows go with their link.
CREATE TABLE release_link_download_days (
  link_id INTEGER NOT NULL REFERENCES release_links(id) ON DELETE CASCADE,
  day TEXT NOT NULL,               -- YYYY-MM-DD (UTC)
  downloads INTEGER NOT NULL,
  PRIMARY KEY (link_id, day)
) WITHOUT ROWID;

-- Tracked downloads of the whole instance per UTC month (links deleted since included).
CREATE TABLE tracked_download_months (
  month TEXT PRIMARY KEY,          -- YYYY-MM (UTC)
  downloads INTEGER NOT NULL
) WITHOUT ROWID;

-- CSV exports of the audit log are audited (audit_events_exported): a partial index finds
-- them by time without touching any other event (and costs nothing on other events' writes).
CREATE INDEX audit_events_exported_created ON audit_events(created_at) WHERE event_type = 'audit_events_exported';

-- The counts of the downloads stored before this migration, from the audit log (once).
UPDATE release_links SET download_count = (
  SELECT COUNT(*) FROM audit_events e
  WHERE e.event_type = 'release_external_artifact_download' AND e.target_type = 'Releases::Link' AND e.target_id = release_links.id);
INSERT INTO release_link_download_days (link_id, day, downloads)
  SELECT e.target_id, substr(e.created_at, 1, 10), COUNT(*) FROM audit_events e JOIN release_links l ON l.id = e.target_id
  WHERE e.event_type = 'release_external_artifact_download' AND e.target_type = 'Releases::Link'
  GROUP BY e.target_id, substr(e.created_at, 1, 10);
INSERT INTO tracked_download_months (month, downloads)
  SELECT substr(created_at, 1, 7), COUNT(*) FROM audit_events
  WHERE event_type = 'release_external_artifact_download' AND target_type = 'Releases::Link'
  GROUP BY substr(created_at, 1, 7);

-- Delivery attempts name their destination, so a destination's chart reads only its own
-- attempts of the last hours (index range), not every destination's.
ALTER TABLE delivery_attempts ADD COLUMN destination_id INTEGER;
UPDATE delivery_attempts SET destination_id = (SELECT d.destination_id FROM deliveries d WHERE d.id = delivery_attempts.delivery_id);
CREATE INDEX delivery_attempts_destination_created ON delivery_attempts(destination_id, created_at);

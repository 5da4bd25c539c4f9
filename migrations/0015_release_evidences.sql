-- Release evidence (issue 18 section 5, GitLab's Releases evidence): a JSON document of a
-- release, the ids of its audit events and their inclusion proofs at a signed checkpoint. The
-- exact text hashed is stored (sha = hex SHA-256 of its UTF-8 bytes); the
-- `release_evidence_collected` event recorded in the same transaction carries the sha, so the log
-- commits to the evidence. Evidence outlives its release (GitLab deletes it with the release;
-- here it is part of the record, append-only like the events).
CREATE TABLE release_evidences (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  release_id INTEGER NOT NULL,
  project_id INTEGER NOT NULL,
  sha TEXT NOT NULL,
  tree_size INTEGER NOT NULL,
  -- 'scheduled' (the cron, at the first checkpoint covering the release's creation) or 'request'
  -- (POST .../evidence, at the latest checkpoint).
  collected_by TEXT NOT NULL CHECK (collected_by IN ('scheduled', 'request')),
  evidence TEXT NOT NULL,
  collected_at TEXT NOT NULL
);
CREATE INDEX release_evidences_release ON release_evidences(release_id, id);
-- The cron collects a release's evidence once, however many runs race for it.
CREATE UNIQUE INDEX release_evidences_scheduled_once ON release_evidences(release_id) WHERE collected_by = 'scheduled';

-- A release's events (its creation, the changes of it and its links) by project and type, so
-- that finding them does not scan the project's download events.
CREATE INDEX audit_events_project_type ON audit_events(project_id, event_type, id);

CREATE TRIGGER release_evidences_reject_update
BEFORE UPDATE ON release_evidences
BEGIN
  SELECT RAISE(ABORT, 'release evidences are append-only');
END;

CREATE TRIGGER release_evidences_reject_delete
BEFORE DELETE ON release_evidences
BEGIN
  SELECT RAISE(ABORT, 'release evidences are append-only');
END;

-- Events buffered by the download redirect (src/downloads/buffer.ts) carry an id the Worker gave
-- them (a UUIDv7) before they reach D1. A flush may be repeated after a crash between D1's
-- commit and the buffer's delete: INSERT OR IGNORE on this unique column keeps it exactly once.
-- Events written straight to D1 have none (NULL; SQLite's unique index allows many NULLs).
ALTER TABLE audit_events ADD COLUMN uuid TEXT;
CREATE UNIQUE INDEX audit_events_uuid ON audit_events(uuid);

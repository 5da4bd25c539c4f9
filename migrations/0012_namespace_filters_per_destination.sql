-- GitLab 18's consolidated streaming API: up to 5 namespace filters per destination (the legacy
-- API's single filter is the first of them). The table loses UNIQUE(destination_id) and the
-- instance-wide UNIQUE(namespace_kind, namespace_id) of 0003; a namespace is filtered at most once
-- per destination. The legacy API keeps its own rules (one filter per destination, one destination
-- per namespace) in its conditional insert. Ids are kept, so legacy and new GIDs stay valid.
CREATE TABLE streaming_namespace_filters_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  destination_id INTEGER NOT NULL REFERENCES streaming_destinations(id) ON DELETE CASCADE,
  namespace_kind TEXT NOT NULL CHECK (namespace_kind IN ('group', 'project')),
  namespace_id INTEGER NOT NULL,   -- namespaces.id or projects.id by namespace_kind
  scope_path TEXT NOT NULL,        -- prefix matched against audit_events.scope_path
  created_at TEXT NOT NULL,
  UNIQUE (destination_id, namespace_kind, namespace_id)
);
INSERT INTO streaming_namespace_filters_new (id, destination_id, namespace_kind, namespace_id, scope_path, created_at)
  SELECT id, destination_id, namespace_kind, namespace_id, scope_path, created_at FROM streaming_namespace_filters;
DROP TABLE streaming_namespace_filters;
ALTER TABLE streaming_namespace_filters_new RENAME TO streaming_namespace_filters;
CREATE INDEX streaming_namespace_filters_namespace ON streaming_namespace_filters(namespace_kind, namespace_id);

-- Cloud destinations (aws, gcp) have no URL (their config names the bucket or log): the URL is
-- unique among a group's (or the instance's) http destinations only.
DROP INDEX streaming_destinations_unique_url;
CREATE UNIQUE INDEX streaming_destinations_unique_url ON streaming_destinations(scope, IFNULL(namespace_id, 0), destination_url) WHERE category = 'http';

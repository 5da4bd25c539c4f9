-- Foundation schema. Every table of the service is declared here so that the capabilities
-- (destinations, delivery, releases, audit log) build against one model. Timestamps are
-- ISO 8601 UTC strings with milliseconds ("2026-11-21T05:38:36.123Z").

-- Users and personal access tokens ---------------------------------------------------------
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'blocked')),
  is_admin INTEGER NOT NULL DEFAULT 0,
  namespace_id INTEGER,
  created_at TEXT NOT NULL
);

CREATE TABLE personal_access_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  token_digest TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,            -- JSON array: ["api"], ["read_api"], ...
  expires_at TEXT,                 -- YYYY-MM-DD; the token is invalid from that day on
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  last_used_at TEXT
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens(user_id, id);

-- Namespaces: groups (nested by parent_id) and users' personal namespaces -----------------
-- traversal_path lists the ids from the top-level namespace down to this one, each followed
-- by '/': '1/5/9/'. "At or below X" is a prefix match on it, served by an index range.
CREATE TABLE namespaces (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('group', 'user')),
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  full_path TEXT NOT NULL UNIQUE COLLATE NOCASE,
  parent_id INTEGER REFERENCES namespaces(id),
  root_id INTEGER NOT NULL,        -- the top-level namespace (itself when top-level)
  traversal_path TEXT NOT NULL,
  owner_id INTEGER REFERENCES users(id),  -- the user of a personal namespace
  description TEXT NOT NULL DEFAULT '',
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'internal', 'public')),
  created_at TEXT NOT NULL
);
CREATE INDEX namespaces_parent ON namespaces(parent_id, id);
CREATE INDEX namespaces_traversal ON namespaces(traversal_path);

CREATE TABLE projects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES namespaces(id),
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  full_path TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT '',
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'internal', 'public')),
  creator_id INTEGER REFERENCES users(id),
  created_at TEXT NOT NULL
);
CREATE INDEX projects_namespace ON projects(namespace_id, id);

-- Memberships: source_type 'Namespace' (a group) or 'Project' ------------------------------
CREATE TABLE members (
  source_type TEXT NOT NULL CHECK (source_type IN ('Namespace', 'Project')),
  source_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users(id),
  access_level INTEGER NOT NULL CHECK (access_level IN (10, 20, 30, 40, 50)),
  expires_at TEXT,
  created_by INTEGER,
  created_at TEXT NOT NULL,
  PRIMARY KEY (source_type, source_id, user_id)
);
CREATE INDEX members_user ON members(user_id, source_type, source_id);

-- Audit events: append-only --------------------------------------------------------------
-- root_namespace_id: the top-level group of the entity (NULL for instance-level events and
-- user namespaces' projects get their user namespace's id). scope_path: the entity's place
-- in the hierarchy, '1/5/' for group 5 under group 1, '1/5/p12/' for project 12 in it, used
-- for group listings (subgroups and projects included) and namespace filters.
CREATE TABLE audit_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  author_id INTEGER NOT NULL,
  author_name TEXT NOT NULL,
  entity_id INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  entity_path TEXT,
  event_type TEXT NOT NULL,
  target_id INTEGER,
  target_type TEXT,
  target_details TEXT,
  ip_address TEXT,
  details TEXT NOT NULL DEFAULT '{}',  -- JSON object
  created_at TEXT NOT NULL,
  root_namespace_id INTEGER,
  scope_path TEXT,
  project_id INTEGER
);
CREATE INDEX audit_events_root ON audit_events(root_namespace_id, id);
CREATE INDEX audit_events_scope ON audit_events(scope_path, id);
CREATE INDEX audit_events_entity ON audit_events(entity_type, entity_id, id);
CREATE INDEX audit_events_project ON audit_events(project_id, id);
CREATE INDEX audit_events_created ON audit_events(created_at);

-- Outbox: events whose deliveries have not been enqueued yet. Written in the same transaction
-- as the event; removed once its queue messages are sent. The scheduled sweep re-sends what
-- stays here, so an event accepted is never lost between D1 and the queue.
CREATE TABLE audit_event_outbox (
  event_id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);

-- Streaming destinations: scope 'group' (namespace_id = a top-level group) or 'instance' ---
CREATE TABLE streaming_destinations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL CHECK (scope IN ('group', 'instance')),
  namespace_id INTEGER REFERENCES namespaces(id),
  name TEXT NOT NULL,
  destination_url TEXT NOT NULL,
  verification_token TEXT NOT NULL,
  signing_secret TEXT NOT NULL,             -- whsec_...
  previous_signing_secret TEXT,             -- still signs until previous_secret_expires_at
  previous_secret_expires_at TEXT,
  active INTEGER NOT NULL DEFAULT 1,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,  -- circuit breaker
  breaker_open_until TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX streaming_destinations_scope ON streaming_destinations(scope, namespace_id, id);

CREATE TABLE streaming_headers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  destination_id INTEGER NOT NULL REFERENCES streaming_destinations(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  UNIQUE (destination_id, key COLLATE NOCASE)
);

CREATE TABLE streaming_event_type_filters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  destination_id INTEGER NOT NULL REFERENCES streaming_destinations(id) ON DELETE CASCADE,
  audit_event_type TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (destination_id, audit_event_type)
);

-- At most one namespace filter per destination: a subgroup ('group') or a project ('project').
CREATE TABLE streaming_namespace_filters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  destination_id INTEGER NOT NULL UNIQUE REFERENCES streaming_destinations(id) ON DELETE CASCADE,
  namespace_kind TEXT NOT NULL CHECK (namespace_kind IN ('group', 'project')),
  namespace_id INTEGER NOT NULL,   -- namespaces.id or projects.id by namespace_kind
  scope_path TEXT NOT NULL,        -- prefix matched against audit_events.scope_path
  created_at TEXT NOT NULL
);

-- Delivery log: one row per (event, destination); attempts below it --------------------------
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id INTEGER NOT NULL,
  destination_id INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_http_status INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  delivered_at TEXT,
  UNIQUE (event_id, destination_id)
);
CREATE INDEX deliveries_destination ON deliveries(destination_id, status, id);

CREATE TABLE delivery_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
  http_status INTEGER,
  duration_ms INTEGER NOT NULL,
  error_class TEXT,
  response_excerpt TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, id);
CREATE INDEX delivery_attempts_created ON delivery_attempts(created_at);

-- Releases and their asset links -------------------------------------------------------------
CREATE TABLE releases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  tag_name TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  author_id INTEGER,
  released_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (project_id, tag_name)
);
CREATE INDEX releases_project_released ON releases(project_id, released_at);

CREATE TABLE release_links (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  filepath TEXT,                   -- direct_asset_path, stored with its leading '/'
  link_type TEXT NOT NULL DEFAULT 'other' CHECK (link_type IN ('other', 'runbook', 'package', 'image')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (release_id, name),
  UNIQUE (release_id, url),
  UNIQUE (release_id, filepath)
);

-- The instance administrator: root, user id 1. ADMIN_TOKEN authenticates as this user.
INSERT INTO users (id, username, name, email, state, is_admin, namespace_id, created_at)
  VALUES (1, 'root', 'Administrator', 'admin@example.com', 'active', 1, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
INSERT INTO namespaces (id, kind, name, path, full_path, parent_id, root_id, traversal_path, owner_id, visibility, created_at)
  VALUES (1, 'user', 'Administrator', 'root', 'root', NULL, 1, '1/', 1, 'public', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- Streaming destinations: GitLab's uniqueness rules per group (or the instance) as indexes, so
-- concurrent creates cannot both win ("Destination url has already been taken", ...), and one
-- namespace filter per namespace (GitLab: "Namespace has already been taken").
CREATE UNIQUE INDEX streaming_destinations_unique_url ON streaming_destinations(scope, IFNULL(namespace_id, 0), destination_url);
CREATE UNIQUE INDEX streaming_destinations_unique_name ON streaming_destinations(scope, IFNULL(namespace_id, 0), name);
CREATE UNIQUE INDEX streaming_destinations_unique_token ON streaming_destinations(scope, IFNULL(namespace_id, 0), verification_token);
CREATE UNIQUE INDEX streaming_namespace_filters_unique_namespace ON streaming_namespace_filters(namespace_kind, namespace_id);

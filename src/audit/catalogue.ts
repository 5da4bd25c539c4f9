/**
 * The audit event type catalogue, in the structure of GitLab's `ee/config/audit_events/types/*.yml`:
 * every type this service emits and every type named in GitLab's streaming documentation.
 * Event type filters validate against it. Ingested events may carry other types; those are
 * stored and streamed but cannot be used in filters.
 */
export interface AuditEventTypeDefinition {
  name: string;
  description: string;
  feature_category: string;
  /** Stored in the audit_events table (every type here is). */
  saved_to_database: boolean;
  /** Sent to streaming destinations. */
  streamed: boolean;
  /** Where the event can occur. */
  scope: Array<'Instance' | 'Group' | 'Project' | 'User'>;
  /** True when this service records it itself; false when it only arrives through ingest. */
  emitted: boolean;
}

const def = (
  name: string,
  description: string,
  feature_category: string,
  scope: AuditEventTypeDefinition['scope'],
  emitted: boolean,
): AuditEventTypeDefinition => ({ name, description, feature_category, saved_to_database: true, streamed: true, scope, emitted });

export const AUDIT_EVENT_TYPES: readonly AuditEventTypeDefinition[] = [
  // Named in GitLab's audit event streaming documentation (arrive through ingest).
  def('repository_git_operation', 'Git push, pull or clone of a project repository, over SSH, HTTP(S) or the download button', 'source_code_management', ['Project'], false),
  def('audit_operation', 'A generic audited operation, such as approving a merge request or invalid approver rules', 'audit_events', ['Project', 'Group'], false),
  def('merge_request_create', 'A merge request was created', 'code_review_workflow', ['Project'], false),
  def('project_fork_operation', 'A project was forked', 'source_code_management', ['Project'], false),
  def('project_group_link_create', 'A project was shared with a group', 'groups_and_projects', ['Project'], false),
  def('project_group_link_update', 'The access of a group a project is shared with was changed', 'groups_and_projects', ['Project'], false),
  def('project_group_link_destroy', 'A group a project was shared with was removed', 'groups_and_projects', ['Project'], false),
  // Streaming destinations (GitLab's names).
  def('create_event_streaming_destination', 'An audit event streaming destination was created', 'audit_events', ['Group'], true),
  def('update_event_streaming_destination', 'An audit event streaming destination was updated', 'audit_events', ['Group'], true),
  def('destroy_event_streaming_destination', 'An audit event streaming destination was deleted', 'audit_events', ['Group'], true),
  def('create_instance_event_streaming_destination', 'An instance audit event streaming destination was created', 'audit_events', ['Instance'], true),
  def('update_instance_event_streaming_destination', 'An instance audit event streaming destination was updated', 'audit_events', ['Instance'], true),
  def('destroy_instance_event_streaming_destination', 'An instance audit event streaming destination was deleted', 'audit_events', ['Instance'], true),
  def('audit_events_streaming_headers_create', 'A custom HTTP header was added to a streaming destination', 'audit_events', ['Group'], true),
  def('audit_events_streaming_headers_update', 'A custom HTTP header of a streaming destination was updated', 'audit_events', ['Group'], true),
  def('audit_events_streaming_headers_destroy', 'A custom HTTP header was removed from a streaming destination', 'audit_events', ['Group'], true),
  def('audit_events_streaming_instance_headers_create', 'A custom HTTP header was added to an instance streaming destination', 'audit_events', ['Instance'], true),
  def('audit_events_streaming_instance_headers_update', 'A custom HTTP header of an instance streaming destination was updated', 'audit_events', ['Instance'], true),
  def('audit_events_streaming_instance_headers_destroy', 'A custom HTTP header was removed from an instance streaming destination', 'audit_events', ['Instance'], true),
  def('created_group_audit_event_streaming_destination', 'A group audit event streaming destination was created (consolidated API)', 'audit_events', ['Group'], true),
  def('updated_group_audit_event_streaming_destination', 'A group audit event streaming destination was updated (consolidated API)', 'audit_events', ['Group'], true),
  def('deleted_group_audit_event_streaming_destination', 'A group audit event streaming destination was deleted (consolidated API)', 'audit_events', ['Group'], true),
  def('created_instance_audit_event_streaming_destination', 'An instance audit event streaming destination was created (consolidated API)', 'audit_events', ['Instance'], true),
  def('updated_instance_audit_event_streaming_destination', 'An instance audit event streaming destination was updated (consolidated API)', 'audit_events', ['Instance'], true),
  def('deleted_instance_audit_event_streaming_destination', 'An instance audit event streaming destination was deleted (consolidated API)', 'audit_events', ['Instance'], true),
  def('event_type_filters_created', 'Event type filters were added to a streaming destination', 'audit_events', ['Group', 'Instance'], true),
  def('event_type_filters_deleted', 'Event type filters were removed from a streaming destination', 'audit_events', ['Group', 'Instance'], true),
  def('created_namespace_filter', 'A namespace filter was added to a streaming destination', 'audit_events', ['Group', 'Instance'], true),
  def('deleted_namespace_filter', 'A namespace filter was removed from a streaming destination', 'audit_events', ['Group', 'Instance'], true),
  def('streaming_destination_signing_secret_rotated', 'The signing secret of a streaming destination was rotated (ours)', 'audit_events', ['Group', 'Instance'], true),
  def('audit_events_exported', 'The audit log was downloaded as CSV or as the JSON export (ours)', 'audit_events', ['Instance', 'Group', 'Project'], true),
  def('audit_events_retention_applied', 'Audit events past the retention period were removed (ours)', 'audit_events', ['Instance'], true),
  def('audit_events_archived', 'Audit events older than the hot window moved from D1 to the cold archive in R2, with the SHA-256 of the objects written (ours)', 'audit_events', ['Instance'], true),
  def('audit_archive_segment_sealed', 'A segment of the cold archive was sealed: its chunk rows, counts and tree nodes left D1 for one index object in R2, with its SHA-256 (ours)', 'audit_events', ['Instance'], true),
  def('audit_archive_page_sealed', 'A page of the cold archive was sealed: 1,024 sealed units (segments or pages) left D1 for one index object in R2, with its SHA-256 (ours)', 'audit_events', ['Instance'], true),
  def('audit_archive_page_unsealed', "A page of the cold archive was unsealed for retention: its units' rows, counts and tree nodes came back to D1 from its index (ours)", 'audit_events', ['Instance'], true),
  // The verifiable audit log (ours, issue 18).
  def('audit_log_checkpoint_issued', 'A signed checkpoint of the audit log was issued; details carry the signed note', 'audit_events', ['Instance'], true),
  def('audit_log_integrity_failure', 'The audit log integrity check found stored events or tree nodes that no longer match a signed checkpoint', 'audit_events', ['Instance'], true),
  def('audit_log_integrity_acknowledged', 'An administrator acknowledged an audit log integrity failure; checkpoints resume', 'audit_events', ['Instance'], true),
  // Releases (the first seed).
  def('release_created', 'A release was created', 'release_orchestration', ['Project'], true),
  def('release_updated', 'A release was updated; details list each changed field with from and to', 'release_orchestration', ['Project'], true),
  def('release_deleted_audit_event', 'A release was deleted', 'release_orchestration', ['Project'], true),
  def('release_asset_link_created', 'An asset link was added to a release', 'release_orchestration', ['Project'], true),
  def('release_asset_link_updated', 'An asset link of a release was updated', 'release_orchestration', ['Project'], true),
  def('release_asset_link_deleted', 'An asset link was removed from a release', 'release_orchestration', ['Project'], true),
  def('release_evidence_collected', 'Evidence of a release was collected (ours: GitLab records none); details carry its SHA-256 and the checkpoint tree size', 'release_orchestration', ['Project'], true),
  def('release_external_artifact_download', 'Repository External Resource Download Started: an asset link was followed through the tracked download URL', 'release_orchestration', ['Project'], true),
  // Identity and membership.
  def('user_created', 'A user was created', 'user_management', ['Instance'], true),
  def('personal_access_token_created', 'A personal access token was created', 'system_access', ['User'], true),
  def('personal_access_token_revoked', 'A personal access token was revoked', 'system_access', ['User'], true),
  def('group_created', 'A group was created', 'groups_and_projects', ['Group'], true),
  def('project_created', 'A project was created', 'groups_and_projects', ['Project'], true),
  def('member_created', 'A member was added to a group or project', 'groups_and_projects', ['Group', 'Project'], true),
  def('member_updated', 'A member\'s access level or expiry was changed', 'groups_and_projects', ['Group', 'Project'], true),
  def('member_destroyed', 'A member was removed from a group or project', 'groups_and_projects', ['Group', 'Project'], true),
];

const BY_NAME = new Map(AUDIT_EVENT_TYPES.map((t) => [t.name, t]));

/** The definition of a catalogued event type, or undefined. */
export function auditEventType(name: string): AuditEventTypeDefinition | undefined {
  return BY_NAME.get(name);
}

/** Whether a type is in the catalogue (and so may be used in an event type filter). */
export function isKnownAuditEventType(name: string): boolean {
  return BY_NAME.has(name);
}

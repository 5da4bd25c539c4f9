/** The shapes of the API objects the pages read (the fields they use, as the REST and GraphQL APIs name them). */

export interface User {
  id: number;
  username: string;
  name: string;
  is_admin?: boolean;
  web_url?: string;
  avatar_url?: string | null;
}

export interface Group {
  id: number;
  name: string;
  path: string;
  full_path: string;
  full_name?: string;
  description?: string;
  visibility: string;
  web_url: string;
  parent_id: number | null;
}

export interface Project {
  id: number;
  name: string;
  path: string;
  path_with_namespace: string;
  description?: string | null;
  visibility: string;
  web_url: string;
  namespace: { id: number; kind: string; full_path: string; name: string; web_url: string };
  permissions?: { project_access: { access_level: number } | null; group_access: { access_level: number } | null };
}

export interface ReleaseLink {
  id: number;
  name: string;
  url: string;
  direct_asset_url: string;
  link_type: string;
  download_count?: number;
}

export interface Release {
  tag_name: string;
  name: string | null;
  description: string | null;
  released_at: string | null;
  created_at: string;
  author: User | null;
  assets: { count: number; links: ReleaseLink[] };
  evidences?: ReleaseEvidence[];
  _links: { self: string; edit_url: string };
}

/** GitLab's Releases::Evidence entity: the JSON's SHA-256, its URL, when it was collected. */
export interface ReleaseEvidence {
  sha: string;
  filepath: string;
  collected_at: string;
}

export interface AuditEvent {
  id: number;
  author_id?: number;
  author_name?: string;
  entity_id?: number;
  entity_type?: string;
  entity_path?: string;
  event_type?: string;
  target_id?: number | string;
  target_type?: string;
  target_details?: string;
  created_at: string;
  details?: Record<string, unknown>;
}

export interface StreamingHeader {
  id: string;
  key: string;
  value: string;
  active: boolean;
}

export interface Destination {
  id: string;
  name: string;
  destinationUrl: string;
  verificationToken: string;
  signingSecret?: string;
  active: boolean;
  eventTypeFilters: string[];
  headers: { nodes: StreamingHeader[] };
}

export interface Delivery {
  id: string;
  eventId: number;
  eventType: string | null;
  status: string;
  attemptsCount: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  updatedAt: string | null;
}

/** Whose audit log or streams a tab shows. */
export type Scope = { kind: 'group'; path: string } | { kind: 'project'; path: string } | { kind: 'instance' };

/** A destination's category in GitLab 18's consolidated API. */
export type DestinationCategory = 'http' | 'aws' | 'gcp';

/** A destination's delivery health (ours; not in GitLab). */
export interface DestinationHealth {
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastFailureReason: string | null;
  consecutiveFailures: number;
  breakerOpenUntil: string | null;
  pending: number;
  deadLettered: number;
}

/** A destination of any category, as the consolidated API lists it. */
export interface StreamingDestination {
  id: string;
  name: string;
  category: DestinationCategory;
  config: Record<string, unknown>;
  secretToken: string;
  active: boolean;
  eventTypeFilters: string[];
  namespaceFilters: Array<{ id: string; namespace: { fullPath: string } }> | null;
  health: DestinationHealth;
}

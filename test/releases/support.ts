/** Helpers for the release tests: a project with members at each access level, and audit event reads. */
import { env } from 'cloudflare:workers';
import { addMember, api, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { flushDownloadBuffers } from '../support/downloads';

export interface ReleaseWorld {
  group: { id: number; full_path: string };
  project: { id: number; path_with_namespace: string };
  guest: TestUser;
  reporter: TestUser;
  developer: TestUser;
  maintainer: TestUser;
  outsider: TestUser;
}

/** A top-level group and a project in it (visibility as given), with one member per access level on the project. */
export async function releaseWorld(visibility: 'private' | 'internal' | 'public' = 'private'): Promise<ReleaseWorld> {
  const group = await createGroup({ visibility });
  const project = await createProject(group.id, { visibility });
  const [guest, reporter, developer, maintainer, outsider] = await Promise.all([createUser(), createUser(), createUser(), createUser(), createUser()]);
  await addMember('projects', project.id, guest.id, 10);
  await addMember('projects', project.id, reporter.id, 20);
  await addMember('projects', project.id, developer.id, 30);
  await addMember('projects', project.id, maintainer.id, 40);
  return { group, project, guest, reporter, developer, maintainer, outsider };
}

/** REST path of a project's releases. */
export function releasesPath(projectId: number, tag?: string): string {
  return `/api/v4/projects/${projectId}/releases${tag !== undefined ? `/${encodeURIComponent(tag)}` : ''}`;
}

/** Create a release through REST as `token` (must succeed). */
export async function createRelease(projectId: number, token: string, body: Record<string, unknown>) {
  const r = await api('POST', releasesPath(projectId), { token, body });
  if (r.status !== 201) throw new Error(`createRelease: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface EventRow {
  id: number;
  author_id: number;
  author_name: string;
  entity_id: number;
  entity_type: string;
  entity_path: string;
  event_type: string;
  target_id: number | null;
  target_type: string | null;
  target_details: string | null;
  ip_address: string | null;
  details: Record<string, any>;
  created_at: string;
}

/** The audit events of a project of a type, oldest first (buffered downloads flushed first). */
export async function projectEvents(projectId: number, eventType: string): Promise<EventRow[]> {
  await flushDownloadBuffers();
  const rows = await env.DB
    .prepare(`SELECT * FROM audit_events WHERE project_id = ?1 AND event_type = ?2 ORDER BY id`)
    .bind(projectId, eventType)
    .all<Omit<EventRow, 'details'> & { details: string }>();
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }));
}

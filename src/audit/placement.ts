/**
 * Where an event belongs (root_namespace_id, scope_path, project_id: who may read it and which
 * destinations receive it) is not part of its streaming payload, so its leaf does not commit to
 * it. Every writer derives these columns from the event's entity (groupEntity, projectEntity,
 * userEntity, instanceEntity in src/audit/record.ts), and groups and projects do not move, so the
 * integrity check re-derives them from the entity (whose type and id the leaf does commit to) and
 * compares: an event moved to another group's log is found too. An entity that no longer exists
 * cannot be re-derived and is not checked.
 */
import { findNamespacesByIds } from '../db/namespaces';
import { findProjectsByIds } from '../db/projects';
import { groupEntity, instanceEntity, projectEntity, userEntity, type AuditEntity, type AuditEvent } from './record';

/** The first event whose stored placement is not what its entity gives, with the column, or null. */
export async function misplacedEvent(db: D1Database, events: AuditEvent[]): Promise<string | null> {
  const ids = (type: string) => [...new Set(events.filter((e) => e.entityType === type).map((e) => e.entityId))];
  const [projects, groups] = await Promise.all([findProjectsByIds(db, ids('Project')), findNamespacesByIds(db, ids('Group'))]);
  for (const e of events) {
    let expected: AuditEntity | null = null;
    if (e.entityType === 'Project') {
      const p = projects.get(e.entityId);
      expected = p ? projectEntity(p) : null;
    } else if (e.entityType === 'Group') {
      const g = groups.get(e.entityId);
      expected = g && g.kind === 'group' ? groupEntity(g) : null;
    } else if (e.entityType === 'User') expected = userEntity({ id: e.entityId, username: '' });
    else if (e.entityType === instanceEntity().type) expected = instanceEntity();
    if (!expected) continue;
    const stored: [string, unknown, unknown][] = [
      ['root_namespace_id', e.rootNamespaceId, expected.rootNamespaceId],
      ['scope_path', e.scopePath, expected.scopePath],
      ['project_id', e.projectId, expected.projectId],
    ];
    const wrong = stored.find(([, got, want]) => got !== want);
    if (wrong) return `event ${e.id}'s ${wrong[0]} is not its entity's (${JSON.stringify(wrong[1])} instead of ${JSON.stringify(wrong[2])})`;
  }
  return null;
}

/**
 * The signed-in viewer's role on a group or project (GitLab's access levels), and buttons gated
 * by it: a button the viewer may not use is disabled, with the role it needs said next to it.
 */
import { signedInUser } from './account';
import { ApiFailure, rest } from './api';
import { enc, h, nextId, type Attrs } from './dom';

export const ROLE_NAMES: Record<number, string> = { 0: 'No access', 10: 'Guest', 20: 'Reporter', 30: 'Developer', 40: 'Maintainer', 50: 'Owner' };
export const Role = { Guest: 10, Reporter: 20, Developer: 30, Maintainer: 40, Owner: 50 } as const;

/** The viewer's effective level on a group or project: 0 signed out or not a member; Owner for administrators. */
export async function viewerLevel(kind: 'groups' | 'projects', idOrPath: number | string): Promise<number> {
  const user = signedInUser();
  if (!user) return 0;
  if (user.is_admin) return Role.Owner;
  try {
    const r = await rest<{ access_level: number }>(`/api/v4/${kind}/${enc(String(idOrPath))}/members/all/${user.id}`);
    return r.body.access_level;
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 404) return 0;
    throw e;
  }
}

/** "Needs the Developer role or higher (you are Guest)." */
export function roleHint(needed: number, level: number): string {
  return `Needs the ${ROLE_NAMES[needed]} role or higher (you ${level ? `are ${ROLE_NAMES[level]}` : 'are not a member'}).`;
}

/**
 * A button for an action that needs `needed`: enabled when the viewer's `level` allows it,
 * otherwise disabled and described by the role it needs. Returns the button and its container.
 */
export function gatedButton(label: string, needed: number, level: number, attrs: Attrs = {}): { button: HTMLButtonElement; el: HTMLElement } {
  const allowed = level >= needed;
  const hintId = nextId('role');
  const button = h('button', { type: 'button', ...attrs, disabled: !allowed, 'aria-describedby': allowed ? null : hintId }, [label]);
  const el = h('span', { class: 'gated' }, [button, allowed ? null : h('span', { class: 'hint', id: hintId, text: roleHint(needed, level) })]);
  return { button, el };
}

/**
 * Whether the viewer may read a project's releases (the API's read_release: Reporter, or anyone
 * the project's visibility lets in: public for all, internal for the signed-in).
 */
export function mayReadReleases(project: { visibility: string }, level: number): boolean {
  if (project.visibility === 'public' || (project.visibility === 'internal' && signedInUser())) return true;
  return level >= Role.Reporter;
}

/** The one sentence shown instead of a project's releases the viewer's role cannot read. */
export function releasesNeedRole(level: number): HTMLElement {
  return h('p', { class: 'notice', 'data-state': 'not-allowed', text: `Reading releases: ${roleHint(Role.Reporter, level)}` });
}

/**
 * The namespace filters of a destination form (GitLab 18: up to 5 per destination; a group's
 * filter matches its subgroups and projects, a project's only that project), saved through the
 * consolidated API's NamespaceFilterCreate/Delete on the destination's consolidated GID.
 */
import { mutate } from '../api';
import { h, nextId, region, say } from '../dom';
import type { StreamingDestination } from '../types';
import type { StreamsContext } from './context';

export const NAMESPACE_FILTER_LIMIT = 5;

export interface NamespaceFilterField {
  element: HTMLElement;
  err: HTMLElement;
  input: HTMLTextAreaElement;
  /** The paths asked for, or the error (shown in place) when there are too many. */
  check: () => boolean;
  /** Delete the filters no longer listed, create the new ones; returns the API's errors (also shown in place). */
  save: (ctx: StreamsContext, destinationId: string) => Promise<string[]>;
}

const pathsOf = (text: string) => [...new Set(text.split(/[\s,]+/).map((x) => x.trim().replace(/^\/+|\/+$/g, '')).filter(Boolean))];

export function namespaceFilterField(existing: StreamingDestination['namespaceFilters']): NamespaceFilterField {
  const id = nextId('ns-filters');
  const err = region('error');
  let current = (existing || []).map((f) => ({ id: f.id, path: f.namespace.fullPath }));
  const input = h('textarea', { id, rows: 2, spellcheck: 'false', 'aria-describedby': `${id}-hint ${err.id}` });
  input.value = current.map((f) => f.path).join('\n');
  const element = h('div', { class: 'field' }, [
    h('label', { for: id, text: 'Namespace filters (optional)' }),
    h('span', { class: 'hint', id: `${id}-hint`, text: `Full paths of subgroups or projects, one per line, at most ${NAMESPACE_FILTER_LIMIT}. A subgroup also matches its projects. None: every namespace.` }),
    input,
    err,
  ]);
  const check = () => {
    const n = pathsOf(input.value).length;
    if (n <= NAMESPACE_FILTER_LIMIT) return true;
    say(err, `At most ${NAMESPACE_FILTER_LIMIT} namespace filters per destination (${n} given).`);
    return false;
  };
  const save = async (ctx: StreamsContext, destinationId: string): Promise<string[]> => {
    const wanted = pathsOf(input.value);
    const errors: string[] = [];
    for (const f of current.filter((x) => !wanted.includes(x.path))) {
      const p = await mutate(ctx.cfg.cons.namespaceFilterDelete, { namespaceFilterId: f.id });
      if (p.errors.length) errors.push(...p.errors.map((m) => `${f.path}: ${m}`));
      else current = current.filter((x) => x !== f);
    }
    for (const path of wanted.filter((x) => !current.some((f) => f.path === x))) {
      const p = await mutate(ctx.cfg.cons.namespaceFilterCreate, { destinationId, namespacePath: path }, 'namespaceFilter { id }');
      const made = p.namespaceFilter as { id: string } | null | undefined;
      if (p.errors.length || !made) errors.push(...(p.errors.length ? p.errors : ['not created']).map((m) => `${path}: ${m}`));
      else current.push({ id: made.id, path });
    }
    if (errors.length) say(err, errors.join('; '));
    return errors;
  };
  return { element, err, input, check, save };
}

import { PublicError } from './errors';

/** Connection arguments (Relay), as GitLab accepts them. */
export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** GitLab's page size cap for connections. */
export const MAX_PAGE_SIZE = 100;

/** Opaque cursor for a record id (GitLab encodes `{"id":"5"}` in base64). */
export function encodeCursor(id: number): string {
  return btoa(JSON.stringify({ id: String(id) }));
}

/** The id in a cursor; a bad cursor is a client error. */
export function decodeCursor(cursor: string): number {
  try {
    const v = JSON.parse(atob(cursor)) as { id?: unknown };
    const id = Number(v.id);
    if (Number.isSafeInteger(id)) return id;
  } catch {
    /* fall through */
  }
  throw new PublicError('Please provide a valid cursor');
}

/**
 * A Relay connection over items ordered by ascending `id`: `nodes`, `edges`, `pageInfo`,
 * `count`. Fine for small sets (a group's destinations); big lists page in SQL.
 */
export function connectionFromArray<T extends { id: number }>(items: T[], args: ConnectionArgs) {
  for (const k of ['first', 'last'] as const) {
    const n = args[k];
    if (n !== undefined && n !== null && (n < 0 || n > MAX_PAGE_SIZE)) {
      throw new PublicError(`Argument '${k}' must be between 0 and ${MAX_PAGE_SIZE}`);
    }
  }
  let slice = items;
  if (args.after) {
    const after = decodeCursor(args.after);
    slice = slice.filter((i) => i.id > after);
  }
  if (args.before) {
    const before = decodeCursor(args.before);
    slice = slice.filter((i) => i.id < before);
  }
  if (args.first !== undefined && args.first !== null) slice = slice.slice(0, args.first);
  if (args.last !== undefined && args.last !== null) slice = slice.slice(Math.max(0, slice.length - args.last));
  const firstIndex = slice.length ? items.indexOf(slice[0]) : -1;
  const lastIndex = slice.length ? items.indexOf(slice[slice.length - 1]) : -1;
  return {
    nodes: slice,
    edges: slice.map((node) => ({ cursor: encodeCursor(node.id), node })),
    count: items.length,
    pageInfo: {
      hasNextPage: lastIndex >= 0 && lastIndex < items.length - 1,
      hasPreviousPage: firstIndex > 0,
      startCursor: slice.length ? encodeCursor(slice[0].id) : null,
      endCursor: slice.length ? encodeCursor(slice[slice.length - 1].id) : null,
    },
  };
}

/** SDL of the connection types a module needs: `connectionTypes('Foo')` declares FooConnection and FooEdge. */
export function connectionTypes(node: string): string {
  return `
type ${node}Connection {
  "Total count of collection."
  count: Int!
  "A list of edges."
  edges: [${node}Edge]
  "A list of nodes."
  nodes: [${node}]
  "Information to aid in pagination."
  pageInfo: PageInfo!
}
type ${node}Edge {
  "A cursor for use in pagination."
  cursor: String!
  "The item at the end of the edge."
  node: ${node}
}`;
}

/**
 * GitLab global IDs: `gid://gitlab/<Model>/<id>`. IDs a client sends are parsed against the
 * model the argument expects; anything else is "not found" for the caller.
 */
const GID_RE = /^gid:\/\/gitlab\/([A-Za-z0-9:_]+)\/(\d{1,15})$/;

/** The GID of a record. */
export function toGid(model: string, id: number | string): string {
  return `gid://gitlab/${model}/${id}`;
}

/** The numeric id in a GID of the expected model, or null when the value is not one. */
export function parseGid(value: unknown, model: string): number | null {
  if (typeof value !== 'string') return null;
  const m = GID_RE.exec(value);
  if (!m || m[1] !== model) return null;
  const id = Number(m[2]);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

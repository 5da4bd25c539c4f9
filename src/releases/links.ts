/**
 * Asset link rules, as GitLab's Releases::Link model validates them: url present, an
 * http/https/ftp URL, unique per release; name present and unique per release; filepath
 * (`direct_asset_path`) optional, at most 128 characters, GitLab's FILEPATH_REGEX, unique per
 * release; link_type one of other, runbook, package, image.
 */

import { LINK_TYPES, type LinkType } from '../db/releases';

// The stored values of link_type are defined where the rows are (db/ imports nothing above it).
export { LINK_TYPES, type LinkType };

/** GitLab's Releases::Link::FILEPATH_REGEX (Ruby's \w is ASCII [A-Za-z0-9_]). */
export const FILEPATH_REGEX = /^\/(?:[-.A-Za-z0-9_]+\/?)*[0-9a-zA-Z]+$/;
/** GitLab's `length: { maximum: 128 }` on filepath. */
export const FILEPATH_MAX = 128;
/** Limits GitLab leaves to the database; ours keep rows and audit payloads bounded. */
export const NAME_MAX = 255;
export const URL_MAX = 2048;
const ALLOWED_SCHEMES = ['http:', 'https:', 'ftp:'];
const URL_BLOCKED = 'is blocked: Only allowed schemes are http, https, ftp';

/** The attributes of a link (after defaults). */
export interface LinkAttributes {
  name: string;
  url: string;
  /** Stored with its leading '/', or null. */
  filepath: string | null;
  linkType: LinkType;
}

/** One failed rule: the attribute and GitLab's message ("has already been taken"). */
export interface LinkError {
  field: 'name' | 'url' | 'filepath' | 'link_type';
  message: string;
}

const FIELD_LABEL: Record<LinkError['field'], string> = { name: 'Name', url: 'Url', filepath: 'Filepath', link_type: 'Link type' };

/** GitLab's full message for an error ("Url has already been taken"). */
export function fullMessage(e: LinkError): string {
  return `${FIELD_LABEL[e.field]} ${e.message}`;
}

/** Errors grouped by attribute, GitLab's `errors.messages` shape for REST 400 answers. */
export function errorMessages(errors: LinkError[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) (out[e.field] ??= []).push(e.message);
  return out;
}

/**
 * A filepath as stored: with its leading '/'. An empty or blank value means "no filepath"
 * (GitLab's `allow_blank: true`).
 */
export function normalizeFilepath(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  return raw.startsWith('/') ? raw : `/${raw}`;
}

/**
 * The errors of a link's own attributes (not uniqueness). Stricter than GitLab in one point:
 * '.' and '..' segments are refused, because browsers and the URL parser resolve them, so such a
 * filepath could never be reached through the download route (and must never mean traversal).
 */
export function validateLinkAttributes(attrs: LinkAttributes): LinkError[] {
  const errors: LinkError[] = [];
  if (attrs.url.trim() === '') errors.push({ field: 'url', message: "can't be blank" });
  else if ([...attrs.url].length > URL_MAX) errors.push({ field: 'url', message: `is too long (maximum is ${URL_MAX} characters)` });
  else if (!allowedUrl(attrs.url)) errors.push({ field: 'url', message: URL_BLOCKED });
  if (attrs.name.trim() === '') errors.push({ field: 'name', message: "can't be blank" });
  else if ([...attrs.name].length > NAME_MAX) errors.push({ field: 'name', message: `is too long (maximum is ${NAME_MAX} characters)` });
  if (attrs.filepath !== null) {
    if (attrs.filepath.length > FILEPATH_MAX) errors.push({ field: 'filepath', message: `is too long (maximum is ${FILEPATH_MAX} characters)` });
    else if (!FILEPATH_REGEX.test(attrs.filepath) || attrs.filepath.split('/').some((s) => s === '.' || s === '..')) {
      errors.push({ field: 'filepath', message: 'is invalid' });
    }
  }
  if (!(LINK_TYPES as readonly string[]).includes(attrs.linkType)) errors.push({ field: 'link_type', message: 'is not included in the list' });
  return errors;
}

/** Whether the URL parses and uses one of GitLab's allowed schemes (and has a host). */
function allowedUrl(raw: string): boolean {
  if (/[\u0000-\u001f\u007f]/.test(raw)) return false;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return false;
  }
  return ALLOWED_SCHEMES.includes(u.protocol) && u.hostname !== '';
}

/**
 * Uniqueness per release: url, name and filepath must differ from every other link of the
 * release (`others` excludes the link being updated).
 */
export function uniquenessErrors(attrs: LinkAttributes, others: readonly LinkAttributes[]): LinkError[] {
  const errors: LinkError[] = [];
  if (others.some((o) => o.url === attrs.url)) errors.push({ field: 'url', message: 'has already been taken' });
  if (others.some((o) => o.name === attrs.name)) errors.push({ field: 'name', message: 'has already been taken' });
  if (attrs.filepath !== null && others.some((o) => o.filepath === attrs.filepath)) {
    errors.push({ field: 'filepath', message: 'has already been taken' });
  }
  return errors;
}

/** The error a UNIQUE constraint failure stands for (a concurrent write won the race), or null. */
export function uniqueViolation(err: unknown): LinkError | null {
  const text = String(err instanceof Error ? err.message : err);
  if (!text.includes('UNIQUE constraint failed: release_links.')) return null;
  if (text.includes('release_links.url')) return { field: 'url', message: 'has already been taken' };
  if (text.includes('release_links.name')) return { field: 'name', message: 'has already been taken' };
  if (text.includes('release_links.filepath')) return { field: 'filepath', message: 'has already been taken' };
  return null;
}

import { ApiError, badRequest } from './errors';
import { MAX_BODY_BYTES, readBoundedBody } from './body';

export { MAX_BODY_BYTES } from './body';

/** Request parameters merged as Grape does: query string, then the body (JSON, form or multipart). */
export type Params = Record<string, unknown>;

/** Read the body as UTF-8 text, refusing with 413 bodies over `limit` bytes before reading past it (src/web/body.ts). */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const bytes = await readBoundedBody(request, limit);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8');
  }
}

/**
 * Merge query-string parameters and the body into one object. JSON bodies must be objects;
 * form and multipart bodies are read field by field (`scopes[]=api` becomes an array).
 */
export async function readParams(request: Request, limit = MAX_BODY_BYTES): Promise<Params> {
  const url = new URL(request.url);
  const params: Params = {};
  addSearchParams(params, url.searchParams);
  if (request.method === 'GET' || request.method === 'HEAD') return params;
  const type = (request.headers.get('Content-Type') ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    // Parsed from the bounded bytes (request.formData() would buffer any size first), with the
    // header as sent: the boundary is case-sensitive.
    const bytes = await readBoundedBody(request, limit);
    let form: FormData;
    try {
      form = await new Response(bytes, { headers: { 'Content-Type': request.headers.get('Content-Type') ?? type } }).formData();
    } catch {
      throw badRequest('The request body could not be parsed as multipart/form-data');
    }
    const sp = new URLSearchParams();
    for (const [k, v] of form.entries()) if (typeof v === 'string') sp.append(k, v);
    addSearchParams(params, sp);
    return params;
  }
  const text = await readBodyText(request, limit);
  if (text.trim() === '') return params;
  if (type.startsWith('application/x-www-form-urlencoded')) {
    addSearchParams(params, new URLSearchParams(text));
    return params;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object');
  }
  return Object.assign(params, body as Params);
}

function addSearchParams(params: Params, sp: URLSearchParams): void {
  for (const [rawKey, value] of sp) {
    const isArray = rawKey.endsWith('[]');
    const key = isArray ? rawKey.slice(0, -2) : rawKey;
    const prev = params[key];
    if (isArray) params[key] = Array.isArray(prev) ? [...prev, value] : prev === undefined ? [value] : [prev, value];
    else if (prev === undefined) params[key] = value;
    else params[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
}

/** Options shared by the string readers. */
interface StringOpts {
  max?: number;
  allowBlank?: boolean;
}

/** A required string parameter; Grape's "X is missing" / "X is empty" / "X is invalid". */
export function requireString(params: Params, key: string, opts: StringOpts = {}): string {
  const v = params[key];
  if (v === undefined || v === null) throw badRequest(`${key} is missing`);
  return checkString(key, v, opts);
}

/** An optional string parameter (undefined when absent). */
export function optionalString(params: Params, key: string, opts: StringOpts = {}): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (v === null) throw badRequest(`${key} is invalid`);
  return checkString(key, v, opts);
}

function checkString(key: string, v: unknown, opts: StringOpts): string {
  if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
  if (typeof v !== 'string') throw badRequest(`${key} is invalid`);
  if (!opts.allowBlank && v.trim() === '') throw badRequest(`${key} is empty`);
  if (opts.max !== undefined && [...v].length > opts.max) {
    throw new ApiError(400, { message: { [key]: [`is too long (maximum is ${opts.max} characters)`] } });
  }
  return v;
}

/** A positive integer parameter ("12" or 12); Grape's "X is invalid" otherwise. */
export function optionalInteger(params: Params, key: string): number | undefined {
  const v = params[key];
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`${key} is invalid`);
  return n;
}

/** A required integer parameter. */
export function requireInteger(params: Params, key: string): number {
  if (params[key] === undefined || params[key] === null) throw badRequest(`${key} is missing`);
  const n = optionalInteger(params, key);
  if (n === undefined) throw badRequest(`${key} is empty`);
  return n;
}

/** A boolean parameter: true/false, "true"/"false", "1"/"0". */
export function optionalBoolean(params: Params, key: string): boolean | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (v === true || v === 'true' || v === '1' || v === 1) return true;
  if (v === false || v === 'false' || v === '0' || v === 0) return false;
  throw badRequest(`${key} is invalid`);
}

/** A parameter that must be one of a fixed set of values ("X does not have a valid value"). */
export function optionalEnum<T extends string>(params: Params, key: string, values: readonly T[]): T | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw badRequest(`${key} does not have a valid value`);
  }
  return v as T;
}

/** A date parameter in YYYY-MM-DD form that is a real calendar date. */
export function optionalDate(params: Params, key: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !isCalendarDate(v)) throw badRequest(`${key} is invalid`);
  return v;
}

/** True for a real YYYY-MM-DD date. */
export function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** An ISO 8601 datetime parameter, answered as a normalized UTC string with milliseconds. */
export function optionalDateTime(params: Params, key: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null || v === '') return undefined;
  const iso = typeof v === 'string' ? parseIsoDateTime(v) : undefined;
  if (!iso) throw badRequest(`${key} is invalid`);
  return iso;
}

/** Parse an ISO 8601 date or datetime; undefined when it is not one. */
export function parseIsoDateTime(s: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s.trim())) return undefined;
  const d = new Date(s.trim().replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString();
}

/**
 * The `config` of a destination in GitLab 18's consolidated streaming API, validated per
 * category as GitLab's JSON schemas (audit_events_{http,aws,gcp}_external_streaming_destination_config)
 * and model do, with GitLab's error texts ("Config must be a valid json schema", ...). An http
 * config is the legacy API's URL and custom headers; aws and gcp configs are stored as JSON.
 */
import type { Env } from '../env';
import { destinationUrlError, guardPolicy } from '../delivery/ssrf';
import type { AwsConfig, DestinationCategory, GcpConfig } from '../db/destinations';
import { randomBase64 } from '../auth/crypto';
import { RESERVED_HEADER_KEYS } from './rules';

export const CATEGORIES: readonly DestinationCategory[] = ['http', 'aws', 'gcp'];

/** GitLab's protected header: the destination's secret token is sent in it. */
export const STREAMING_TOKEN_HEADER = 'X-Gitlab-Event-Streaming-Token';

/** An http destination's config as the consolidated API shows and takes it. */
export interface HttpConfig {
  url: string;
  headers?: Record<string, { value: string; active: boolean }>;
}

/** A validated config of one category. */
export type CategoryConfig = { category: 'http'; config: HttpConfig } | { category: 'aws'; config: AwsConfig } | { category: 'gcp'; config: GcpConfig };

export const CONFIG_LIMITS = { urlMax: 255, headersMax: 20, headerValueMax: 255, secretTokenMax: 4096, httpSecretMin: 16, httpSecretMax: 24 };

const INVALID = 'Config must be a valid json schema';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,255}$/;
// GitLab's schema: visible characters, inner spaces and tabs, or empty.
const HEADER_VALUE = /^[!-~\u00a1-\u00ff]([!-~\u00a1-\u00ff]| |\t)*[!-~\u00a1-\u00ff]$|^[!-~\u00a1-\u00ff]$|^$/;
const RESERVED = new Set(RESERVED_HEADER_KEYS.map((k) => k.toLowerCase()));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, keys: string[]) => Object.keys(o).every((k) => keys.includes(k));
const isString = (v: unknown, min: number, max: number, pattern?: RegExp): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max && (!pattern || pattern.test(v));

/** GitLab's answer to an unknown category (its enum refuses the value). */
export function categoryError(category: string): string | null {
  return (CATEGORIES as readonly string[]).includes(category) ? null : `'${category}' is not a valid category`;
}

/** The http config, or GitLab's errors. */
function httpConfig(config: Record<string, unknown>, env: Env): HttpConfig | string[] {
  if (!onlyKeys(config, ['url', 'headers']) || typeof config.url !== 'string' || config.url.length > CONFIG_LIMITS.urlMax || !/^https?:\/\/.+/.test(config.url)) return [INVALID];
  const blocked = destinationUrlError(config.url, guardPolicy(env));
  if (blocked) return [blocked.replace(/^Destination url/, 'Config url')];
  const raw = config.headers;
  // GitLab drops an empty headers object before validating.
  if (raw === undefined || raw === null || (isObject(raw) && Object.keys(raw).length === 0)) return { url: config.url };
  if (!isObject(raw) || Object.keys(raw).length > CONFIG_LIMITS.headersMax) return [INVALID];
  const headers: Record<string, { value: string; active: boolean }> = {};
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const [key, h] of Object.entries(raw)) {
    if (!HEADER_NAME.test(key) || !isObject(h) || !onlyKeys(h, ['value', 'active'])) return [INVALID];
    if (!isString(h.value, 0, CONFIG_LIMITS.headerValueMax, HEADER_VALUE) || (h.active !== undefined && typeof h.active !== 'boolean')) return [INVALID];
    if (RESERVED.has(key.toLowerCase())) errors.push(`Config headers cannot contain ${key.toLowerCase() === STREAMING_TOKEN_HEADER.toLowerCase() ? STREAMING_TOKEN_HEADER : key}`);
    // Header names are case-insensitive: two spellings of one name would be one header.
    else if (seen.has(key.toLowerCase())) return [INVALID];
    seen.add(key.toLowerCase());
    headers[key] = { value: h.value, active: h.active ?? true };
  }
  return errors.length ? errors : { url: config.url, headers };
}

/** The aws config (GitLab's Amazon S3 rules), or GitLab's error. */
function awsConfig(config: Record<string, unknown>): AwsConfig | string[] {
  const ok =
    onlyKeys(config, ['accessKeyXid', 'bucketName', 'awsRegion']) &&
    isString(config.accessKeyXid, 16, 128, /^[A-Za-z0-9]+$/) &&
    isString(config.bucketName, 3, 63, /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/) &&
    isString(config.awsRegion, 1, 50, /^[a-z0-9-]+$/);
  return ok ? { accessKeyXid: config.accessKeyXid as string, bucketName: config.bucketName as string, awsRegion: config.awsRegion as string } : [INVALID];
}

/** The gcp config (GitLab's Google Cloud Logging rules; `logIdName` defaults to audit-events), or GitLab's error. */
function gcpConfig(config: Record<string, unknown>): GcpConfig | string[] {
  const logIdName = config.logIdName === undefined || config.logIdName === null || config.logIdName === '' ? 'audit-events' : config.logIdName;
  const ok =
    onlyKeys(config, ['googleProjectIdName', 'clientEmail', 'logIdName']) &&
    isString(config.googleProjectIdName, 6, 30, /^[a-z][a-z0-9-]*[a-z0-9]$/) &&
    isString(config.clientEmail, 3, 254, /^[^@\s]+@[^@\s]+\.[^@\s]+$/) &&
    isString(logIdName, 1, 511, /^[\w/.-]+$/);
  return ok ? { googleProjectIdName: config.googleProjectIdName as string, clientEmail: config.clientEmail as string, logIdName: logIdName as string } : [INVALID];
}

/** A category's config, validated (GitLab's schema for the category), or the errors. */
export function validateConfig(category: DestinationCategory, config: unknown, env: Env): CategoryConfig | { errors: string[] } {
  if (!isObject(config)) return { errors: [config === null || config === undefined ? "Config can't be blank" : 'Config must be a hash'] };
  const valid = category === 'http' ? httpConfig(config, env) : category === 'aws' ? awsConfig(config) : gcpConfig(config);
  if (Array.isArray(valid)) return { errors: valid };
  return { category, config: valid } as CategoryConfig;
}

/** Errors of a secret token of this category (GitLab: 16 to 24 characters for http, present for aws and gcp, at most 4096). */
export function secretTokenErrors(category: DestinationCategory, token: string): string[] {
  if (token.length > CONFIG_LIMITS.secretTokenMax) return [`Secret token is too long (maximum is ${CONFIG_LIMITS.secretTokenMax} characters)`];
  if (category === 'http') {
    return token.length >= CONFIG_LIMITS.httpSecretMin && token.length <= CONFIG_LIMITS.httpSecretMax ? [] : ['Secret token should have length between 16 to 24 characters.'];
  }
  return token.trim() === '' ? ["Secret token can't be blank"] : [];
}

/** A generated http secret token: GitLab's SecureRandom.base64(18) (24 characters). */
export function generateHttpSecretToken(): string {
  return randomBase64(18);
}

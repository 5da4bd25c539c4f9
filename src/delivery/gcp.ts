/**
 * Delivery to a `gcp` destination: Google Cloud Logging `entries:write`, as GitLab's Google Cloud
 * Logging streaming destination sends it (one entry per event: `logName`
 * `projects/<googleProjectIdName>/logs/<logIdName>`, `resource: { type: "global" }`,
 * `severity: "INFO"`, the streaming payload as `jsonPayload`), authorised by a service account's
 * OAuth access token: an RS256 JWT assertion signed with the account's private key (the
 * destination's secretToken, PKCS#8 PEM) is exchanged at the token endpoint (grant type
 * jwt-bearer, scope logging.write). Tokens are cached per isolate until a minute before they
 * expire, keyed by the credentials (never by anything a log shows), and dropped when Logging
 * answers 401. Neither the key, the assertion nor the token is ever logged.
 *
 * Endpoints: `https://oauth2.googleapis.com/token` and `https://logging.googleapis.com`; the
 * GCP_OAUTH_TOKEN_URL and GCP_LOGGING_ENDPOINT vars (local testing only) replace them.
 */
import { importPKCS8, SignJWT } from 'jose';
import type { GcpConfig } from '../db/destinations';
import { sendRequest, notSent, type SendResult } from './send';

export const DEFAULT_GCP_OAUTH_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const DEFAULT_GCP_LOGGING_ENDPOINT = 'https://logging.googleapis.com';
/** The scope the token is asked for. */
export const LOGGING_WRITE_SCOPE = 'https://www.googleapis.com/auth/logging.write';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** A cached token is used until this many ms before it expires. */
const TOKEN_EXPIRY_MARGIN_MS = 60_000;
/** Most tokens cached per isolate (the oldest goes first). */
const TOKEN_CACHE_SIZE = 256;

/** The two URLs a gcp delivery uses. */
export interface GcpEndpoints {
  tokenUrl: string;
  entriesWriteUrl: string;
}

/** The endpoints, from the vars when set (local testing only). */
export function gcpEndpoints(env: { GCP_OAUTH_TOKEN_URL?: string; GCP_LOGGING_ENDPOINT?: string }): GcpEndpoints {
  const base = (env.GCP_LOGGING_ENDPOINT || DEFAULT_GCP_LOGGING_ENDPOINT).replace(/\/+$/, '');
  return { tokenUrl: env.GCP_OAUTH_TOKEN_URL || DEFAULT_GCP_OAUTH_TOKEN_URL, entriesWriteUrl: `${base}/v2/entries:write` };
}

/** Cloud Logging's log id characters (letters, digits, `/_-.`, at most 512). */
const LOG_ID = /^[A-Za-z0-9/_.-]{1,512}$/;
/** A Google Cloud project id. */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Why a gcp config cannot be delivered to, or null. */
export function gcpConfigError(config: Partial<GcpConfig> | null, privateKey: string | null): string | null {
  if (!config || typeof config.googleProjectIdName !== 'string' || !PROJECT_ID.test(config.googleProjectIdName)) {
    return 'The gcp destination has no valid googleProjectIdName';
  }
  if (typeof config.logIdName !== 'string' || !LOG_ID.test(config.logIdName)) return 'The gcp destination has no valid logIdName';
  if (typeof config.clientEmail !== 'string' || !config.clientEmail.includes('@')) return 'The gcp destination has no valid clientEmail';
  if (!privateKey) return 'The gcp destination has no private key';
  return null;
}

/** GitLab's full log path: `projects/<googleProjectIdName>/logs/<logIdName>` (the log id URL-encoded, as Logging requires). */
export function gcpLogName(config: Pick<GcpConfig, 'googleProjectIdName' | 'logIdName'>): string {
  return `projects/${config.googleProjectIdName}/logs/${encodeURIComponent(config.logIdName)}`;
}

/** The `entries:write` body for one event's streaming payload. */
export function entriesWriteBody(config: Pick<GcpConfig, 'googleProjectIdName' | 'logIdName'>, payload: Record<string, unknown>): string {
  return JSON.stringify({ entries: [{ logName: gcpLogName(config), resource: { type: 'global' }, severity: 'INFO', jsonPayload: payload }] });
}

const tokenCache = new Map<string, { token: string; expiresAt: number }>();

async function cacheKey(tokenUrl: string, clientEmail: string, privateKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${tokenUrl}\n${clientEmail}\n${privateKey}`)));
  return btoa(String.fromCharCode(...digest));
}

/** The RS256 JWT assertion of the service account (valid one hour, as Google allows at most). */
export async function serviceAccountAssertion(clientEmail: string, privateKeyPem: string, audience: string, now: number = Date.now()): Promise<string> {
  const key = await importPKCS8(privateKeyPem.trim(), 'RS256');
  const iat = Math.floor(now / 1000);
  return new SignJWT({ scope: LOGGING_WRITE_SCOPE })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(clientEmail)
    .setSubject(clientEmail)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(key);
}

/** An access token (cached, or fresh from the token endpoint), or the failed attempt. */
async function accessToken(env: object, endpoints: GcpEndpoints, clientEmail: string, privateKey: string, timeoutMs: number): Promise<{ token: string; key: string } | { failed: SendResult }> {
  const key = await cacheKey(endpoints.tokenUrl, clientEmail, privateKey);
  const cached = tokenCache.get(key);
  if (cached && cached.expiresAt - TOKEN_EXPIRY_MARGIN_MS > Date.now()) return { token: cached.token, key };
  let assertion: string;
  try {
    assertion = await serviceAccountAssertion(clientEmail, privateKey, endpoints.tokenUrl);
  } catch {
    return { failed: notSent('config_invalid', 'The gcp destination private key is not a valid PKCS#8 PEM RSA key') };
  }
  const request = new Request(endpoints.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(),
  });
  const { result, body } = await sendRequest(env, request, timeoutMs, 'OAuth token request: ', 65536);
  // A success's body holds the token: never keep it as the excerpt.
  if (!result.ok) return { failed: result };
  let parsed: { access_token?: unknown; expires_in?: unknown } = {};
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    /* checked below */
  }
  if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
    return { failed: { ...result, ok: false, excerpt: null, errorClass: 'invalid_response', error: 'OAuth token request: the answer has no access_token' } };
  }
  const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 3600;
  if (tokenCache.size >= TOKEN_CACHE_SIZE) tokenCache.delete(tokenCache.keys().next().value!);
  tokenCache.set(key, { token: parsed.access_token, expiresAt: Date.now() + seconds * 1000 });
  return { token: parsed.access_token, key };
}

/** Forget every cached token (tests). */
export function clearGcpTokenCache(): void {
  tokenCache.clear();
}

/** Write one event's payload to the destination's log: token (cached or fetched), then entries:write. */
export async function writeLogEntry(
  env: object,
  endpoints: GcpEndpoints,
  config: GcpConfig,
  privateKey: string,
  payload: Record<string, unknown>,
  timeoutMs: number,
): Promise<SendResult> {
  const started = Date.now();
  const auth = await accessToken(env, endpoints, config.clientEmail, privateKey, timeoutMs);
  if ('failed' in auth) return auth.failed;
  const request = new Request(endpoints.entriesWriteUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${auth.token}` },
    body: entriesWriteBody(config, payload),
  });
  const { result } = await sendRequest(env, request, Math.max(1, timeoutMs - (Date.now() - started)));
  if (result.httpStatus === 401) tokenCache.delete(auth.key);
  return { ...result, durationMs: Date.now() - started };
}

/**
 * Signed download links (issue 17: no token in a URL). The releases page never puts a personal
 * access token into a link: for a project that is not public it asks the API for the link's
 * tracked URL signed for the signed-in user (GET .../assets/links/:link_id/signed_url), and the
 * download route accepts that URL instead of a token:
 *   <direct_asset_url>?expires=<unix seconds>&user=<user id>&signature=<base64url HMAC-SHA256>
 * The HMAC covers the link id, the user id and the expiry, keyed with the secret
 * DOWNLOAD_LINK_SECRET; a link is valid for DOWNLOAD_LINK_TTL_SECONDS. It stands for its user on
 * that one link only, and only until it expires (a token in a URL stood for the user on the whole
 * API until revoked, and stayed in history, logs and traces).
 */
import type { Env } from '../env';
import { base64Url } from './crypto';

/** How long a signed link is valid: 5 minutes. */
export const DOWNLOAD_LINK_TTL_SECONDS = 300;
/** Clock skew between the Worker that signs and the one that checks that is still accepted. */
const CLOCK_SKEW_SECONDS = 30;
/** Shortest DOWNLOAD_LINK_SECRET accepted (`npm start` writes 43 characters, 32 random bytes). */
export const DOWNLOAD_LINK_SECRET_MIN_LENGTH = 32;

/** The query parameters of a signed link. */
export const SIGNED_LINK_PARAMS = { expires: 'expires', user: 'user', signature: 'signature' } as const;

/** A signed link's query, as parsed (not yet verified). */
export interface SignedLinkQuery {
  expires: number;
  userId: number;
  signature: string;
}

/** DOWNLOAD_LINK_SECRET when set and long enough, else null (signed links are then off). */
export function downloadLinkSecret(env: Pick<Env, 'DOWNLOAD_LINK_SECRET'>): string | null {
  const secret = env.DOWNLOAD_LINK_SECRET;
  return secret && secret.length >= DOWNLOAD_LINK_SECRET_MIN_LENGTH ? secret : null;
}

const encoder = new TextEncoder();
/** The HMAC key of the last secret used (one secret per deployment). */
let cachedKey: { secret: string; key: Promise<CryptoKey> } | null = null;

function hmacKey(secret: string): Promise<CryptoKey> {
  if (cachedKey?.secret !== secret) {
    cachedKey = { secret, key: crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']) };
  }
  return cachedKey.key;
}

/** What is signed: a purpose label, then the link id, the user id and the expiry, one per line. */
function signedMessage(linkId: number, userId: number, expires: number): Uint8Array {
  return encoder.encode(`release-download-link\n${linkId}\n${userId}\n${expires}`);
}

async function hmac(secret: string, linkId: number, userId: number, expires: number): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), signedMessage(linkId, userId, expires)));
}

/** A signed link's query for `linkId` and `userId`, valid from `nowSeconds` for DOWNLOAD_LINK_TTL_SECONDS. */
export async function signDownloadLink(secret: string, linkId: number, userId: number, nowSeconds: number): Promise<SignedLinkQuery> {
  const expires = nowSeconds + DOWNLOAD_LINK_TTL_SECONDS;
  return { expires, userId, signature: base64Url(await hmac(secret, linkId, userId, expires)) };
}

/**
 * The signed-link query of a download URL: null when it carries no `signature` (not a signed
 * link), 'malformed' when `signature`, `expires` or `user` is missing or not what we issue.
 */
export function readSignedLinkQuery(params: URLSearchParams): SignedLinkQuery | 'malformed' | null {
  const signature = params.get(SIGNED_LINK_PARAMS.signature);
  if (signature === null) return null;
  const expires = params.get(SIGNED_LINK_PARAMS.expires) ?? '';
  const user = params.get(SIGNED_LINK_PARAMS.user) ?? '';
  if (!/^[A-Za-z0-9_-]{43}$/.test(signature) || !/^[1-9]\d{0,11}$/.test(expires) || !/^[1-9]\d{0,14}$/.test(user)) return 'malformed';
  return { expires: Number(expires), userId: Number(user), signature };
}

/** Why a signed link is refused, or 'valid'. */
export type SignedLinkCheck = 'valid' | 'expired' | 'invalid';

/** Whether the link has expired (or claims a lifetime longer than any link we sign). Needs no secret and no lookup. */
export function signedLinkExpiry(query: SignedLinkQuery, nowSeconds: number): SignedLinkCheck {
  if (query.expires < nowSeconds) return 'expired';
  return query.expires > nowSeconds + DOWNLOAD_LINK_TTL_SECONDS + CLOCK_SKEW_SECONDS ? 'invalid' : 'valid';
}

/**
 * Check a signed link for `linkId`: 'expired', 'invalid' (wrong signature, another link's or
 * user's, or no secret configured), or 'valid'. The signature is compared in constant time.
 */
export async function verifyDownloadLink(secret: string | null, linkId: number, query: SignedLinkQuery, nowSeconds: number): Promise<SignedLinkCheck> {
  const expiry = signedLinkExpiry(query, nowSeconds);
  if (expiry !== 'valid') return expiry;
  if (secret === null) return 'invalid';
  // Compared as the base64url text we issue (not decoded: a decoder ignores the last character's
  // spare bits, so two texts would pass for one signature). Both are 43 ASCII characters here
  // (readSignedLinkQuery admits no other length); the length check is not secret.
  const expected = encoder.encode(base64Url(await hmac(secret, linkId, query.userId, query.expires)));
  const given = encoder.encode(query.signature);
  if (given.byteLength !== expected.byteLength) return 'invalid';
  return crypto.subtle.timingSafeEqual(given, expected) ? 'valid' : 'invalid';
}

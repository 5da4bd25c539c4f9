/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/, the scheme of Svix and the
 * `standardwebhooks` npm package): `webhook-signature` is `v1,` + base64 HMAC-SHA256 of
 * `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the base64-decoded part of the
 * `whsec_...` secret. During a secret rotation both secrets sign, space-separated, so a
 * receiver verifying with either one accepts the message.
 */

const SECRET_PREFIX = 'whsec_';

/** The HMAC key bytes of a `whsec_<base64>` secret (the prefix is optional, as in the reference library). */
export function secretKeyBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function toBase64(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

/** Secrets' imported HMAC keys in this isolate (importing one per message cost as much CPU as signing). */
const hmacKeys = new Map<string, CryptoKey>();
/** Keys kept at most (every destination's current and previous secret); the map is emptied past it. */
const HMAC_KEYS_MAX = 256;

/**
 * The HMAC key of a secret. Only imported keys are kept (a CryptoKey is no I/O object, so any
 * request may use it), never a pending import: workerd refuses a promise of one request to another.
 */
async function hmacKey(secret: string): Promise<CryptoKey> {
  const known = hmacKeys.get(secret);
  if (known) return known;
  const key = await crypto.subtle.importKey('raw', secretKeyBytes(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  if (hmacKeys.size >= HMAC_KEYS_MAX) hmacKeys.clear();
  hmacKeys.set(secret, key);
  return key;
}

/** One `v1,<base64>` signature of a message with one secret. */
export async function signWithSecret(secret: string, msgId: string, timestamp: number, body: string): Promise<string> {
  const key = await hmacKey(secret);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${msgId}.${timestamp}.${body}`));
  return `v1,${toBase64(mac)}`;
}

/**
 * The `webhook-signature` header value: one signature per secret, space-separated (the current
 * secret first, then the previous one while a rotation is in progress).
 */
export async function signPayload(secrets: string[], msgId: string, timestamp: number, body: string): Promise<string> {
  const sigs = await Promise.all(secrets.map((s) => signWithSecret(s, msgId, timestamp, body)));
  return sigs.join(' ');
}

/** The `webhook-id` of a delivery: stable across retries and redeliveries, so receivers can drop duplicates. */
export function webhookId(eventId: number, destinationId: number): string {
  return `msg_${eventId}_${destinationId}`;
}

/**
 * Validation rules of streaming destinations, headers and event type filters, with GitLab's
 * error texts (ActiveRecord full messages: "Verification token is too short (minimum is 16
 * characters)", "Destination url has already been taken", ...).
 */
import type { Env } from '../env';
import { destinationUrlError, guardPolicy } from '../delivery/ssrf';
import { isKnownAuditEventType } from '../audit/catalogue';
import { randomBase64 } from '../auth/crypto';

/** GitLab's limits. */
export const DESTINATION_LIMITS = {
  urlMax: 255,
  nameMax: 72,
  tokenMin: 16,
  tokenMax: 24,
  headersPerDestination: 20,
  headerKeyMax: 255,
  headerValueMax: 2000,
  /** GitLab's default plan limit of destinations per group. */
  defaultDestinationsPerGroup: 5,
  /** How long the previous signing secret keeps signing after a rotation. */
  previousSecretValidityMs: 24 * 60 * 60 * 1000,
};

/** Most destinations a group (or the instance) may have: MAX_DESTINATIONS_PER_GROUP or 5. */
export function maxDestinations(env: Env): number {
  const n = Number(env.MAX_DESTINATIONS_PER_GROUP);
  return Number.isInteger(n) && n > 0 ? n : DESTINATION_LIMITS.defaultDestinationsPerGroup;
}

/** Errors of a destination URL: presence, length, and the SSRF guard. */
export function destinationUrlErrors(url: string, env: Env): string[] {
  if (url.trim() === '') return ["Destination url can't be blank"];
  if (url.length > DESTINATION_LIMITS.urlMax) return [`Destination url is too long (maximum is ${DESTINATION_LIMITS.urlMax} characters)`];
  const blocked = destinationUrlError(url, guardPolicy(env));
  return blocked ? [blocked] : [];
}

/** Errors of a destination name. */
export function nameErrors(name: string): string[] {
  if (name.trim() === '') return ["Name can't be blank"];
  if (name.length > DESTINATION_LIMITS.nameMax) return [`Name is too long (maximum is ${DESTINATION_LIMITS.nameMax} characters)`];
  return [];
}

/** Errors of a verification token given by the owner (never trimmed, as in GitLab). */
export function verificationTokenErrors(token: string): string[] {
  if (token.length < DESTINATION_LIMITS.tokenMin) return [`Verification token is too short (minimum is ${DESTINATION_LIMITS.tokenMin} characters)`];
  if (token.length > DESTINATION_LIMITS.tokenMax) return [`Verification token is too long (maximum is ${DESTINATION_LIMITS.tokenMax} characters)`];
  return [];
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A generated verification token: 24 base58 characters, as GitLab's SecureRandom.base58(24). */
export function generateVerificationToken(): string {
  const out: string[] = [];
  while (out.length < DESTINATION_LIMITS.tokenMax) {
    for (const b of crypto.getRandomValues(new Uint8Array(32))) {
      // 58 * 4 = 232: reject bytes above it so every character is equally likely.
      if (b < 232 && out.length < DESTINATION_LIMITS.tokenMax) out.push(BASE58[b % 58]);
    }
  }
  return out.join('');
}

/** A new Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `whsec_${randomBase64(32)}`;
}

/** GitLab's default destination name. */
export function defaultDestinationName(): string {
  return `Destination_${crypto.randomUUID()}`;
}

/** RFC 9110 token characters: what an HTTP header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Header names the delivery sets itself (the verification token, the event type, the Standard
 * Webhooks signature headers) or that the runtime controls; a custom header may not replace them.
 * Content-Type is not among them: a custom header may set another one (the delivery sends
 * application/json otherwise).
 */
export const RESERVED_HEADER_KEYS = [
  'X-Gitlab-Event-Streaming-Token',
  'X-Gitlab-Audit-Event-Type',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'Content-Length',
  'Host',
  'Transfer-Encoding',
];
const RESERVED = new Set(RESERVED_HEADER_KEYS.map((k) => k.toLowerCase()));

/** Errors of a custom header's key and value. */
export function headerErrors(key: string, value: string): string[] {
  const errors: string[] = [];
  if (key.trim() === '') errors.push("Key can't be blank");
  else if (key.length > DESTINATION_LIMITS.headerKeyMax) errors.push(`Key is too long (maximum is ${DESTINATION_LIMITS.headerKeyMax} characters)`);
  else if (!HEADER_NAME.test(key)) errors.push('Key is not a valid HTTP header name');
  else if (RESERVED.has(key.toLowerCase())) errors.push(`Key ${key} is reserved`);
  if (value.trim() === '') errors.push("Value can't be blank");
  else if (value.length > DESTINATION_LIMITS.headerValueMax) errors.push(`Value is too long (maximum is ${DESTINATION_LIMITS.headerValueMax} characters)`);
  else if (/[\r\n\0]/.test(value)) errors.push('Value must not contain line breaks');
  return errors;
}

/** GitLab's top-level error for an empty filter list. */
export const EVENT_TYPE_FILTERS_MUST_BE_PRESENT = 'event type filters must be present';

/** Errors of event type filters to add, given the ones the destination already has. */
export function eventTypeFilterErrors(filters: string[], existing: string[]): string[] {
  const errors: string[] = [];
  const seen = new Set(existing);
  for (const f of filters) {
    if (!isKnownAuditEventType(f)) errors.push(`Audit event type with value ${f} is undefined.`);
    else if (seen.has(f)) errors.push(`Audit event type ${f} has already been taken`);
    seen.add(f);
  }
  return errors;
}

/** GitLab's error for removing filters a destination does not have. */
export function missingEventTypeFiltersError(missing: string[]): string {
  return `Couldn't find event type filters where audit event type(s): ${missing.join(', ')}`;
}

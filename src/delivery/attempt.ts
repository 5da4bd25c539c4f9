/**
 * The request(s) of one delivery attempt, by the destination's category: `http` POSTs the
 * payload signed with Standard Webhooks headers; `aws` PUTs one S3 object signed with SigV4
 * (./s3.ts); `gcp` writes one Cloud Logging entry with a service-account token (./gcp.ts). Every
 * URL is checked by the SSRF guard first (and, with DELIVERY_LOOPBACK_ONLY, must be loopback),
 * the cloud endpoints included, and a host name by the resolution-time check (./ssrf_doh.ts);
 * the outcome is classified once (./send.ts) for all categories.
 */
import type { SharedEnv } from '../env';
import { streamingPayload, type AuditEvent } from '../audit/record';
import type { AwsConfig, Destination, GcpConfig } from '../db/destinations';
import { signPayload, webhookId } from './signing';
import { destinationUrlError, guardPolicy, loopbackOnlyError, type GuardEnv } from './ssrf';
import { checkResolution, type DohEnv } from './ssrf_doh';
import { notSent, sendRequest, type SendResult } from './send';
import { awsConfigError, s3ObjectKey, s3ObjectUrl, s3PutRequest } from './s3';
import { gcpConfigError, gcpEndpoints, writeLogEntry } from './gcp';

/** What an attempt needs of its destination. */
export type AttemptDestination = Pick<
  Destination,
  'id' | 'category' | 'destinationUrl' | 'verificationToken' | 'signingSecret' | 'previousSigningSecret' | 'previousSecretExpiresAt' | 'cloudConfig' | 'secretToken'
>;

/** The vars an attempt reads. */
export type AttemptEnv = GuardEnv & DohEnv & Pick<SharedEnv, 'DELIVERY_LOOPBACK_ONLY' | 'AWS_S3_ENDPOINT' | 'GCP_OAUTH_TOKEN_URL' | 'GCP_LOGGING_ENDPOINT'>;

/** The headers and body of one HTTP delivery request (exported for tests and for the README's recipe). */
export async function buildDeliveryRequest(
  event: AuditEvent,
  destination: Pick<Destination, 'id' | 'verificationToken' | 'signingSecret' | 'previousSigningSecret' | 'previousSecretExpiresAt'>,
  customHeaders: { key: string; value: string }[],
  now: number = Date.now(),
): Promise<{ headers: Headers; body: string; msgId: string }> {
  const body = JSON.stringify(streamingPayload(event));
  const msgId = webhookId(event.id, destination.id);
  const timestamp = Math.floor(now / 1000);
  const secrets = [destination.signingSecret];
  if (destination.previousSigningSecret && destination.previousSecretExpiresAt && Date.parse(destination.previousSecretExpiresAt) > now) {
    secrets.push(destination.previousSigningSecret);
  }
  const headers = new Headers({ 'Content-Type': 'application/json' });
  for (const h of customHeaders) {
    try {
      headers.set(h.key, h.value); // a custom header may replace Content-Type
    } catch {
      console.warn(`destination ${destination.id}: custom header ${JSON.stringify(h.key)} is not a valid HTTP header; not sent`);
    }
  }
  // Set last so custom headers cannot forge them.
  headers.set('X-Gitlab-Event-Streaming-Token', destination.verificationToken);
  headers.set('X-Gitlab-Audit-Event-Type', event.eventType);
  headers.set('webhook-id', msgId);
  headers.set('webhook-timestamp', String(timestamp));
  headers.set('webhook-signature', await signPayload(secrets, msgId, timestamp, body));
  return { headers, body, msgId };
}

/**
 * The first of these URLs the guard refuses, as a failed attempt that sent nothing, or null: the
 * URL itself, then what its host name resolves to (a lookup that failed is a failure to retry),
 * then DELIVERY_LOOPBACK_ONLY (last, so that tests see the resolution check's verdict).
 */
async function blockedUrl(env: AttemptEnv, urls: string[]): Promise<SendResult | null> {
  const policy = guardPolicy(env);
  for (const url of urls) {
    const blocked = destinationUrlError(url, policy);
    if (blocked) return notSent('url_blocked', blocked);
    const resolution = await checkResolution(env, url, policy);
    if (resolution.kind === 'blocked') return notSent('url_blocked', resolution.error);
    // Nothing was sent, but the resolver may answer next time: retried like a network error.
    if (resolution.kind === 'failed') return { ...notSent('url_blocked', resolution.error), errorClass: 'network_error', permanent: false };
    const outside = loopbackOnlyError(url, env.DELIVERY_LOOPBACK_ONLY === 'true');
    if (outside) return notSent('url_blocked', outside);
  }
  return null;
}

/** Make one attempt to deliver `event` to `destination` (no D1 access: the caller records it). */
export async function attemptDelivery(
  env: AttemptEnv,
  event: AuditEvent,
  destination: AttemptDestination,
  customHeaders: { key: string; value: string }[],
  timeoutMs: number,
): Promise<SendResult> {
  if (destination.category === 'aws') {
    const config = destination.cloudConfig as AwsConfig | null;
    const invalid = awsConfigError(config, destination.secretToken);
    if (invalid || !config || !destination.secretToken) return notSent('config_invalid', invalid ?? 'The aws destination is incomplete');
    const url = s3ObjectUrl(env.AWS_S3_ENDPOINT, config, s3ObjectKey(event));
    const blocked = await blockedUrl(env, [url]);
    if (blocked) return blocked;
    const request = await s3PutRequest(url, config, destination.secretToken, JSON.stringify(streamingPayload(event)));
    return (await sendRequest(env, request, timeoutMs)).result;
  }
  if (destination.category === 'gcp') {
    const config = destination.cloudConfig as GcpConfig | null;
    const invalid = gcpConfigError(config, destination.secretToken);
    if (invalid || !config || !destination.secretToken) return notSent('config_invalid', invalid ?? 'The gcp destination is incomplete');
    const endpoints = gcpEndpoints(env);
    const blocked = await blockedUrl(env, [endpoints.tokenUrl, endpoints.entriesWriteUrl]);
    if (blocked) return blocked;
    return writeLogEntry(env, endpoints, config, destination.secretToken, streamingPayload(event), timeoutMs);
  }
  const blocked = await blockedUrl(env, [destination.destinationUrl]);
  if (blocked) return blocked;
  const { headers, body } = await buildDeliveryRequest(event, destination, customHeaders);
  const request = new Request(destination.destinationUrl, { method: 'POST', headers, body });
  return (await sendRequest(env, request, timeoutMs)).result;
}

/**
 * Delivery to an `aws` destination: one object per event, PUT into the destination's S3 bucket
 * and signed with AWS Signature V4 (aws4fetch), as GitLab's Amazon S3 streaming destination does
 * (ee/lib/audit_events/strategies/base_amazon_s3_destination_strategy.rb): the key is
 * `<entity type>/<YYYY>/<MM>/<event_type>_<event id>_<epoch ms>.json`, the body the streaming
 * payload, `Content-Type: application/json`.
 *
 * Unlike GitLab, which stamps the upload time, the year, month and milliseconds come from the
 * event's `created_at`: a retry or a redelivery overwrites the same object instead of writing a
 * second one.
 *
 * The endpoint is `https://<bucket>.s3.<region>.amazonaws.com/<key>` (virtual-hosted style); the
 * AWS_S3_ENDPOINT var (local testing only) switches to path style, `<endpoint>/<bucket>/<key>`.
 */
import { AwsClient } from 'aws4fetch';
import type { AwsConfig } from '../db/destinations';
import type { AuditEvent } from '../audit/record';

/** GitLab's entity type segment: `instance` and `user` for those scopes, else the type in lower case, non-alphanumerics as `_`. */
export function s3EntityTypeSegment(entityType: string): string {
  if (entityType === 'Gitlab::Audit::InstanceScope') return 'instance';
  if (entityType === 'Namespaces::UserNamespace') return 'user';
  return entityType.toLowerCase().replace(/[^0-9a-z]+/g, '_');
}

/** The object key of an event: GitLab's layout, with the time taken from the event's created_at (UTC). */
export function s3ObjectKey(event: Pick<AuditEvent, 'id' | 'entityType' | 'eventType' | 'createdAt'>): string {
  const at = new Date(Date.parse(event.createdAt));
  const year = String(at.getUTCFullYear()).padStart(4, '0');
  const month = String(at.getUTCMonth() + 1).padStart(2, '0');
  return `${s3EntityTypeSegment(event.entityType)}/${year}/${month}/${event.eventType}_${event.id}_${at.getTime()}.json`;
}

/** S3's bucket naming rules (general purpose buckets), and a region code. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+){1,3}$/;

/** Why an aws config cannot be delivered to, or null. */
export function awsConfigError(config: Partial<AwsConfig> | null, secretAccessKey: string | null): string | null {
  if (!config || typeof config.bucketName !== 'string' || !BUCKET.test(config.bucketName) || config.bucketName.includes('..')) {
    return 'The aws destination has no valid bucketName';
  }
  if (typeof config.awsRegion !== 'string' || !REGION.test(config.awsRegion)) return 'The aws destination has no valid awsRegion';
  if (typeof config.accessKeyXid !== 'string' || config.accessKeyXid === '') return 'The aws destination has no accessKeyXid';
  if (!secretAccessKey) return 'The aws destination has no secret access key';
  return null;
}

/** Where the object is PUT: the region's virtual-hosted endpoint, or `<AWS_S3_ENDPOINT>/<bucket>/<key>` when that var is set. */
export function s3ObjectUrl(endpoint: string | undefined, config: Pick<AwsConfig, 'bucketName' | 'awsRegion'>, key: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${config.bucketName}/${path}`;
  return `https://${config.bucketName}.s3.${config.awsRegion}.amazonaws.com/${path}`;
}

/** Lower-case hex SHA-256 of a string (the signed payload hash). */
async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The signed PUT of one event's object (the payload's hash is signed too: x-amz-content-sha256). */
export async function s3PutRequest(url: string, config: AwsConfig, secretAccessKey: string, body: string, now: Date = new Date()): Promise<Request> {
  const aws = new AwsClient({ accessKeyId: config.accessKeyXid, secretAccessKey, service: 's3', region: config.awsRegion });
  const headers = { 'Content-Type': 'application/json', 'X-Amz-Content-Sha256': await sha256Hex(body) };
  return aws.sign(url, { method: 'PUT', headers, body, aws: { datetime: now.toISOString().replace(/[:-]|\.\d{3}/g, '') } });
}

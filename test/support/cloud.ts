/**
 * Test-side helpers for the local cloud endpoints of cloud-servers.mjs (vitest globalSetup
 * cloud-setup.mjs): their configuration, an env pointing the delivery code at them, cloud
 * destinations written straight to D1, and what the servers received.
 */
import { inject } from 'vitest';
import { env } from 'cloudflare:workers';
import type { ConsumerEnv } from '../../src/env';
import type { AwsConfig, GcpConfig } from '../../src/db/destinations';
import { insertDestination, type TestDestination } from '../delivery/support';
import { unique } from './api';

export interface CloudServers {
  s3Endpoint: string;
  s3Bucket: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  gcpTokenUrl: string;
  gcpLoggingEndpoint: string;
  gcpClientEmail: string;
  gcpPrivateKey: string;
  gcpStrangerPrivateKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cloud: CloudServers;
  }
}

export function cloud(): CloudServers {
  return inject('cloud');
}

/** The test env with the three endpoint vars pointing at the local servers. */
export function cloudEnv(): ConsumerEnv {
  const c = cloud();
  return { ...(env as unknown as ConsumerEnv), AWS_S3_ENDPOINT: c.s3Endpoint, GCP_OAUTH_TOKEN_URL: c.gcpTokenUrl, GCP_LOGGING_ENDPOINT: c.gcpLoggingEndpoint };
}

/** A cloud destination of a group (or of the instance when namespaceId is null), written straight to D1. */
export async function insertCloudDestination(
  namespaceId: number | null,
  category: 'aws' | 'gcp',
  config: AwsConfig | GcpConfig,
  secretToken: string,
): Promise<TestDestination> {
  const dest = await insertDestination({ namespaceId, url: `https://cloud.invalid/${unique(category)}` });
  await env.DB.prepare('UPDATE streaming_destinations SET category = ?2, config = ?3, secret_token = ?4 WHERE id = ?1')
    .bind(dest.id, category, JSON.stringify(config), secretToken)
    .run();
  return dest;
}

/** An aws config for the local bucket. */
export function awsConfig(): AwsConfig {
  const c = cloud();
  return { accessKeyXid: c.s3AccessKeyId, bucketName: c.s3Bucket, awsRegion: 'eu-west-1' };
}

let gcpSeq = 0;
/** A gcp config with a log of its own (so each test reads its own entries). */
export function gcpConfig(): GcpConfig {
  return { googleProjectIdName: 'audit-events-test', clientEmail: cloud().gcpClientEmail, logIdName: `audit-events-${Date.now().toString(36)}-${++gcpSeq}` };
}

/** The PUTs the S3 proxy received for the bucket, with its own SigV4 verdict. */
export async function s3Puts(): Promise<{ method: string; path: string; contentType: string | null; signature: { ok: boolean; error?: string; region?: string }; status: number }[]> {
  const c = cloud();
  return (await fetch(`${c.s3Endpoint}/_s3/requests?bucket=${c.s3Bucket}`)).json();
}

/** The entries written to a log, with the token each was written with. */
export async function gcpEntries(logName: string): Promise<{ entry: Record<string, any>; token: string }[]> {
  return (await fetch(`${cloud().gcpLoggingEndpoint}/_gcp/entries?logName=${encodeURIComponent(logName)}`)).json();
}

/** Every token request the token endpoint received, with its verdict. */
export async function gcpTokenRequests(): Promise<{ clientEmail: string | null; ok: boolean; error: string | null }[]> {
  return (await fetch(`${cloud().gcpLoggingEndpoint}/_gcp/tokens`)).json();
}

/**
 * Make the next `count` requests fail with `status`: S3 PUTs whose path contains `s3Match`, Logging
 * writes to a log, or token requests.
 */
export async function failNext(what: { s3Match: string } | { logName: string } | { token: true }, status: number, count = 1): Promise<void> {
  const c = cloud();
  const url =
    's3Match' in what
      ? `${c.s3Endpoint}/_s3/fail?match=${encodeURIComponent(what.s3Match)}`
      : 'logName' in what
        ? `${c.gcpLoggingEndpoint}/_gcp/fail?logName=${encodeURIComponent(what.logName)}`
        : `${c.gcpLoggingEndpoint}/_gcp/tokenfail?x=1`;
  await fetch(`${url}&status=${status}&count=${count}`, { method: 'POST' });
}

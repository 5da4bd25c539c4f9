import type { EdgeModelPrimary } from './bench/edge_model';
import type { DownloadBuffer } from './downloads/buffer';
import type { DestinationLane } from './delivery/lane';

/** One delivery: one audit event to one streaming destination (a redelivery's message, a dead letter, a lane's job). */
export interface DeliveryJob {
  /** Audit event id (audit_events.id). */
  eventId: number;
  /** Streaming destination id (streaming_destinations.id). */
  destinationId: number;
}

/**
 * The fan-out's message: one audit event to several of its streaming destinations, one job each
 * (src/audit/outbox.ts sends one per event; the consumer hands each job to its lane).
 */
export interface DeliveryFanOut {
  eventId: number;
  destinationIds: number[];
}

/** A "deliveries" queue message. */
export type DeliveryMessage = DeliveryJob | DeliveryFanOut;

/**
 * Bindings and vars both Workers have: the same D1 database, the "deliveries" producer and the
 * delivery vars (keep `[vars]` of wrangler.toml and consumer/wrangler.toml the same), and the
 * bench-only edge model. Code that both Workers run takes this type (or a `Pick` of it).
 */
export interface SharedEnv {
  /** D1: the source of truth (users, groups, projects, releases, events, destinations, deliveries). */
  DB: D1Database;
  /**
   * R2 bucket "audit-archive": the cold audit log (src/audit/archive_format.ts), events moved out
   * of D1 past the hot window. Both Workers read it (the consumer delivers cold events too).
   */
  AUDIT_ARCHIVE: R2Bucket;
  /** Days events stay in D1 before they move to the archive (default 7; 0: every event moves at the next run). */
  AUDIT_HOT_DAYS?: string;
  /** Megabytes of audit data D1 may hold before the oldest events move early (default 4096). */
  AUDIT_HOT_MAX_MB?: string;
  /**
   * Tests only: chunks of 1,024 leaves per sealed segment of the archive (src/audit/archive_seal.ts;
   * default and most 1024, i.e. 2^20 leaves; rounded down to a power of two, at least 1).
   */
  AUDIT_ARCHIVE_SEGMENT_CHUNKS?: string;
  /** Tests only: units per page of the cold archive (src/audit/archive_pages.ts); default 1,024. */
  AUDIT_ARCHIVE_PAGE_SEGMENTS?: string;
  /** Queue "deliveries" (producer): one message per event and its destinations (a redelivery: per delivery). */
  DELIVERIES: Queue<DeliveryMessage>;
  /** "true" lets destinations use http:// and loopback addresses on any port (local development and tests only). */
  ALLOW_LOCAL_DESTINATIONS?: string;
  /** "true" lets destinations use http:// and private ranges and names (RFC 1918, fc00::/7, *.internal, ...). */
  ALLOW_PRIVATE_DESTINATIONS?: string;
  /** Comma-separated ports destinations may use besides 443, 8443 and their scheme's default. */
  DESTINATION_ALLOWED_PORTS?: string;
  /** A DNS-over-HTTPS JSON endpoint: host names are resolved with it before each attempt, internal answers refused (src/delivery/ssrf_doh.ts). */
  DESTINATION_DOH_URL?: string;
  /**
   * "true": deliveries go to loopback addresses only (127.0.0.0/8, localhost, [::1]); any other
   * destination fails without a connection. Set by the tests, the soak, the benchmarks and the
   * browser tests so that no test traffic ever leaves the machine; never set in production.
   */
  DELIVERY_LOOPBACK_ONLY?: string;
  /** Milliseconds one delivery attempt may take before it is aborted (default 10000). */
  DELIVERY_TIMEOUT_MS?: string;
  /** Comma-separated seconds to wait before each retry (default 5,300,1800,7200,18000,36000,36000). */
  DELIVERY_RETRY_SCHEDULE?: string;
  /** First circuit-breaker cool-down in seconds (default 60); it doubles per trip up to 10 times this. */
  DELIVERY_BREAKER_COOLDOWN_SECONDS?: string;
  /**
   * Days a delivery may wait (behind an open breaker or between attempts) before it is
   * dead-lettered with attempts left (default 7; at least as long as the whole retry schedule).
   */
  DELIVERY_MAX_WAIT_DAYS?: string;
  /**
   * Local testing only: the S3 endpoint of `aws` destinations (e.g. `http://127.0.0.1:9000`);
   * when set, objects go to `<endpoint>/<bucket>/<key>` (path style) instead of
   * `https://<bucket>.s3.<region>.amazonaws.com/<key>`. The SSRF guard and DELIVERY_LOOPBACK_ONLY apply.
   */
  AWS_S3_ENDPOINT?: string;
  /** Local testing only: the OAuth token endpoint of `gcp` destinations (default https://oauth2.googleapis.com/token). */
  GCP_OAUTH_TOKEN_URL?: string;
  /** Local testing only: the Cloud Logging base URL before `/v2/entries:write` (default https://logging.googleapis.com). */
  GCP_LOGGING_ENDPOINT?: string;
  /**
   * Days the deliveries of a paused (inactive) destination stay pending before they are
   * dead-lettered (default 7; at most DELIVERY_MAX_WAIT_DAYS).
   */
  DELIVERY_PAUSE_RETENTION_DAYS?: string;
  /** DestinationLane objects per destination (1 to 16, default 1; src/delivery/lanes.ts). */
  DELIVERY_LANES_PER_DESTINATION?: string;
  /** Overflow lanes a backlogged lane may hand part of its due jobs to (0 to 15, default 3; src/delivery/lane.ts). */
  DELIVERY_OVERFLOW_LANES?: string;
  /** "true" enables bench-only routes and switches (bench/, never in production): GET /-/bench/redirect, GET /-/bench/edge-stats, POST /-/bench/tlog/fill, the x-bench-no-document-cache header, EDGE_MODEL. */
  BENCH_ROUTES?: string;
  /**
   * Bench only, honoured when BENCH_ROUTES is "true": "off" (default), "near" or "far", the edge
   * latency model's profile (src/bench/edge_model.ts, bench/README.md). Unknown values are off.
   */
  EDGE_MODEL?: string;
  /** The edge model's one D1 writer (bench only; when missing, writes serialize per isolate). */
  EDGE_MODEL_PRIMARY?: DurableObjectNamespace<EdgeModelPrimary>;
}

/** Bindings, secrets and vars of the API Worker (wrangler.toml, .dev.vars, `wrangler secret put`). */
export interface Env extends SharedEnv {
  /** Durable Objects buffering the download redirect's audit events near the click (src/downloads/buffer.ts). */
  DOWNLOAD_BUFFER: DurableObjectNamespace<DownloadBuffer>;
  /** Workers Static Assets (public/, built from web/ by scripts/build-web.mjs): the pages' script, stylesheet, favicon. */
  ASSETS: Fetcher;
  /** Seconds the download redirect may use a cached link, visibility, token or access (default 15; 0: off). */
  DOWNLOAD_CACHE_SECONDS?: string;
  /** Download buffer objects per region (default 4). */
  DOWNLOAD_BUFFER_SHARDS?: string;
  /** Secret: authenticates as the built-in instance administrator `root` (user id 1). */
  ADMIN_TOKEN?: string;
  /**
   * Secret (at least 32 characters): the HMAC-SHA256 key of signed download links (src/auth/download_links.ts).
   * Unset: the signed-link endpoint answers 503 and signed links are refused; tokens still work.
   */
  DOWNLOAD_LINK_SECRET?: string;
  /** Origin used in absolute URLs (e.g. direct_asset_url, web_url); defaults to the request's origin. */
  EXTERNAL_URL?: string;
  /** Most streaming destinations per group (GitLab's default plan limit is 5). */
  MAX_DESTINATIONS_PER_GROUP?: string;
  /** Days audit events are kept; unset or 0 keeps them forever. */
  AUDIT_RETENTION_DAYS?: string;
  /** "off" turns the rate limits off (benchmarks, soak, tests other than the limiter's own); on otherwise. */
  RATE_LIMITS?: string;
  /** Rate Limiting binding: API requests (REST and GraphQL) per token (src/http/rate_limit.ts). */
  API_TOKEN_LIMITER: RateLimit;
  /** Rate Limiting binding: API requests without a token per client IP. */
  API_ANONYMOUS_LIMITER: RateLimit;
  /** Rate Limiting binding: API requests per client IP, with or without a token. */
  API_IP_LIMITER: RateLimit;
  /** Rate Limiting binding: download redirects per client IP and link. */
  DOWNLOAD_LIMITER: RateLimit;
  /**
   * Secret: the base64 of the 32-byte Ed25519 seed that signs the audit log's checkpoints
   * (src/audit/log_signing.ts). Unset: no checkpoint is issued. `npm start` adds one to .dev.vars.
   */
  AUDIT_LOG_SIGNING_KEY?: string;
}

/**
 * Bindings and vars of the consumer Worker (consumer/wrangler.toml): what both Workers share
 * (its "deliveries" producer is unused by its own code), plus the dead-letter queue and its
 * destination lanes. It has none of the API Worker's own bindings (no DOWNLOAD_BUFFER).
 */
export interface ConsumerEnv extends SharedEnv {
  /** Queue "deliveries-dlq": deliveries that exhausted their retries. */
  DELIVERIES_DLQ: Queue<DeliveryJob>;
  /** One Durable Object per streaming destination: its pending deliveries (src/delivery/lane.ts). */
  DESTINATION_LANES: DurableObjectNamespace<DestinationLane>;
}

/** True when BENCH_ROUTES is exactly "true" (benchmarks only; off by default). */
export function benchRoutesEnabled(env: Pick<SharedEnv, 'BENCH_ROUTES'>): boolean {
  return env.BENCH_ROUTES === 'true';
}

/** The download redirect buffers its audit events in Durable Objects: tests flush them before reading D1. */
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import { bufferAt, REGIONS, shardCount } from '../../src/downloads/buffer';
import { downloadWriteSeen } from '../../src/downloads/cache';

/** Flush every download buffer object (every region, every shard) to D1. */
export async function flushDownloadBuffers(): Promise<void> {
  const e = env as unknown as Env;
  const stubs = REGIONS.flatMap((region) => Array.from({ length: shardCount(e) }, (_, shard) => bufferAt(e, region, shard)));
  await Promise.all(stubs.map((s) => s.flush()));
}

/** Events still waiting in the download buffers. */
export async function bufferedDownloads(): Promise<number> {
  const e = env as unknown as Env;
  const sizes = await Promise.all(REGIONS.flatMap((region) => Array.from({ length: shardCount(e) }, (_, shard) => bufferAt(e, region, shard).size())));
  return sizes.reduce((a, b) => a + b, 0);
}

/** Tests that count primary round trips start outside the read-your-writes window of earlier API writes. */
export function outsideReadYourWritesWindow(): void {
  downloadWriteSeen(Date.now() - 60_000);
}

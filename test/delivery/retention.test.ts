import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { pruneDeliveryLog } from '../../src/delivery/retention';

describe('delivery log retention', () => {
  it('removes attempts older than 30 days and keeps recent ones', async () => {
    const deliveryId = 900_000_000 + Math.floor(Math.random() * 1e6);
    const insert = (createdAt: string) =>
      env.DB.prepare(
        `INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, created_at) VALUES (?1, 1, 'failed', 500, 5, ?2)`,
      ).bind(deliveryId, createdAt);
    const now = Date.now();
    await env.DB.batch([insert(new Date(now - 31 * 86_400_000).toISOString()), insert(new Date(now - 29 * 86_400_000).toISOString())]);
    expect(await pruneDeliveryLog(env, now)).toBeGreaterThanOrEqual(1);
    const left = await env.DB.prepare('SELECT created_at FROM delivery_attempts WHERE delivery_id = ?1').bind(deliveryId).all<{ created_at: string }>();
    expect(left.results.map((r) => r.created_at)).toEqual([new Date(now - 29 * 86_400_000).toISOString()]);
  });
});

/**
 * The delivery settings' one validator (src/delivery/config.ts): what the Workers fall back on
 * and log once, and what `npm start` / `npm run deploy` refuse (scripts/check-delivery-config.mjs
 * runs the same function).
 */
import { describe, expect, it, vi } from 'vitest';
import { checkDeliveryVars, DEFAULT_LANES_PER_DESTINATION, DEFAULT_MAX_WAIT_DAYS, DEFAULT_PAUSE_RETENTION_DAYS, readDeliveryConfig, scheduleTotalMs } from '../../src/delivery/config';

describe('delivery settings', () => {
  it('accepts the defaults and sensible values', () => {
    expect(checkDeliveryVars({})).toEqual({
      config: { timeoutMs: 10_000, schedule: [5, 300, 1800, 7200, 18000, 36000, 36000], breakerCooldownSeconds: 60, maxWaitMs: DEFAULT_MAX_WAIT_DAYS * 86_400_000,
        pauseRetentionMs: DEFAULT_PAUSE_RETENTION_DAYS * 86_400_000, lanesPerDestination: DEFAULT_LANES_PER_DESTINATION, overflowLanes: 3 },
      errors: [],
    });
    const { config, errors } = checkDeliveryVars({
      DELIVERY_TIMEOUT_MS: '1000', DELIVERY_RETRY_SCHEDULE: ' 1, 1,2,2,3,3,5,5,5,5 ', DELIVERY_BREAKER_COOLDOWN_SECONDS: '5', DELIVERY_MAX_WAIT_DAYS: '0.5',
    });
    expect(errors).toEqual([]);
    // The pause bound, unset, follows the shorter max wait.
    expect(config).toEqual({ timeoutMs: 1000, schedule: [1, 1, 2, 2, 3, 3, 5, 5, 5, 5], breakerCooldownSeconds: 5, maxWaitMs: 43_200_000, pauseRetentionMs: 43_200_000, lanesPerDestination: 1, overflowLanes: 3 });
    expect(checkDeliveryVars({ DELIVERY_PAUSE_RETENTION_DAYS: ' 2.5 ' })).toMatchObject({ config: { pauseRetentionMs: 2.5 * 86_400_000 }, errors: [] });
    expect(scheduleTotalMs(config.schedule, config.timeoutMs)).toBe(32_000 + 11 * 1000);
    expect(checkDeliveryVars({ DELIVERY_LANES_PER_DESTINATION: ' 4 ' })).toMatchObject({ config: { lanesPerDestination: 4 }, errors: [] });
    expect(checkDeliveryVars({ DELIVERY_OVERFLOW_LANES: '0' })).toMatchObject({ config: { overflowLanes: 0 }, errors: [] });
    expect(checkDeliveryVars({ DELIVERY_OVERFLOW_LANES: ' 15' })).toMatchObject({ config: { overflowLanes: 15 }, errors: [] });
  });

  it.each([
    [{ DELIVERY_RETRY_SCHEDULE: '' }, /DELIVERY_RETRY_SCHEDULE must be/],
    [{ DELIVERY_RETRY_SCHEDULE: '5,,300' }, /DELIVERY_RETRY_SCHEDULE must be/],
    [{ DELIVERY_RETRY_SCHEDULE: '5,-1' }, /DELIVERY_RETRY_SCHEDULE must be/],
    [{ DELIVERY_RETRY_SCHEDULE: 'soon' }, /DELIVERY_RETRY_SCHEDULE must be/],
    [{ DELIVERY_RETRY_SCHEDULE: '50000' }, /from 0 to 43200/],
    [{ DELIVERY_TIMEOUT_MS: '0' }, /DELIVERY_TIMEOUT_MS must be/],
    [{ DELIVERY_TIMEOUT_MS: '-5' }, /DELIVERY_TIMEOUT_MS must be/],
    [{ DELIVERY_TIMEOUT_MS: '' }, /DELIVERY_TIMEOUT_MS must be/],
    [{ DELIVERY_BREAKER_COOLDOWN_SECONDS: '0' }, /DELIVERY_BREAKER_COOLDOWN_SECONDS must be/],
    [{ DELIVERY_BREAKER_COOLDOWN_SECONDS: '-60' }, /DELIVERY_BREAKER_COOLDOWN_SECONDS must be/],
    [{ DELIVERY_MAX_WAIT_DAYS: '0' }, /DELIVERY_MAX_WAIT_DAYS must be/],
    [{ DELIVERY_MAX_WAIT_DAYS: 'week' }, /DELIVERY_MAX_WAIT_DAYS must be/],
    // Contradictory: the schedule's attempts cannot all run before the delivery is given up.
    [{ DELIVERY_MAX_WAIT_DAYS: '1' }, /shorter than the retry schedule takes/],
    [{ DELIVERY_RETRY_SCHEDULE: '43200,43200,43200', DELIVERY_MAX_WAIT_DAYS: '1' }, /shorter than the retry schedule takes/],
    [{ DELIVERY_PAUSE_RETENTION_DAYS: '0' }, /DELIVERY_PAUSE_RETENTION_DAYS must be/],
    [{ DELIVERY_PAUSE_RETENTION_DAYS: 'forever' }, /DELIVERY_PAUSE_RETENTION_DAYS must be/],
    [{ DELIVERY_PAUSE_RETENTION_DAYS: '400' }, /DELIVERY_PAUSE_RETENTION_DAYS must be/],
    [{ DELIVERY_LANES_PER_DESTINATION: '0' }, /DELIVERY_LANES_PER_DESTINATION must be a whole number from 1 to 16/],
    [{ DELIVERY_LANES_PER_DESTINATION: '2.5' }, /DELIVERY_LANES_PER_DESTINATION must be/],
    [{ DELIVERY_LANES_PER_DESTINATION: '17' }, /DELIVERY_LANES_PER_DESTINATION must be/],
    [{ DELIVERY_OVERFLOW_LANES: '-1' }, /DELIVERY_OVERFLOW_LANES must be a whole number from 0 to 15/],
    [{ DELIVERY_OVERFLOW_LANES: '16' }, /DELIVERY_OVERFLOW_LANES must be/],
    [{ DELIVERY_OVERFLOW_LANES: 'many' }, /DELIVERY_OVERFLOW_LANES must be/],
    // Contradictory: a resumed backlog would be dead-lettered at once by the max wait.
    [{ DELIVERY_PAUSE_RETENTION_DAYS: '10' }, /DELIVERY_PAUSE_RETENTION_DAYS \(10 days\) is longer than DELIVERY_MAX_WAIT_DAYS \(7 days\)/],
  ])('refuses %j', (vars, message) => {
    const { errors } = checkDeliveryVars(vars);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it('lets the Worker run on the defaults of unusable values, logging each problem once', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const vars = { DELIVERY_RETRY_SCHEDULE: 'x-config-test', DELIVERY_TIMEOUT_MS: '1500' };
    for (let i = 0; i < 3; i++) expect(readDeliveryConfig(vars)).toMatchObject({ schedule: [5, 300, 1800, 7200, 18000, 36000, 36000], timeoutMs: 1500 });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0][0])).toMatch(/DELIVERY_RETRY_SCHEDULE must be .*x-config-test/);
    spy.mockRestore();
  });
});

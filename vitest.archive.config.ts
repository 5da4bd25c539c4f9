import base from './vitest.config.ts';

/**
 * The cold audit log's tests (test/archive/): the archive moves the oldest events of the WHOLE
 * log, so these tests run in a vitest run (a Worker runtime, a database) of their own, where
 * they own every event. The main suite (vitest.config.ts) excludes test/archive/. `npm test`
 * runs both; `npx vitest run -c vitest.archive.config.ts` runs this one alone. The same
 * configuration otherwise (plugin, bindings, the consumer Worker), with the archive's own
 * hot window: tests pass the window they need to the mover explicitly.
 */
export default {
  ...base,
  test: {
    ...base.test,
    include: ['test/archive/**/*.test.ts'],
    exclude: ['node_modules/**'],
  },
};

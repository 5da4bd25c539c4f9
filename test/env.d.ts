import type { D1Migration } from 'cloudflare:test';
import type { DeliveryJob, Env as WorkerEnv } from '../src/env';
import type { DestinationLane } from '../src/delivery/lane';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** Bound for the tests (vitest.config.ts): the consumer's code also runs in the runner Worker. */
      DELIVERIES_DLQ: Queue<DeliveryJob>;
      /** Bound for the tests (vitest.config.ts): the consumer Worker's lanes, reached from the runner. */
      DESTINATION_LANES: DurableObjectNamespace<DestinationLane>;
    }
    interface GlobalProps {
      mainModule: typeof import('../src/index');
    }
  }
}
export {};

/**
 * A destination card's own actions over GitLab 18's consolidated API, for every category: pause
 * and resume (`active` through the scope's Update; a paused destination's deliveries wait, up to
 * the pause retention, and the backlog goes out oldest first on resume) and a test event sent now.
 */
import { mutate } from '../api';
import { h, messageOfError, say } from '../dom';
import type { StreamingDestination } from '../types';
import { SEND_TEST_EVENT } from './config';
import type { StreamsContext } from './context';

interface TestDelivery {
  status: string;
  attemptsCount: number;
  lastHttpStatus: number | null;
  lastError: string | null;
}

/** The outcome of a test event in words: delivered (with the receiver's status), or why not. */
export function testOutcome(errors: string[], delivery: TestDelivery | null): string {
  const http = delivery?.lastHttpStatus ? ` (HTTP ${delivery.lastHttpStatus})` : '';
  if (errors.length) return `Test event not accepted${http}: ${errors.join('; ')}`;
  if (!delivery) return 'Test event sent.';
  if (delivery.status === 'DELIVERED') return `Test event delivered${http}.`;
  return `Test event ${delivery.status.toLowerCase()}${http}${delivery.lastError ? `: ${delivery.lastError}` : ''}.`;
}

/** The Pause/Resume and Send test event buttons of a card; outcomes go to its `err` and `status`. */
export function cardActions(ctx: StreamsContext, d: StreamingDestination, err: HTMLElement, status: HTMLElement): HTMLButtonElement[] {
  const pause = h('button', { type: 'button', class: 'secondary' }, [d.active ? 'Pause' : 'Resume']);
  const test = h('button', { type: 'button', class: 'secondary' }, ['Send test event']);
  pause.addEventListener('click', async () => {
    say(err, '');
    pause.disabled = true;
    try {
      const p = await mutate(ctx.cfg.cons.update, { id: d.id, active: !d.active });
      if (p.errors.length) say(err, p.errors.join('; '));
      else {
        await ctx.reload();
        say(ctx.listStatus, d.active ? `Destination ${d.name} paused: its events wait until it is resumed.` : `Destination ${d.name} resumed: waiting events go out oldest first.`);
      }
    } catch (e) {
      say(err, messageOfError(e));
    }
    pause.disabled = false;
  });
  test.addEventListener('click', async () => {
    say(err, '');
    say(status, 'Sending a test event…');
    test.disabled = true;
    try {
      const p = await mutate(SEND_TEST_EVENT, { destinationId: d.id }, 'delivery { status attemptsCount lastHttpStatus lastError }');
      const outcome = testOutcome(p.errors, (p.delivery as TestDelivery | null) ?? null);
      say(status, p.errors.length ? '' : outcome);
      if (p.errors.length) say(err, outcome);
    } catch (e) {
      say(status, '');
      say(err, messageOfError(e));
    }
    test.disabled = false;
  });
  return [pause, test];
}

/**
 * A destination's delivery health at a glance (ours; GitLab has none): one badge, then last
 * success and failure (with why), failures in a row, the breaker, pending and dead-lettered
 * deliveries, as the `health` field of the consolidated list reports them.
 */
import { h, type Child } from '../dom';
import { zonedTime } from '../time';
import type { DestinationHealth } from '../types';

/** The health in one word: breaker open, failing, healthy, or nothing delivered yet. */
export function healthState(x: DestinationHealth): { text: string; cls: string } {
  if (x.breakerOpenUntil) return { text: 'Breaker open', cls: 'failed' };
  // Failures in a row, or a last failure newer than the last success (refusals and blocked URLs
  // fail at once without counting for the breaker).
  if (x.consecutiveFailures > 0 || (x.lastFailureAt && (!x.lastSuccessAt || Date.parse(x.lastFailureAt) > Date.parse(x.lastSuccessAt)))) return { text: 'Failing', cls: 'failed' };
  if (x.lastSuccessAt) return { text: 'Healthy', cls: 'delivered' };
  return { text: 'Nothing delivered yet', cls: 'pending' };
}

/** The health line of a destination card. */
export function healthView(x: DestinationHealth): HTMLElement {
  const state = healthState(x);
  const parts: Child[][] = [
    ['Last success: ', x.lastSuccessAt ? zonedTime(x.lastSuccessAt) : 'never'],
    ['Last failure: ', x.lastFailureAt ? zonedTime(x.lastFailureAt) : 'never', x.lastFailureReason ? ` (${x.lastFailureReason})` : ''],
    [`${x.consecutiveFailures} failure${x.consecutiveFailures === 1 ? '' : 's'} in a row`],
  ];
  if (x.breakerOpenUntil) parts.push(['Breaker open until ', zonedTime(x.breakerOpenUntil)]);
  parts.push([`${x.pending} pending`], [`${x.deadLettered} dead-lettered`]);
  return h('div', { class: 'health', 'data-health': state.text.toLowerCase() }, [
    h('strong', { text: 'Health: ' }),
    h('span', { class: `badge ${state.cls}`, text: state.text }),
    h('ul', { class: 'meta health-facts' }, parts.map((p) => h('li', {}, p))),
  ]);
}

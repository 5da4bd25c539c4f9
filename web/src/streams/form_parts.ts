/** What the destination forms of every category share: the event type filters' fieldset, and closing. */
import { clear, h } from '../dom';
import type { StreamsContext } from './context';

/** The event type filters of a form (the checkbox list of event_types.ts, and its error region). */
export function filtersFieldset(boxes: HTMLElement, err: HTMLElement): HTMLFieldSetElement {
  return h('fieldset', {}, [h('legend', { text: 'Event type filters (none selected: every event type)' }), boxes, err]);
}

/**
 * The form's close(), also wired to its Cancel: the form goes, Add is enabled again and focus
 * returns to `opener`. A cancelled add whose destination was already created (`createdMeanwhile`)
 * reloads the list, so that the destination shows.
 */
export function formCloser(ctx: StreamsContext, opener: HTMLElement | null, cancel: HTMLButtonElement, createdMeanwhile: () => boolean): () => void {
  const close = () => {
    clear(ctx.formHost);
    ctx.addBtn.disabled = false;
    if (opener && opener.isConnected) opener.focus();
    else ctx.addBtn.focus();
  };
  cancel.addEventListener('click', () => {
    if (createdMeanwhile()) void ctx.reload();
    close();
  });
  return close;
}

/** Adding a destination: a category picker above the form of the chosen category (http first, as GitLab's own UI). */
import { h, nextId } from '../dom';
import type { DestinationCategory } from '../types';
import { openCloudForm } from './cloud_form';
import type { StreamsContext } from './context';
import { openForm } from './form';

const CHOICES: Array<[DestinationCategory, string]> = [
  ['http', 'HTTP endpoint (http)'],
  ['aws', 'Amazon S3 (aws)'],
  ['gcp', 'Google Cloud Logging (gcp)'],
];

/** Open the add form of `category`; the picker in it reopens the form for another category. */
export function openAddForm(ctx: StreamsContext, category: DestinationCategory, opener: HTMLElement | null): void {
  const id = nextId('dest-category');
  const select = h('select', { id }, CHOICES.map(([value, text]) => h('option', { value, text, selected: value === category })));
  select.value = category;
  select.addEventListener('change', () => {
    openAddForm(ctx, select.value as DestinationCategory, opener);
    (ctx.formHost.querySelector(`select`) as HTMLSelectElement | null)?.focus();
  });
  const picker = h('div', { class: 'field' }, [h('label', { for: id, text: 'Category' }), select]);
  if (category === 'http') openForm(ctx, null, opener, picker);
  else openCloudForm(ctx, category, null, opener, picker);
}

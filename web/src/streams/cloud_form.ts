/**
 * The add/edit form of an Amazon S3 (aws) or Google Cloud Logging (gcp) destination, through
 * GitLab 18's consolidated API: name, the category's config, its secret (the secret access key,
 * or the service account's private key in PEM; write-only: left empty on edit, it is kept), active,
 * event type filters and namespace filters. Each field is checked here by the API's own rules
 * (the API answers only "Config must be a valid json schema"), its error shown next to it.
 *
 * A new destination is created with its event type filters in one step (the create's
 * eventTypeFilters argument, ours), then given its namespace filters, then paused when Active is
 * unchecked (a paused destination keeps what it receives meanwhile for its resume).
 */
import { mutate } from '../api';
import { clear, h, messageOfError, nextId, region, say } from '../dom';
import { typeCheckboxes } from '../event_types';
import type { DestinationCategory, StreamingDestination } from '../types';
import type { StreamsContext } from './context';
import { filtersFieldset, formCloser } from './form_parts';
import { namespaceFilterField } from './namespace_filters';

interface FieldSpec {
  key: string;
  label: string;
  hint: string;
  /** The error when the value breaks the API's rule, else null. */
  check: (v: string) => string | null;
}

const rule = (min: number, max: number, re: RegExp, words: string) => (v: string) => (v.length >= min && v.length <= max && re.test(v) ? null : words);

/** The config fields of each cloud category, with GitLab's JSON schema rules (src/destinations/config.ts). */
export const CLOUD_FIELDS: Record<'aws' | 'gcp', FieldSpec[]> = {
  aws: [
    { key: 'accessKeyXid', label: 'Access key ID', hint: '16 to 128 letters or digits.', check: rule(16, 128, /^[A-Za-z0-9]+$/, 'Access key ID must be 16 to 128 letters or digits.') },
    { key: 'bucketName', label: 'Bucket name', hint: '3 to 63 lower-case letters, digits, dots or hyphens.', check: rule(3, 63, /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'Bucket name must be 3 to 63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit.') },
    { key: 'awsRegion', label: 'AWS region', hint: 'For example eu-west-1.', check: rule(1, 50, /^[a-z0-9-]+$/, 'AWS region must be lower-case letters, digits and hyphens (for example eu-west-1).') },
  ],
  gcp: [
    { key: 'googleProjectIdName', label: 'Google project ID', hint: '6 to 30 lower-case letters, digits or hyphens, starting with a letter.', check: rule(6, 30, /^[a-z][a-z0-9-]*[a-z0-9]$/, 'Google project ID must be 6 to 30 lower-case letters, digits or hyphens, starting with a letter.') },
    { key: 'clientEmail', label: 'Client email', hint: 'The service account’s email.', check: rule(3, 254, /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'Client email must be an email address.') },
    { key: 'logIdName', label: 'Log ID', hint: 'audit-events when left empty.', check: (v) => (v === '' || /^[\w/.-]{1,511}$/.test(v) ? null : 'Log ID must be letters, digits, _ / . or - (at most 511).') },
  ],
};

const SECRET_LABEL = { aws: 'Secret access key', gcp: 'Private key (PEM)' } as const;
const SECRET_MAX = 4096;

/** Open the form of a cloud destination (`dest` null: add one). `picker` (adding only) switches category. */
export function openCloudForm(ctx: StreamsContext, category: DestinationCategory, dest: StreamingDestination | null, opener: HTMLElement | null, picker: HTMLElement | null = null): void {
  const cat = category as 'aws' | 'gcp';
  const { cfg, scope, formHost, addBtn } = ctx;
  clear(formHost);
  addBtn.disabled = true;
  const state: { dest: StreamingDestination | null } = { dest };
  const formErr = region('error');
  const field = (label: string, control: HTMLInputElement | HTMLTextAreaElement, hint: string, err: HTMLElement) => {
    control.id = nextId('cloud');
    control.setAttribute('aria-describedby', `${control.id}-hint ${err.id}`);
    return h('div', { class: 'field' }, [h('label', { for: control.id, text: label }), h('span', { class: 'hint', id: `${control.id}-hint`, text: hint }), control, err]);
  };
  const nameErr = region('error');
  const name = h('input', { type: 'text', autocomplete: 'off', value: dest ? dest.name : '' });
  const inputs = CLOUD_FIELDS[cat].map((f) => ({ f, err: region('error'), input: h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', value: String(dest?.config[f.key] ?? '') }) }));
  const secretErr = region('error');
  const secret = cat === 'aws' ? h('input', { type: 'password', autocomplete: 'off' }) : h('textarea', { rows: 4, spellcheck: 'false' });
  const secretHint = `${dest ? 'Leave empty to keep the current one. ' : 'Required. '}Never shown again after saving to anyone but Owners and administrators.`;
  const activeId = nextId('cloud-active');
  const active = h('input', { id: activeId, type: 'checkbox', checked: dest ? dest.active : true });
  const typeBoxes = typeCheckboxes(dest?.eventTypeFilters || []);
  const filtersErr = region('error');
  const ns = namespaceFilterField(dest?.namespaceFilters ?? null);
  const submit = h('button', { type: 'submit' }, [dest ? 'Save changes' : 'Add destination']);
  const cancel = h('button', { type: 'button', class: 'secondary' }, ['Cancel']);
  const heading = h('h3', { id: nextId('form-title') });
  const title = (d: StreamingDestination | null) => clear(heading).append(...(d ? ['Edit destination ', h('q', { class: 'editing-name', text: d.name })] : [`Add ${cat === 'aws' ? 'Amazon S3' : 'Google Cloud Logging'} destination`]));
  title(dest);
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': heading.id, 'data-category': cat }, [
    heading,
    picker,
    formErr,
    field('Name', name, 'Optional; at most 72 characters.', nameErr),
    ...inputs.map((x) => field(x.f.label, x.input, x.f.hint, x.err)),
    field(SECRET_LABEL[cat], secret, secretHint, secretErr),
    h('div', { class: 'field inline' }, [active, h('label', { for: activeId, text: 'Active (events are streamed to this destination)' })]),
    filtersFieldset(typeBoxes.element, filtersErr),
    ns.element,
    h('div', { class: 'actions' }, [submit, cancel]),
  ]);
  const close = formCloser(ctx, opener, cancel, () => !!state.dest && !dest);

  /** Check every field by the API's rules; errors in place. */
  const checkFields = (): boolean => {
    let ok = true;
    const fail = (el: HTMLElement, m: string) => {
      say(el, m);
      ok = false;
    };
    if (name.value.length > 72) fail(nameErr, 'Name is too long (maximum is 72 characters)');
    for (const x of inputs) {
      const m = x.f.check(x.input.value.trim());
      if (m) fail(x.err, m);
    }
    if (!state.dest && secret.value.trim() === '') fail(secretErr, `${SECRET_LABEL[cat]} is required.`);
    if (secret.value.length > SECRET_MAX) fail(secretErr, `${SECRET_LABEL[cat]} is too long (maximum is ${SECRET_MAX} characters).`);
    if (!ns.check()) ok = false;
    return ok;
  };
  const config = () => Object.fromEntries(inputs.filter((x) => x.input.value.trim() !== '' || x.f.key !== 'logIdName').map((x) => [x.f.key, x.input.value.trim()]));
  /** The API's errors: the name's and the secret's next to them, the rest above the form. */
  const place = (errors: string[]) => {
    for (const m of errors) {
      const target = /^name\b/i.test(m) ? nameErr : /^secret token\b/i.test(m) ? secretErr : formErr;
      say(target, target.textContent ? `${target.textContent}; ${m}` : m);
    }
  };

  /** Add and remove event type filters to match the boxes (after a create, nothing is left to do). */
  const saveFilters = async (saved: StreamingDestination): Promise<string[]> => {
    const current = saved.eventTypeFilters || [];
    const wanted = typeBoxes.checked();
    const add = wanted.filter((t) => !current.includes(t));
    const remove = current.filter((t) => !wanted.includes(t));
    const errors: string[] = [];
    if (add.length) {
      const p = await mutate(cfg.cons.eventsAdd, { destinationId: saved.id, eventTypeFilters: add }, 'eventTypeFilters');
      errors.push(...p.errors);
      if (!p.errors.length) saved.eventTypeFilters = current.concat(add);
    }
    if (remove.length) {
      const p = await mutate(cfg.cons.eventsRemove, { destinationId: saved.id, eventTypeFilters: remove });
      errors.push(...p.errors);
      if (!p.errors.length) saved.eventTypeFilters = (saved.eventTypeFilters || []).filter((t) => !remove.includes(t));
    }
    if (errors.length) say(filtersErr, errors.join('; '));
    return errors;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const r of form.querySelectorAll('.error')) say(r, '');
    if (!checkFields()) {
      (form.querySelector('.error:not(:empty)')?.parentElement?.querySelector('input, textarea') as HTMLElement | null)?.focus();
      return;
    }
    submit.disabled = true;
    try {
      const creating = !state.dest;
      const fields = `externalAuditEventDestination { id name category config active eventTypeFilters }`;
      let saved: StreamingDestination | null;
      if (!state.dest) {
        const input: Record<string, unknown> = { category: cat, config: config(), secretToken: secret.value };
        if (scope.kind === 'group') input.groupPath = scope.path;
        if (name.value.trim()) input.name = name.value;
        // The filters go with the create (our eventTypeFilters argument, in its one transaction),
        // so a filtered destination never receives an event outside them, its creation included.
        const filters = typeBoxes.checked();
        if (filters.length) input.eventTypeFilters = filters;
        const p = await mutate(cfg.cons.create, input, fields);
        saved = p.errors.length ? null : (p.externalAuditEventDestination as StreamingDestination | null);
        if (p.errors.length) place(p.errors);
      } else {
        const input: Record<string, unknown> = { id: state.dest.id, config: config() };
        if (name.value !== state.dest.name) input.name = name.value;
        if (secret.value !== '') input.secretToken = secret.value;
        if (active.checked !== state.dest.active) input.active = active.checked;
        const p = await mutate(cfg.cons.update, input, fields);
        saved = p.errors.length ? null : ((p.externalAuditEventDestination as StreamingDestination | null) ?? state.dest);
        if (p.errors.length) place(p.errors);
      }
      if (saved) {
        const problems = [...(await saveFilters(saved)), ...(await ns.save(ctx, saved.id))];
        // What is saved so far: a second submit after a partial failure updates it, not creates again.
        state.dest = { ...saved, namespaceFilters: state.dest?.namespaceFilters ?? null, health: state.dest?.health ?? saved.health };
        if (creating && !active.checked) {
          const p = await mutate(cfg.cons.update, { id: saved.id, active: false });
          problems.push(...p.errors);
          place(p.errors);
        }
        if (problems.length) {
          title(state.dest);
          submit.textContent = 'Save changes';
          secret.value = '';
          if (!formErr.textContent) say(formErr, 'The destination is saved, but some changes were not: see the messages below.');
        } else {
          close();
          await ctx.reload();
          say(ctx.listStatus, `Destination ${saved.name || ''} ${creating ? 'added' : 'saved'}.`);
        }
      }
    } catch (e2) {
      say(formErr, messageOfError(e2));
    }
    submit.disabled = false;
    const firstErr = form.querySelector('.error:not(:empty)');
    if (firstErr) ((firstErr.parentElement?.querySelector('input, textarea') as HTMLElement | null) || submit).focus();
  });
  formHost.appendChild(form);
  (inputs[0]?.input ?? name).focus();
}

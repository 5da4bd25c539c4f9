/**
 * Times as the log and the delivery log show them: in UTC with the zone named (as the CSV and
 * the API are), or in the viewer's own zone, by a toggle whose choice is remembered
 * (localStorage). Every `<time data-zoned>` on the page follows the toggle at once.
 */
import { h } from './dom';

const ZONE_KEY = 'audit-events-edge.time-zone';
export type Zone = 'utc' | 'local';

export function zone(): Zone {
  try {
    return localStorage.getItem(ZONE_KEY) === 'local' ? 'local' : 'utc';
  } catch {
    return 'utc';
  }
}

function setZone(z: Zone): void {
  try {
    localStorage.setItem(ZONE_KEY, z);
  } catch {
    /* storage refused: the choice lasts for this page only */
  }
  current = z;
}

let current: Zone | null = null;
const active = (): Zone => (current ??= zone());

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-11-27 23:48:57 UTC", or the viewer's zone: "27/11/2026, 15:48:57 PST". */
export function formatTime(iso: string, z: Zone = active()): string {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  if (z === 'utc') {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  return d.toLocaleString(undefined, { timeZoneName: 'short' });
}

/** A `<time>` that follows the zone toggle; its title has the other zone's reading. */
export function zonedTime(iso: string): HTMLTimeElement {
  const el = h('time', { datetime: iso, 'data-zoned': '' });
  paint(el);
  return el;
}

function paint(el: HTMLTimeElement): void {
  const iso = el.dateTime;
  const z = active();
  el.textContent = formatTime(iso, z);
  el.title = formatTime(iso, z === 'utc' ? 'local' : 'utc');
}

/** The local zone's name, as the toggle shows it ("Europe/Paris"). */
function localZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'your time zone';
}

/** A date (YYYY-MM-DD) as an instant: midnight (or the day's last millisecond) in the shown zone. */
export function dayBound(date: string, end: boolean): string {
  const clock = end ? 'T23:59:59.999' : 'T00:00:00';
  return new Date(`${date}${clock}${active() === 'utc' ? 'Z' : ''}`).toISOString();
}

/** The toggle button: "Times in UTC" ⇄ "Times in <zone>"; repaints every zoned time. */
export function zoneToggle(onChange?: () => void): HTMLButtonElement {
  const btn = h('button', { type: 'button', class: 'secondary zone-toggle' });
  const label = () => {
    const utc = active() === 'utc';
    btn.textContent = utc ? `Show times in ${localZoneName()}` : 'Show times in UTC';
    btn.setAttribute('aria-description', utc ? 'Times are shown in UTC.' : `Times are shown in ${localZoneName()}.`);
  };
  btn.addEventListener('click', () => {
    setZone(active() === 'utc' ? 'local' : 'utc');
    for (const el of document.querySelectorAll<HTMLTimeElement>('time[data-zoned]')) paint(el);
    for (const other of document.querySelectorAll<HTMLButtonElement>('button.zone-toggle')) other.dispatchEvent(new Event('zone-changed'));
    onChange?.();
  });
  btn.addEventListener('zone-changed', label);
  label();
  return btn;
}

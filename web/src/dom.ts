/**
 * DOM helpers: build elements with attributes and children (text through textContent only,
 * never innerHTML), live regions for errors and statuses, times, and safe links.
 */

/** An attribute value; `on<event>` keys take a listener, `text` sets textContent. */
export type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;
export type Child = Node | string | null | undefined | false;

let uid = 0;

/** An element with attributes and children; null, undefined and false values are skipped. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, children?: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'checked' || k === 'disabled' || k === 'hidden') (el as unknown as Record<string, boolean>)[k] = !!v;
    else if (k === 'value') (el as unknown as { value: string }).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children ?? []) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** Remove every child of `el`; returns `el`. */
export function clear<E extends Element>(el: E): E {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A document-unique id with a readable prefix. */
export function nextId(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A live region for errors or statuses: present from the start so screen readers announce changes. */
export function region(kind: 'error' | 'status'): HTMLParagraphElement {
  return h('p', { class: kind === 'status' ? 'status' : 'error', 'aria-live': 'polite', id: nextId(kind) });
}

/** Set a region's text (empty hides it). */
export function say(el: Element, text?: string | null): void {
  el.textContent = text || '';
}

/** One URL path segment (or a full path as one segment, as the API takes `group%2Fsub`). */
export function enc(path: string): string {
  return encodeURIComponent(path);
}

/** A timestamp in the viewer's locale. */
export function fmtTime(iso: string): string {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function timeEl(iso: string): HTMLTimeElement {
  return h('time', { datetime: iso, text: fmtTime(iso) });
}

/** Only http(s) URLs become links; anything else is shown as text. */
export function safeHref(url: string): string | null {
  try {
    const u = new URL(url, location.origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** The element with this id, which the page shell always has. */
export function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page has no #${id}.`);
  return el;
}

/** The error's message (rejections of the API helpers are Errors with the API's own words). */
export function messageOfError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

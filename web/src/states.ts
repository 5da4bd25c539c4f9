/** One clear message per state of a page that could not load its resource: signed out, not found, not allowed. */
import { signInHref } from './account';
import { ApiFailure, getToken } from './api';
import { h, messageOfError } from './dom';

/**
 * The message for a failed load of `what` ("project", "group", ...): signed out and refused →
 * "Sign in to see this"; signed in and 404 → not found or not visible; 403 → not allowed.
 */
export function failureNotice(e: unknown, what: string): HTMLElement {
  const status = e instanceof ApiFailure ? e.status : 0;
  if (!getToken() && (status === 401 || status === 403 || status === 404)) {
    return h('div', { class: 'notice', role: 'status', 'data-state': 'signed-out' }, [
      h('p', { text: `Sign in to see this ${what}.` }),
      h('p', {}, [`It is not public: `, h('a', { href: signInHref() }, ['Sign in']), ` with an account that is a member.`]),
    ]);
  }
  if (status === 404) {
    return h('div', { class: 'notice', role: 'status', 'data-state': 'not-found' }, [
      h('p', { text: `You cannot see this ${what}: it is private and you are not a member, or it no longer exists.` }),
    ]);
  }
  if (status === 403) {
    return h('div', { class: 'notice', role: 'status', 'data-state': 'not-allowed' }, [
      h('p', { text: `You are not allowed to do this (${messageOfError(e)}).` }),
    ]);
  }
  return h('p', { class: 'error', role: 'alert', text: messageOfError(e) });
}

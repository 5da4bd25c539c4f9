/** The signed-in user (from the token), the header's account area, and the sign-in notices. */
import { forgetToken, getToken, rest } from './api';
import { byId, clear, enc, h } from './dom';
import type { User } from './types';

let currentUser: User | null = null;

/** The user the token belongs to, once loaded (null when signed out or the token failed). */
export function signedInUser(): User | null {
  return currentUser;
}
export function setSignedInUser(user: User | null): void {
  currentUser = user;
}

/** The sign-in page, coming back here afterwards. */
export function signInHref(): string {
  return `/-/sign_in?return=${enc(location.pathname + location.search + location.hash)}`;
}

/** The header's account area: who is signed in and Sign out, or a Sign in link. */
export function renderAccount(page: string): void {
  const nav = clear(byId('account'));
  if (getToken()) {
    nav.appendChild(h('span', { class: 'who', text: currentUser ? `Signed in as @${currentUser.username}` : 'Signed in' }));
    nav.appendChild(
      h('button', { type: 'button', onclick: () => { forgetToken(); location.assign('/-/sign_in'); } }, ['Sign out']),
    );
  } else if (page !== 'sign_in') {
    nav.appendChild(h('a', { href: signInHref() }, ['Sign in']));
  }
}

/** Load the token's user (null without a token or when the token is refused). */
export async function loadUser(page: string): Promise<User | null> {
  if (!getToken()) return null;
  try {
    currentUser = (await rest<User>('/api/v4/user')).body;
    renderAccount(page);
    return currentUser;
  } catch {
    return null;
  }
}

/** "<what> needs a personal access token. Sign in to continue." */
export function signInNotice(what: string): HTMLElement {
  return h('p', { class: 'notice' }, [`${what} needs a personal access token. `, h('a', { href: signInHref() }, ['Sign in']), ' to continue.']);
}

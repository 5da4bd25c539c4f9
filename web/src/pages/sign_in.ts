/** The sign-in page (`/-/sign_in`, and `/` when signed out): a personal access token, checked against GET /api/v4/user. */
import { setSignedInUser, renderAccount } from '../account';
import { getToken, messageOf, readBody, setToken } from '../api';
import { h, messageOfError, region, say } from '../dom';
import type { User } from '../types';
import { renderHome } from './home';
import { safeReturnPath } from '../../../src/pages/return_path';

/**
 * Where to go once signed in: the page's `data-return` (the server's decision on `?return=`),
 * checked again here with the same code against this page's origin, so that only a path of this
 * origin is ever navigated to (anything else: `/`). Null when the URL names no return.
 */
function returnPath(): string | null {
  const decided = document.body.dataset.return;
  return decided === undefined ? null : safeReturnPath(decided, location.origin);
}

export function renderSignIn(app: HTMLElement): void {
  app.replaceChildren();
  if (getToken()) {
    renderHome(app);
    return;
  }
  const err = region('error');
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': `token-hint ${err.id}`,
  });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'page-title' }, [
    h('div', { class: 'field' }, [
      h('label', { for: 'token', text: 'Personal access token' }),
      h('span', {
        class: 'hint', id: 'token-hint',
        text: 'A token with the api scope (read_api to only read). It is kept in this browser tab only (sessionStorage) and sent with every request; Sign out forgets it.',
      }),
      input,
      err,
    ]),
    h('button', { type: 'submit' }, ['Sign in']),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = input.value.trim();
    say(err, '');
    if (!t) {
      say(err, 'Enter a personal access token.');
      input.focus();
      return;
    }
    try {
      const res = await fetch('/api/v4/user', { headers: { 'PRIVATE-TOKEN': t, Accept: 'application/json' }, credentials: 'omit' });
      const body = await readBody(res);
      if (!res.ok) {
        say(err, messageOf(body, res.status));
        input.focus();
        return;
      }
      setToken(t);
      setSignedInUser(body as User);
      const back = returnPath();
      if (back) location.assign(back);
      else {
        renderAccount('sign_in');
        renderSignIn(app);
      }
    } catch (e2) {
      say(err, messageOfError(e2));
    }
  });
  app.appendChild(form);
  input.focus();
}

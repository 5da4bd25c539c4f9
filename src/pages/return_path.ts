/**
 * Where the sign-in page sends the browser once signed in (`/-/sign_in?return=`): a path of the
 * page's own origin, never another site (issue 17: paths such as `/<tab>/evil.example` passed a
 * check of the first characters and the browser took them to another origin). The decision is
 * the browser's own URL parser's (WHATWG URL, as workerd implements it): the value is parsed
 * against the page's origin and kept only when the result has that origin. Pure, so that the
 * server (src/pages/index.ts renders it into the page) and the client (web/src/pages/sign_in.ts,
 * before it navigates) decide with the same code.
 */

/** Longest return value considered (a sign-in link's own path and query are far shorter). */
export const RETURN_MAX_LENGTH = 2048;

/** C0 and C1 control characters, DEL, and backslashes (which URL parsers read as slashes): never in a return value. */
const REFUSED_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\\]/;

/**
 * The same-origin path (with its query and fragment) to go to after signing in, or `/` when
 * `value` is missing, too long, holds a control character or backslash, is not a URL, names
 * another origin (`//x`, `https://x`, `javascript:`, `data:`, `http:x`, credentials before
 * `@`...), or parses to a path that would itself be read as another host (`/.//x` becomes `//x`).
 */
export function safeReturnPath(value: string | null | undefined, pageOrigin: string): string {
  if (!value || value.length > RETURN_MAX_LENGTH || REFUSED_CHARACTERS.test(value)) return '/';
  let origin: string;
  let url: URL;
  try {
    origin = new URL(pageOrigin).origin;
    url = new URL(value, origin);
  } catch {
    return '/';
  }
  if (url.origin !== origin || (url.protocol !== 'https:' && url.protocol !== 'http:')) return '/';
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Navigated as a relative reference, `//x` (or `/\x`) would leave the origin again.
  if (!path.startsWith('/') || path.startsWith('//') || new URL(path, origin).origin !== origin) return '/';
  return path;
}

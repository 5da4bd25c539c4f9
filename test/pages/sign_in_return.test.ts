/**
 * The sign-in page's `return` (issue 17: an open redirect after sign-in): only a path of the
 * page's own origin, decided by the URL parser the browser uses (`new URL(value, origin)`), and
 * `/` for anything else. The server renders the decision into the page (`data-return`); the
 * client checks again with the same function before it navigates.
 */
import { describe, expect, it } from 'vitest';
import { BASE, call } from '../support/api';
import { safeReturnPath } from '../../src/pages/return_path';

/** Values (as the page reads them from its query) that a browser would take to another origin, or run as script. */
const ATTACKS = [
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '\t//evil.example',
  ' //evil.example',
  '/\u0000/evil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/a/../..//evil.example',
  `//${new URL(BASE).host}//evil.example`,
  'https://evil.example/',
  'https:evil.example',
  'https:/evil.example',
  `${BASE}@evil.example/`,
  `https://${new URL(BASE).host}/`,
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'java\tscript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'x'.repeat(3000),
];

describe('sign-in return path', () => {
  it.each(ATTACKS.map((a) => [JSON.stringify(a).slice(0, 60), a]))('refuses %s (goes to /)', (_name, attack) => {
    expect(safeReturnPath(attack, BASE)).toBe('/');
  });

  it('keeps paths of the page origin, with their query and fragment', () => {
    expect(safeReturnPath('/groups/g1', BASE)).toBe('/groups/g1');
    expect(safeReturnPath('/g1/p1/-/releases/v1.0?x=1#assets', BASE)).toBe('/g1/p1/-/releases/v1.0?x=1#assets');
    expect(safeReturnPath(`${BASE}/groups/g1#streams`, BASE)).toBe('/groups/g1#streams');
    // A scheme-relative form of the page's own scheme is a path of this origin (as the browser reads it).
    expect(safeReturnPath('http:evil.example', BASE)).toBe('/evil.example');
    expect(safeReturnPath('/', BASE)).toBe('/');
    expect(safeReturnPath('', BASE)).toBe('/');
    expect(safeReturnPath(null, BASE)).toBe('/');
  });

  /** The page's `data-return` for a sign-in URL whose query is `query`. */
  async function renderedReturn(path: string, query: string): Promise<string | null> {
    const res = await call('GET', `${path}?${query}`);
    expect(res.status).toBe(200);
    const m = /data-return="([^"]*)"/.exec(await res.text());
    return m ? m[1]!.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))) : null;
  }

  it('the page renders the decision for the client, on /-/sign_in and on /', async () => {
    for (const attack of ATTACKS) {
      expect(await renderedReturn('/-/sign_in', new URLSearchParams({ return: attack }).toString()), JSON.stringify(attack)).toBe('/');
    }
    // Encoded in the query as a link would carry them: a tab or a backslash after the first slash.
    expect(await renderedReturn('/-/sign_in', 'return=/%09/evil.example')).toBe('/');
    expect(await renderedReturn('/-/sign_in', 'return=/%5Cevil.example')).toBe('/');
    expect(await renderedReturn('/', 'return=%2F%2Fevil.example')).toBe('/');
    expect(await renderedReturn('/-/sign_in', `return=${encodeURIComponent('/groups/g1?tab=x#streams')}`)).toBe('/groups/g1?tab=x#streams');
    // Markup in an accepted path reaches the page percent-encoded (and the attribute is escaped).
    expect(await renderedReturn('/-/sign_in', `return=${encodeURIComponent('/x"><script>alert(1)</script>')}`)).toBe('/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E');
    // Without a return, nothing to decide: the client stays on the page.
    expect(await renderedReturn('/-/sign_in', 'x=1')).toBe(null);
  });
});

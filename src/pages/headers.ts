/**
 * The security headers of every page the Worker renders. Static assets get the same ones from
 * public/_headers (Workers Static Assets applies that file; it does not apply to responses the
 * Worker builds itself), so the two are checked to agree (test/pages/pages.test.ts).
 */

/**
 * Content-Security-Policy of every page and asset: only same-origin scripts, styles and API
 * calls; no inline code, no framing, no external requests.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Headers of a page (or a page's error) of this content type: the CSP and its companions; never cached. */
export function pageHeaders(type: string): Headers {
  return new Headers({
    'Content-Type': type,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    // Pages carry no data (the script fetches it with the user's token), but never cache them.
    'Cache-Control': 'no-store',
  });
}

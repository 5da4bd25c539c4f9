/**
 * A DNS-over-HTTPS stand-in for the SSRF guard's resolution-time check (src/delivery/ssrf_doh.ts),
 * served by the tests' receiver (receiver-setup.mjs) on 127.0.0.1. It answers the JSON API
 * (`GET /doh/<anything>?name=<host>&type=A|AAAA`, application/dns-json) from records the tests
 * set with `POST /_doh` {name, A?: string[], AAAA?: string[], httpStatus?: number}; an unknown
 * name is NXDOMAIN (Status 3). Answers are data only: nothing ever connects to them.
 */

/** @type {Map<string, {A?: string[], AAAA?: string[], httpStatus?: number}>} */
const records = new Map();

/** POST /_doh: set the records of a name. */
export function setDohRecords(body) {
  const r = JSON.parse(body);
  records.set(String(r.name).toLowerCase(), r);
}

/** GET /doh/...: the answer to one query, as [status, JSON body]. */
export function dohAnswer(url) {
  const name = (url.searchParams.get('name') ?? '').toLowerCase();
  const type = url.searchParams.get('type') ?? '';
  const r = records.get(name);
  if (r?.httpStatus) return [r.httpStatus, { error: 'failing on purpose' }];
  const rrType = type === 'A' ? 1 : type === 'AAAA' ? 28 : 0;
  const question = [{ name, type: rrType }];
  if (!r) return [200, { Status: 3, Question: question }];
  // A CNAME first, as resolvers answer for aliases: the check reads only A and AAAA records.
  const answer = [{ name, type: 5, TTL: 60, data: `alias.${name}.` }];
  for (const data of r[type] ?? []) answer.push({ name: `alias.${name}.`, type: rrType, TTL: 60, data });
  return [200, { Status: 0, Question: question, Answer: answer }];
}

/** Helpers for the GraphQL limit and budget tests: run a document and see what it cost. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleGraphql } from '../../src/graphql/handler';
import { BASE } from '../support/api';
import { countingEnv } from '../support/d1';

/** One answer with its cost: wall time of the whole request and the D1 round trips it made (authentication included). */
export interface Measured {
  status: number;
  body: { data?: any; errors?: { message: string; path?: unknown; locations?: unknown }[] };
  ms: number;
  d1: number;
}

/** POST a document to the GraphQL handler on a counting env (anonymous when `token` is null). */
export async function measured(query: string, token: string | null = null, variables?: Record<string, unknown>): Promise<Measured> {
  const counting = countingEnv();
  const ctx = createExecutionContext();
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers['PRIVATE-TOKEN'] = token;
  const started = performance.now();
  const res = await handleGraphql(new Request(`${BASE}/api/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }), counting.env, ctx);
  const body = (await res.json()) as Measured['body'];
  const ms = performance.now() - started;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body, ms, d1: counting.roundTrips() };
}

/** The messages of an answer's errors. */
export const messages = (m: Measured) => (m.body.errors ?? []).map((e) => e.message);

/** Helpers for the GraphQL limit and budget tests: run a document and see what it cost. */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { execute, parse } from 'graphql';
import { handleGraphql } from '../../src/graphql/handler';
import { schema } from '../../src/graphql/schema';
import { meteredEnv, meteredFieldResolver, RequestBudget } from '../../src/graphql/budget';
import { authenticate } from '../../src/auth/authenticate';
import type { Env } from '../../src/env';
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

/** What a document spent of the request budget when it ran (the handler's own metering, run here to read its counts). */
export async function spent(query: string, token: string | null, variables?: Record<string, unknown>): Promise<{ resolverCalls: number; d1Queries: number; errors: readonly unknown[] }> {
  const request = new Request(`${BASE}/api/graphql`, { method: 'POST', headers: token ? { 'PRIVATE-TOKEN': token } : {} });
  const actor = await authenticate(request, env as Env);
  const budget = new RequestBudget();
  const ctx = createExecutionContext();
  const result = await execute({
    schema,
    document: parse(query),
    variableValues: variables,
    contextValue: { env: meteredEnv(env as Env, budget), ctx, request, actor },
    fieldResolver: meteredFieldResolver(budget),
  });
  budget.close();
  await waitOnExecutionContext(ctx);
  return { resolverCalls: budget.resolverCalls, d1Queries: budget.d1Queries, errors: (result as { errors?: readonly unknown[] }).errors ?? [] };
}

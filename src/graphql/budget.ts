/**
 * The budget of one GraphQL request's execution, enforced while it runs: at most
 * BUDGET.resolverCalls calls of the schema's resolvers (fields that compute something; reading
 * a property of an object already loaded is not a call) and at most BUDGET.d1Queries D1
 * queries (round trips: a statement's first/all/run/raw, a batch, an exec). The call or query
 * past the budget is not made: it fails with a GraphQL error, and so does every later one,
 * so a document that passed the static limits (./limits.ts) still cannot make the Worker do
 * more. The request then answers one error saying which budget ran out, beside the data
 * resolved until then (a mutation that committed before stays reported).
 */
import type { GraphQLFieldResolver } from 'graphql';
import { BindingTrace, traceEnv } from '../bench/trace';
import type { Env } from '../env';
import { PublicError } from './errors';
import { fieldResolver, hasResolver } from './schema';

/**
 * The budget of one request (README, "GraphQL" and "Security"). A full page of 100 releases with
 * every field and two links each makes 2,202 resolver calls (about 12 per release and 5 per
 * link), so 5,000 leaves room for five links each; the Streams tab's heaviest document makes 38
 * D1 queries (5 destinations with their deliveries).
 */
export const BUDGET = { resolverCalls: 5_000, d1Queries: 50 } as const;

/** The error of a call or query past the budget. */
export class BudgetExceeded extends PublicError {}

/** What one request has spent; `close()` ends the metering (work after the response is not the request's). */
export class RequestBudget {
  resolverCalls = 0;
  d1Queries = 0;
  /** The first refusal, if any. */
  exceeded: BudgetExceeded | null = null;
  private closed = false;

  /** Count one resolver call, or refuse it. */
  chargeResolverCall(): void {
    if (!this.closed && ++this.resolverCalls > BUDGET.resolverCalls) throw this.refuse(`Query exceeded the budget of ${BUDGET.resolverCalls} resolver calls per request`);
  }

  /** Count one D1 query, or refuse it. */
  chargeD1Query(): void {
    if (!this.closed && ++this.d1Queries > BUDGET.d1Queries) throw this.refuse(`Query exceeded the budget of ${BUDGET.d1Queries} D1 queries per request`);
  }

  close(): void {
    this.closed = true;
  }

  private refuse(message: string): BudgetExceeded {
    const error = new BudgetExceeded(message);
    this.exceeded ??= error;
    return error;
  }
}

/**
 * `env` whose D1 databases charge each query to the budget before it is sent (through the
 * binding tracer, the one module outside src/db/ that forwards D1 calls).
 */
export function meteredEnv(env: Env, budget: RequestBudget): Env {
  return traceEnv(env, new BindingTrace(), {
    d1: () => (call) => {
      budget.chargeD1Query();
      return call();
    },
  });
}

/** The schema's field resolver, charging each call of a resolver of its own to the budget. */
export function meteredFieldResolver(budget: RequestBudget): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    if (hasResolver(info.parentType.name, info.fieldName)) budget.chargeResolverCall();
    return fieldResolver(source, args, context, info);
  };
}

/**
 * GraphQL over HTTP at /api/graphql: GET (queries only) and POST. 400 for requests that cannot
 * be parsed or validated, 200 with `data` and `errors` otherwise. Each document is checked once
 * (tokens, depth, complexity, aliases, directives: ./limits.ts; graphql-js's rules) and its
 * verdict cached (./documents.ts); each execution runs within a budget of resolver calls and
 * D1 queries (./budget.ts). Errors not meant for clients are masked and logged.
 */
import {
  execute,
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import { benchRoutesEnabled, type Env } from '../env';
import { authenticate } from '../auth/authenticate';
import { ApiError } from '../web/errors';
import { readBodyText } from '../web/params';
import { PublicError } from './errors';
import { schema } from './schema';
import { LIMITS } from './limits';
import { prepareDocument } from './documents';
import { BudgetExceeded, meteredEnv, meteredFieldResolver, RequestBudget } from './budget';
import type { GraphQLContext } from './context';

/** Largest request body read (a query of LIMITS.maxQueryLength characters and its variables). */
export const MAX_BODY_BYTES = 256 * 1024;

/** Bench-only request header ("true" skips the document cache) honoured only when BENCH_ROUTES is "true". */
export const BENCH_NO_CACHE_HEADER = 'X-Bench-No-Document-Cache';

function respond(body: FormattedExecutionResult | { errors: { message: string }[] }, status: number, extra: HeadersInit = {}): Response {
  const headers = new Headers(extra);
  headers.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(body), { status, headers });
}

const badRequest = (message: string) => respond({ errors: [{ message }] }, 400);

/** The operation that will run: the named one, or the only one. */
function selectOperation(document: DocumentNode, operationName: string | null): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return ops.find((o) => o.name?.value === operationName);
  return ops.length === 1 ? ops[0] : undefined;
}

/**
 * Mask errors that are not meant for clients; keep GraphQL's own (coercion) errors. `internal`:
 * some resolver failed unexpectedly (e.g. D1 refused a write), which the request answers as a
 * whole with GitLab's 500 (GraphqlController's rescue_from StandardError). When the budget ran
 * out, its error is reported once (every later call and query failed the same way), and
 * failures that followed from a refused query are logged, not reported.
 */
function formatResult(result: ExecutionResult, budget: RequestBudget): { formatted: FormattedExecutionResult; internal: boolean } {
  let internal = false;
  const errors: GraphQLFormattedError[] = [];
  for (const e of result.errors ?? []) {
    const original = e.originalError;
    if (original instanceof BudgetExceeded) {
      if (original === budget.exceeded) errors.push(e.toJSON());
    } else if (!original || original instanceof PublicError || original instanceof GraphQLError) {
      errors.push(e.toJSON());
    } else {
      console.error('GraphQL resolver error', original.stack ?? original.message);
      if (budget.exceeded) continue;
      internal = true;
      errors.push(new GraphQLError('Internal server error', { nodes: e.nodes, path: e.path }).toJSON());
    }
  }
  // A resolver that caught the refusal and answered otherwise still spent the budget.
  if (budget.exceeded && !result.errors?.some((e) => e.originalError === budget.exceeded)) errors.push(budget.exceeded.toJSON());
  return { formatted: errors.length ? { data: result.data, errors } : { data: result.data }, internal };
}

interface GraphQLParams {
  query: string;
  variables: Record<string, unknown> | null;
  operationName: string | null;
}

async function readGraphQLParams(request: Request): Promise<GraphQLParams | Response> {
  let raw: Record<string, unknown>;
  if (request.method === 'GET') {
    const sp = new URL(request.url).searchParams;
    raw = { query: sp.get('query') ?? undefined, operationName: sp.get('operationName') ?? undefined };
    const v = sp.get('variables');
    if (v) {
      try {
        raw.variables = JSON.parse(v);
      } catch {
        return badRequest('Variables are invalid JSON.');
      }
    }
  } else {
    const text = await readBodyText(request, MAX_BODY_BYTES);
    const type = (request.headers.get('Content-Type') ?? '').toLowerCase();
    if (type.startsWith('application/graphql')) raw = { query: text };
    else {
      try {
        const parsed = JSON.parse(text) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return badRequest('The request body must be a JSON object.');
        raw = parsed as Record<string, unknown>;
      } catch {
        return badRequest('Unexpected end of JSON input or invalid JSON.');
      }
    }
  }
  if (typeof raw.query !== 'string' || raw.query.trim() === '') return badRequest('No query string was present');
  if (raw.query.length > LIMITS.maxQueryLength) return badRequest('Query too large');
  let variables = raw.variables ?? null;
  if (typeof variables === 'string') {
    try {
      variables = variables.trim() === '' ? null : JSON.parse(variables);
    } catch {
      return badRequest('Variables are invalid JSON.');
    }
  }
  if (variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return badRequest('Variables must be an object.');
  const operationName = raw.operationName ?? null;
  if (operationName !== null && typeof operationName !== 'string') return badRequest('operationName must be a string.');
  return { query: raw.query, variables: variables as Record<string, unknown> | null, operationName };
}

/** Answer a request to /api/graphql. */
export async function handleGraphql(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'POST') {
    return respond({ errors: [{ message: 'Only GET and POST are supported' }] }, 405, { Allow: 'GET, POST' });
  }
  try {
    let actor;
    try {
      actor = await authenticate(request, env);
    } catch {
      return respond({ errors: [{ message: 'Invalid token' }] }, 401);
    }
    const params = await readGraphQLParams(request);
    if (params instanceof Response) return params;
    // `npm run bench:graphql` measures the cache's effect; the header is ignored unless BENCH_ROUTES is "true".
    const prepared = prepareDocument(params.query, !(benchRoutesEnabled(env) && request.headers.get(BENCH_NO_CACHE_HEADER) === 'true'));
    if (!prepared.document) return respond({ errors: prepared.errors.map((e) => e.toJSON()) }, 400);
    const operation = selectOperation(prepared.document, params.operationName);
    if (!operation) {
      return badRequest(params.operationName ? `Unknown operation named "${params.operationName}".` : 'Must provide operation name if query contains multiple operations.');
    }
    if (request.method === 'GET' && operation.operation !== 'query') {
      return respond({ errors: [{ message: 'Mutations are forbidden in GET requests' }] }, 405, { Allow: 'POST' });
    }
    const budget = new RequestBudget();
    const contextValue: GraphQLContext = { env: meteredEnv(env, budget), ctx, request, actor };
    let result;
    try {
      result = await execute({
        schema,
        document: prepared.document,
        variableValues: params.variables ?? undefined,
        operationName: params.operationName ?? undefined,
        contextValue,
        fieldResolver: meteredFieldResolver(budget),
      });
    } finally {
      // Work the request left to ctx.waitUntil (sending its events) is not the request's to budget.
      budget.close();
    }
    const { formatted, internal } = formatResult(result as ExecutionResult, budget);
    if (internal) return internalError();
    // Variables that fail coercion are request errors (no data at all): 400, as the spec says.
    return respond(formatted, formatted.data === undefined ? 400 : 200);
  } catch (err) {
    if (err instanceof ApiError) return respond({ errors: [{ message: String(err.body.message ?? err.body.error) }] }, err.status);
    console.error('GraphQL request failed', err instanceof Error ? err.stack ?? err.message : err);
    return internalError();
  }
}

/** GitLab's answer to an unexpected failure: 500, one masked error, no data. */
function internalError(): Response {
  return respond({ errors: [{ message: 'Internal server error' }] }, 500);
}

/**
 * GraphQL over HTTP at /api/graphql: GET (queries only) and POST. 400 for requests that cannot
 * be parsed or validated, 200 with `data` and `errors` otherwise. Parsed and validated
 * documents are cached in a bounded LRU; size, depth and alias limits protect the Worker.
 * Errors not meant for clients are masked and logged.
 */
import {
  execute,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type FragmentDefinitionNode,
} from 'graphql';
import { benchRoutesEnabled, type Env } from '../env';
import { authenticate } from '../auth/authenticate';
import { ApiError } from '../web/errors';
import { readBodyText } from '../web/params';
import { PublicError } from './errors';
import { fieldResolver, schema } from './schema';
import type { GraphQLContext } from './context';

/** Limits (GitLab's max depth for authenticated requests is 15). */
export const LIMITS = {
  maxQueryLength: 10_000,
  maxTokens: 5_000,
  maxDepth: 15,
  maxAliases: 30,
  maxBodyBytes: 256 * 1024,
  cacheEntries: 500,
};

/** Bench-only request header ("true" skips the document cache) honoured only when BENCH_ROUTES is "true". */
export const BENCH_NO_CACHE_HEADER = 'X-Bench-No-Document-Cache';

interface CachedDocument {
  document?: DocumentNode;
  errors: readonly GraphQLError[];
}

/** Bounded LRU of parsed and validated documents, keyed by query text. */
const documentCache = new Map<string, CachedDocument>();
let cacheHits = 0;
let cacheMisses = 0;

/** Cache statistics (for the GraphQL benchmark). */
export function documentCacheStats() {
  return { size: documentCache.size, hits: cacheHits, misses: cacheMisses };
}

/** Clear the document cache (benchmarks compare cold and warm). */
export function clearDocumentCache(): void {
  documentCache.clear();
  cacheHits = 0;
  cacheMisses = 0;
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const m = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) m.set(d.name.value, d);
  return m;
}

/** Depth of a selection set, following fragments (cycles are caught by validation). */
function depthOf(set: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  if (!set) return 0;
  let max = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value.startsWith('__')) continue; // introspection is bounded by the schema itself
      max = Math.max(max, 1 + depthOf(sel.selectionSet, fragments, seen));
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, depthOf(sel.selectionSet, fragments, seen));
    } else {
      const name = sel.name.value;
      const frag = fragments.get(name);
      if (frag && !seen.has(name)) max = Math.max(max, depthOf(frag.selectionSet, fragments, new Set([...seen, name])));
    }
  }
  return max;
}

function countAliases(document: DocumentNode): number {
  let n = 0;
  const walk = (set: SelectionSetNode | undefined) => {
    if (!set) return;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD && sel.alias) n++;
      if (sel.kind !== Kind.FRAGMENT_SPREAD) walk(sel.selectionSet);
    }
  };
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION) walk(d.selectionSet);
  return n;
}

/** Parse, check limits and validate a query, through the cache (bypassed when `useCache` is false: benchmarks only). */
function prepare(query: string, useCache = true): CachedDocument {
  const cached = useCache ? documentCache.get(query) : undefined;
  if (cached) {
    cacheHits++;
    documentCache.delete(query);
    documentCache.set(query, cached);
    return cached;
  }
  cacheMisses++;
  let result: CachedDocument;
  try {
    const document = parse(query, { maxTokens: LIMITS.maxTokens });
    const fragments = fragmentsOf(document);
    const errors: GraphQLError[] = [];
    for (const d of document.definitions) {
      if (d.kind !== Kind.OPERATION_DEFINITION) continue;
      const depth = depthOf(d.selectionSet, fragments, new Set());
      if (depth > LIMITS.maxDepth) errors.push(new GraphQLError(`Query has depth of ${depth}, which exceeds max depth of ${LIMITS.maxDepth}`));
    }
    const aliases = countAliases(document);
    if (aliases > LIMITS.maxAliases) errors.push(new GraphQLError(`Query has ${aliases} aliases, which exceeds max aliases of ${LIMITS.maxAliases}`));
    result = errors.length ? { errors } : { document, errors: validate(schema, document) };
    if (result.errors.length) result = { errors: result.errors };
  } catch (err) {
    if (err instanceof GraphQLError) {
      const message = /tokens/.test(err.message) ? 'Query too large' : err.message;
      result = { errors: [new GraphQLError(message, { nodes: undefined, source: err.source, positions: err.positions })] };
    } else throw err;
  }
  if (!useCache) return result;
  documentCache.set(query, result);
  if (documentCache.size > LIMITS.cacheEntries) documentCache.delete(documentCache.keys().next().value as string);
  return result;
}

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
 * whole with GitLab's 500 (GraphqlController's rescue_from StandardError).
 */
function formatResult(result: ExecutionResult): { formatted: FormattedExecutionResult; internal: boolean } {
  let internal = false;
  const errors = result.errors?.map((e) => {
    const original = e.originalError;
    if (!original || original instanceof PublicError || original instanceof GraphQLError) return e.toJSON();
    console.error('GraphQL resolver error', original.stack ?? original.message);
    internal = true;
    return new GraphQLError('Internal server error', { nodes: e.nodes, path: e.path }).toJSON();
  });
  return { formatted: errors?.length ? { data: result.data, errors } : { data: result.data }, internal };
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
    const text = await readBodyText(request, LIMITS.maxBodyBytes);
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
    const prepared = prepare(params.query, !(benchRoutesEnabled(env) && request.headers.get(BENCH_NO_CACHE_HEADER) === 'true'));
    if (!prepared.document) return respond({ errors: prepared.errors.map((e) => e.toJSON()) }, 400);
    const operation = selectOperation(prepared.document, params.operationName);
    if (!operation) {
      return badRequest(params.operationName ? `Unknown operation named "${params.operationName}".` : 'Must provide operation name if query contains multiple operations.');
    }
    if (request.method === 'GET' && operation.operation !== 'query') {
      return respond({ errors: [{ message: 'Mutations are forbidden in GET requests' }] }, 405, { Allow: 'POST' });
    }
    const contextValue: GraphQLContext = { env, ctx, request, actor };
    const result = await execute({
      schema,
      document: prepared.document,
      variableValues: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
      contextValue,
      fieldResolver,
    });
    const { formatted, internal } = formatResult(result as ExecutionResult);
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

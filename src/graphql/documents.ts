/**
 * A GraphQL document's verdict (its parsed, validated document, or its errors), decided once
 * and kept in a bounded LRU. The key is the document's token stream, so whitespace, commas and
 * comments that do not change the document (a trailing space, another indentation) find the
 * same verdict; string values are part of the key as they are. Order of the checks: length
 * (in the handler), tokens (while the key is read, then the parser's own `maxTokens`), the
 * limits of ./limits.ts, then graphql-js's specified rules.
 */
import { GraphQLError, Lexer, parse, Source, TokenKind, validate, type DocumentNode } from 'graphql';
import { DocumentLimitsRule, LIMITS } from './limits';
import { schema } from './schema';

/** A document that may run, or why not. */
export interface DocumentVerdict {
  document?: DocumentNode;
  errors: readonly GraphQLError[];
}

const TOO_LARGE = 'Query too large';

/** A cached verdict, with the text it was decided on. */
type CachedVerdict = DocumentVerdict & { query: string };

const verdicts = new Map<string, CachedVerdict>();
let cacheHits = 0;
let cacheMisses = 0;

/** Cache statistics (for the GraphQL benchmark and the tests). */
export function documentCacheStats() {
  return { size: verdicts.size, hits: cacheHits, misses: cacheMisses };
}

/** Clear the document cache (benchmarks compare cold and warm). */
export function clearDocumentCache(): void {
  verdicts.clear();
  cacheHits = 0;
  cacheMisses = 0;
}

/** A token error as the client sees it: "Query too large" for too many tokens, else graphql-js's syntax error. */
function syntaxVerdict(err: GraphQLError): DocumentVerdict {
  const message = /more than \d+ tokens/.test(err.message) ? TOO_LARGE : err.message;
  return { errors: [new GraphQLError(message, { source: err.source, positions: err.positions })] };
}

/**
 * The document's tokens, one canonical text (kind and value of each; comments and commas are
 * not tokens). Throws graphql-js's syntax error for text that is no token, or past maxTokens.
 */
function documentKey(query: string): string {
  const lexer = new Lexer(new Source(query));
  const parts: string[] = [];
  for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
    if (parts.length === LIMITS.maxTokens) throw new GraphQLError(`Document contains more than ${LIMITS.maxTokens} tokens.`);
    parts.push(token.value === undefined ? token.kind : `${token.kind}${JSON.stringify(token.value)}`);
  }
  return parts.join(' ');
}

/** Parse, check the limits, validate. */
function decide(query: string): DocumentVerdict {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: LIMITS.maxTokens });
  } catch (err) {
    if (err instanceof GraphQLError) return syntaxVerdict(err);
    throw err;
  }
  const overLimits = validate(schema, document, [DocumentLimitsRule]);
  if (overLimits.length) return { errors: overLimits };
  const errors = validate(schema, document);
  return errors.length ? { errors } : { document, errors };
}

/**
 * A cached verdict for a text of the same tokens: as it is for the same text; for another
 * spacing, a valid document is parsed again (linear, and its locations then point into this
 * text) without validating it again, and a refusal that points at positions (a syntax or
 * validation error) is decided again (null); the limits' errors point nowhere and are reused.
 */
function reuse(cached: CachedVerdict, query: string): DocumentVerdict | null {
  if (cached.query === query) return cached;
  if (cached.document) return { document: parse(query, { maxTokens: LIMITS.maxTokens }), errors: [] };
  return cached.errors.some((e) => e.locations?.length) ? null : cached;
}

/**
 * The verdict on a query: from the cache, or decided now and cached (`useCache` false skips the
 * cache both ways: the benchmark's no-cache rounds only).
 */
export function prepareDocument(query: string, useCache = true): DocumentVerdict {
  let key: string;
  try {
    key = documentKey(query);
  } catch (err) {
    if (err instanceof GraphQLError) return syntaxVerdict(err);
    throw err;
  }
  const cached = useCache ? verdicts.get(key) : undefined;
  const reused = cached && reuse(cached, query);
  if (cached && reused) {
    cacheHits++;
    verdicts.delete(key);
    verdicts.set(key, cached);
    return reused;
  }
  cacheMisses++;
  const verdict = decide(query);
  if (!useCache || cached) return verdict;
  verdicts.set(key, { ...verdict, query });
  if (verdicts.size > LIMITS.cacheEntries) verdicts.delete(verdicts.keys().next().value as string);
  return verdict;
}

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

const verdicts = new Map<string, DocumentVerdict>();
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
  if (cached) {
    cacheHits++;
    verdicts.delete(key);
    verdicts.set(key, cached);
    return cached;
  }
  cacheMisses++;
  const verdict = decide(query);
  if (!useCache) return verdict;
  verdicts.set(key, verdict);
  if (verdicts.size > LIMITS.cacheEntries) verdicts.delete(verdicts.keys().next().value as string);
  return verdict;
}

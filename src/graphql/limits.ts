/**
 * The static limits of a GraphQL document, as one graphql-js 17 validation rule that counts
 * THROUGH fragments. Each fragment is measured once (memoised by name) and a spread adds its
 * fragment's figures, so the check is linear in the document's size however the fragments
 * multiply: a fragment bomb (each fragment spreading the next one twice) is measured in
 * microseconds and refused with its true size, instead of walking every fragment path.
 *
 * GraphQL Armor (@escape.tech/graphql-armor-*) depends on graphql ^16.10 and would install a
 * second copy of graphql beside our 17.1.0 (`npm ls graphql`), so these rules are our own.
 * The token limit is graphql-js's own parser option `maxTokens` (see ./documents.ts).
 */
import { GraphQLError, Kind, type ASTVisitor, type DirectiveNode, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';

/** The limits of one document and of one request's execution (README, "GraphQL" and "Security"). */
export const LIMITS = {
  /** Characters of the query text (GitLab's own limit). */
  maxQueryLength: 10_000,
  /** Lexical tokens of the query (graphql-js `parse(…, { maxTokens })`). */
  maxTokens: 5_000,
  /** Nesting of fields, through fragments (GitLab's max depth for authenticated requests is 15). */
  maxDepth: 15,
  /** Aliased fields, each counted once per spread of the fragment it is in. */
  maxAliases: 30,
  /** Directives, each counted once per spread of the fragment it is in. */
  maxDirectives: 50,
  /** Complexity: field selections, each counted once per spread of the fragment it is in. */
  maxComplexity: 1_000,
  /**
   * `__schema` selections: one answers every introspection client; each lists every type of the
   * schema (graphql-js's MaxIntrospectionDepthRule bounds how deep), and 30 aliased ones took
   * 1.4 s of CPU.
   */
  maxSchemaIntrospections: 1,
  /** Parsed and validated documents kept per isolate. */
  cacheEntries: 500,
} as const;

/** What one selection set (or fragment) amounts to, fragments expanded. */
interface Measure {
  depth: number;
  aliases: number;
  directives: number;
  fields: number;
  schemaIntrospections: number;
}

const ZERO: Measure = { depth: 0, aliases: 0, directives: 0, fields: 0, schemaIntrospections: 0 };

/** Additions saturate, so that a document of 2^600 fields is "too complex", not Infinity. */
const add = (a: number, b: number) => Math.min(a + b, Number.MAX_SAFE_INTEGER);

function sum(into: Measure, m: Measure, depthOffset = 0): void {
  into.depth = Math.max(into.depth, m.depth + depthOffset);
  into.aliases = add(into.aliases, m.aliases);
  into.directives = add(into.directives, m.directives);
  into.fields = add(into.fields, m.fields);
  into.schemaIntrospections = add(into.schemaIntrospections, m.schemaIntrospections);
}

const directiveCount = (directives: readonly DirectiveNode[] | undefined) => directives?.length ?? 0;

/**
 * Measures selection sets, fragments expanded, each fragment once. A fragment that is being
 * measured when it is spread again (a cycle) or that does not exist counts nothing here:
 * NoFragmentCyclesRule and KnownFragmentNamesRule refuse those documents afterwards.
 */
class DocumentMeasurer {
  private readonly measured = new Map<string, Measure | 'measuring'>();
  constructor(private readonly fragments: (name: string) => FragmentDefinitionNode | null | undefined) {}

  fragment(name: string): Measure {
    const known = this.measured.get(name);
    if (known === 'measuring') return ZERO;
    if (known) return known;
    const definition = this.fragments(name);
    if (!definition) return ZERO;
    this.measured.set(name, 'measuring');
    const m = this.selectionSet(definition.selectionSet);
    m.directives = add(m.directives, directiveCount(definition.directives));
    this.measured.set(name, m);
    return m;
  }

  selectionSet(set: SelectionSetNode | undefined): Measure {
    const m: Measure = { ...ZERO };
    if (!set) return m;
    for (const sel of set.selections) {
      m.directives = add(m.directives, directiveCount(sel.directives));
      if (sel.kind === Kind.FIELD) {
        m.fields = add(m.fields, 1);
        if (sel.alias) m.aliases = add(m.aliases, 1);
        if (sel.name.value === '__schema') m.schemaIntrospections = add(m.schemaIntrospections, 1);
        sum(m, this.selectionSet(sel.selectionSet), 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        sum(m, this.selectionSet(sel.selectionSet));
      } else {
        sum(m, this.fragment(sel.name.value));
      }
    }
    return m;
  }
}

/** The limits an operation's measure breaks, worded as GitLab's (graphql-ruby's) depth and complexity errors. */
function limitErrors(m: Measure): string[] {
  const errors: string[] = [];
  if (m.depth > LIMITS.maxDepth) errors.push(`Query has depth of ${m.depth}, which exceeds max depth of ${LIMITS.maxDepth}`);
  if (m.fields > LIMITS.maxComplexity) errors.push(`Query has complexity of ${m.fields}, which exceeds max complexity of ${LIMITS.maxComplexity}`);
  if (m.aliases > LIMITS.maxAliases) errors.push(`Query has ${m.aliases} aliases, which exceeds max aliases of ${LIMITS.maxAliases}`);
  if (m.directives > LIMITS.maxDirectives) errors.push(`Query has ${m.directives} directives, which exceeds max directives of ${LIMITS.maxDirectives}`);
  if (m.schemaIntrospections > LIMITS.maxSchemaIntrospections) {
    errors.push(`Query has ${m.schemaIntrospections} __schema fields, which exceeds max __schema fields of ${LIMITS.maxSchemaIntrospections}`);
  }
  return errors;
}

/**
 * Validation rule: every operation of the document within the depth, complexity, alias,
 * directive and `__schema` limits, fragments expanded. Run it alone before graphql-js's specified rules
 * (./documents.ts), so that no other rule ever walks an oversized document.
 */
export function DocumentLimitsRule(context: ValidationContext): ASTVisitor {
  const measurer = new DocumentMeasurer((name) => context.getFragment(name));
  return {
    OperationDefinition(operation) {
      const m = measurer.selectionSet(operation.selectionSet);
      m.directives = add(m.directives, directiveCount(operation.directives));
      for (const v of operation.variableDefinitions ?? []) m.directives = add(m.directives, directiveCount(v.directives));
      for (const message of limitErrors(m)) context.reportError(new GraphQLError(message));
      return false;
    },
    FragmentDefinition: () => false,
  };
}

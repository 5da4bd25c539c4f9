/** SDL fragments GitLab repeats in every connection field, mutation input and payload. */

/** The arguments of a connection field. */
export const CONNECTION_ARGS = `
    "Returns the elements in the list that come after the specified cursor."
    after: String
    "Returns the elements in the list that come before the specified cursor."
    before: String
    "Returns the first _n_ elements from the list."
    first: Int
    "Returns the last _n_ elements from the list."
    last: Int`;

/** The fields of every mutation payload. */
export const PAYLOAD_COMMON = `
  "A unique identifier for the client performing the mutation."
  clientMutationId: String
  "Errors encountered during the mutation."
  errors: [String!]!`;

/** The field of every mutation input. */
export const INPUT_COMMON = `
  "A unique identifier for the client performing the mutation."
  clientMutationId: String`;

/**
 * `extend type Mutation` with mutations named after their input and payload types
 * (`releaseCreate(input: ReleaseCreateInput!): ReleaseCreatePayload`); a mutation given as
 * [type, description] gets that description.
 */
export function mutationFields(mutations: Array<string | [string, string]>): string {
  const fields = mutations.map((m) => {
    const [type, description] = typeof m === 'string' ? [m, null] : m;
    const name = type[0].toLowerCase() + type.slice(1).replace('HTTP', 'Http');
    const field = `  ${name}(input: ${type}Input!): ${type}Payload`;
    return description ? `  ${JSON.stringify(description)}\n${field}` : field;
  });
  return `extend type Mutation {\n${fields.join('\n')}\n}\n`;
}

/**
 * Every streaming destination type: the legacy ones (GitLab 15) and the consolidated ones
 * (GitLab 18), which name the same rows. Our own fields (delivery log, chart, health) extend all four.
 */
export const DESTINATION_TYPE_NAMES = [
  'ExternalAuditEventDestination',
  'InstanceExternalAuditEventDestination',
  'GroupAuditEventStreamingDestination',
  'InstanceAuditEventStreamingDestination',
] as const;

/** `extend type` of every destination type with the same fields. */
export function extendDestinationTypes(fields: string): string {
  return DESTINATION_TYPE_NAMES.map((t) => `extend type ${t} {${fields}}\n`).join('\n');
}

/** The same resolvers for every destination type. */
export function onDestinationTypes<T>(resolvers: T): Record<(typeof DESTINATION_TYPE_NAMES)[number], T> {
  return Object.fromEntries(DESTINATION_TYPE_NAMES.map((t) => [t, resolvers])) as Record<(typeof DESTINATION_TYPE_NAMES)[number], T>;
}

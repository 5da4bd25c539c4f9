import type { GraphQLResolveInfo } from 'graphql';
import type { Env } from '../env';
import type { Actor } from '../auth/authenticate';

/** What every resolver receives as its context. */
export interface GraphQLContext {
  env: Env;
  ctx: ExecutionContext;
  request: Request;
  actor: Actor | null;
}

/** A resolver: (parent, args, context, info). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Resolver = (parent: any, args: any, context: GraphQLContext, info: GraphQLResolveInfo) => unknown;

/** Resolvers by type name, then field name. */
export type Resolvers = Record<string, Record<string, Resolver>>;

/** One domain's part of the schema: SDL (using `extend type Query/Mutation`) and its resolvers. */
export interface SchemaModule {
  typeDefs: string;
  resolvers: Resolvers;
}

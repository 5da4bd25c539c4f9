/**
 * The GraphQL schema, built once per isolate from the domain modules' SDL. Resolvers are looked
 * up by (type, field) through one field resolver, so modules stay plain objects.
 */
import { buildSchema, defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Resolvers, SchemaModule } from './context';
import { core } from './modules/core';
import { destinations } from './modules/destinations';
import { deliveries } from './modules/deliveries';
import { destinationHealthModule } from './modules/destination_health';
import { destinationTestEvent } from './modules/destination_test_event';
import { releases } from './modules/releases';
import { deliveryStatsModule } from './modules/delivery_stats';
import { streamingDestinations } from './modules/streaming_destinations';

const MODULES: SchemaModule[] = [core, destinations, deliveries, destinationHealthModule, destinationTestEvent, releases, deliveryStatsModule, streamingDestinations];

function mergeResolvers(modules: SchemaModule[]): Resolvers {
  const merged: Resolvers = {};
  for (const m of modules) {
    for (const [type, fields] of Object.entries(m.resolvers)) merged[type] = { ...merged[type], ...fields };
  }
  return merged;
}

/** The schema (built once, at module load). */
export const schema: GraphQLSchema = buildSchema(MODULES.map((m) => m.typeDefs).join('\n'));

const resolvers = mergeResolvers(MODULES);

/** Whether a field has a resolver of its own in a module (which may read D1), not a plain property read. */
export function hasResolver(typeName: string, fieldName: string): boolean {
  return resolvers[typeName]?.[fieldName] !== undefined;
}

/** Resolve a field with its module's resolver, or read the property of the same name. */
export const fieldResolver: GraphQLFieldResolver<unknown, unknown> = (source, args, context, info) => {
  const resolve = resolvers[info.parentType.name]?.[info.fieldName];
  if (resolve) return resolve(source, args, context as never, info);
  return defaultFieldResolver(source, args, context, info);
};

/**
 * `health` of streaming destinations (ours; not in GitLab): for whoever may read the destination
 * (the Owner of its top-level group, an administrator for instance destinations), through the
 * policy module; one D1 round trip of bounded reads (src/db/destination_health.ts).
 * `healthField` is exported for the consolidated destination types.
 */
import type { GraphQLContext, SchemaModule } from '../context';
import { resourceNotAvailable } from '../errors';
import { destinationHealthTypeDefs } from '../schema/destination_health';
import { onDestinationTypes } from '../schema/common';
import type { Destination } from '../../db/destinations';
import { destinationHealth, type DestinationHealth } from '../../db/destination_health';
import { mayAccessDestination } from '../../destinations/access';

/** The `health` resolver of a destination (any type whose parent is a Destination). */
export async function healthField(d: Destination, _a: unknown, c: GraphQLContext): Promise<DestinationHealth> {
  if (!(await mayAccessDestination({ db: c.env.DB, actor: c.actor }, d, false))) throw resourceNotAvailable();
  const health = await destinationHealth(c.env.DB, d.id);
  if (!health) throw resourceNotAvailable();
  const open = health.breakerOpenUntil !== null && Date.parse(health.breakerOpenUntil) > Date.now();
  return { ...health, breakerOpenUntil: open ? health.breakerOpenUntil : null };
}

export const destinationHealthModule: SchemaModule = {
  typeDefs: destinationHealthTypeDefs,
  resolvers: {
    ...onDestinationTypes({ health: healthField }),
  },
};

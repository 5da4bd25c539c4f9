/**
 * `auditEventsStreamingDestinationSendTestEvent`: send a test event to a destination of any
 * category now (src/delivery/test_event.ts). The destination is named by its legacy GID
 * (ExternalAuditEventDestination, InstanceExternalAuditEventDestination) or its consolidated one
 * (AuditEvents::Group::ExternalStreamingDestination, AuditEvents::Instance::ExternalStreamingDestination):
 * both name the same row. Who may: whoever may manage the destination (the Owner of its top-level
 * group, an administrator for instance destinations), through the policy module; anyone else gets
 * GitLab's "resource not available".
 */
import type { GraphQLContext, SchemaModule } from '../context';
import { resourceNotAvailable, withServiceErrors } from '../errors';
import { parseGid } from '../gid';
import { destinationTestEventTypeDefs } from '../schema/destination_test_event';
import type { DestinationScope } from '../../db/destinations';
import { loadDestination } from '../../destinations/access';
import { DESTINATION_MODELS } from '../../destinations/audit';
import { sendTestEvent } from '../../delivery/test_event';
import { deliveryNode, pageAttempts } from './deliveries';

/** GID models of GitLab 18's consolidated destinations. */
export const STREAMING_DESTINATION_MODELS = {
  group: 'AuditEvents::Group::ExternalStreamingDestination',
  instance: 'AuditEvents::Instance::ExternalStreamingDestination',
} as const;

const MODELS: [string, DestinationScope][] = [
  [DESTINATION_MODELS.destination, 'group'],
  [STREAMING_DESTINATION_MODELS.group, 'group'],
  [DESTINATION_MODELS.instanceDestination, 'instance'],
  [STREAMING_DESTINATION_MODELS.instance, 'instance'],
];

/** The scope and row id a destination GID of any of the four models names, or null. */
export function parseDestinationGid(gid: unknown): { scope: DestinationScope; id: number } | null {
  for (const [model, scope] of MODELS) {
    const id = parseGid(gid, model);
    if (id !== null) return { scope, id };
  }
  return null;
}

type Input<T> = { input: T & { clientMutationId?: string | null } };

export const destinationTestEvent: SchemaModule = {
  typeDefs: destinationTestEventTypeDefs,
  resolvers: {
    Mutation: {
      auditEventsStreamingDestinationSendTestEvent: withServiceErrors(async (_p: unknown, { input }: Input<{ destinationId: string }>, c: GraphQLContext) => {
        const named = parseDestinationGid(input.destinationId);
        if (!named || !c.actor) throw resourceNotAvailable();
        const { destination, group } = await loadDestination({ db: c.env.DB, actor: c.actor }, named.scope, named.id);
        const delivery = await sendTestEvent(c.env, destination, group, { id: c.actor.user.id, name: c.actor.user.name });
        const errors = delivery.status === 'delivered' ? [] : [`The test event was not delivered: ${delivery.lastError ?? 'unknown error'}`];
        return {
          clientMutationId: input.clientMutationId ?? null,
          errors,
          delivery: deliveryNode({ ...delivery, eventType: null }, pageAttempts(c.env.DB, [delivery.id])),
        };
      }),
    },
  },
};

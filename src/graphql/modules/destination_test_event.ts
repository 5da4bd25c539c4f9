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
import { parseDestinationGid } from '../destination_gid';
import { destinationTestEventTypeDefs } from '../schema/destination_test_event';
import { loadDestination } from '../../destinations/access';
import { sendTestEvent } from '../../delivery/test_event';
import { deliveryNode, pageAttempts } from './deliveries';

type Input<T> = { input: T & { clientMutationId?: string | null } };

export const destinationTestEvent: SchemaModule = {
  typeDefs: destinationTestEventTypeDefs,
  resolvers: {
    Mutation: {
      auditEventsStreamingDestinationSendTestEvent: withServiceErrors(async (_p: unknown, { input }: Input<{ destinationId: string }>, c: GraphQLContext) => {
        const named = parseDestinationGid(input.destinationId);
        if (!named || !c.actor) throw resourceNotAvailable();
        const { destination, group } = await loadDestination({ db: c.env.DB, actor: c.actor }, named.scope, named.id, named.anyCategory);
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

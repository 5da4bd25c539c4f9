import { GraphQLError } from 'graphql';
import type { Resolver } from './context';
import { DestinationArgumentError, DestinationNotAvailable } from '../destinations/errors';

/** GitLab's text for anything the caller may not see or do, or that does not exist. */
export const RESOURCE_NOT_AVAILABLE =
  "The resource that you are attempting to access does not exist or you don't have permission to perform this action";

/**
 * An error whose message is meant for the client. Every other error raised while executing
 * is masked as "Internal server error" and logged.
 */
export class PublicError extends GraphQLError {
  constructor(message: string, extensions?: Record<string, unknown>) {
    super(message, { extensions });
  }
}

/** GitLab's top-level "resource not available" error. */
export function resourceNotAvailable(): PublicError {
  return new PublicError(RESOURCE_NOT_AVAILABLE);
}

/** A resolver whose domain service refusals are answered as GitLab does: "resource not available", or a top-level error. */
export function withServiceErrors(resolve: Resolver): Resolver {
  return async (parent, args, context, info) => {
    try {
      return await resolve(parent, args, context, info);
    } catch (err) {
      if (err instanceof DestinationNotAvailable) throw resourceNotAvailable();
      if (err instanceof DestinationArgumentError) throw new PublicError(err.message);
      throw err;
    }
  };
}

import { GraphQLError } from 'graphql';

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

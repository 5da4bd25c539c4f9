/**
 * What the destination service refuses, for the surfaces to answer in their own shapes (GraphQL:
 * GitLab's "resource not available" error, or a top-level error with the message).
 */

/** The destination, header, filter or namespace does not exist or the caller may not manage it. */
export class DestinationNotAvailable extends Error {
  constructor() {
    super('streaming destination not available');
  }
}

/** A request the service refuses as a whole (not an attribute's error): the message is public. */
export class DestinationArgumentError extends Error {}

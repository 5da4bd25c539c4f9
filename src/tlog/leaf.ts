/**
 * The audit log's leaves: the exact JSON object an HTTP destination receives for an event (its
 * streaming payload), canonicalised with RFC 8785 (JSON Canonicalization Scheme) and encoded
 * as UTF-8, so that a receiver can prove the inclusion of what it received.
 */
import canonicalize from 'canonicalize';

/**
 * The leaf format of new events. Version 1: the RFC 8785 form of the streaming payload. A later
 * version (when the payload gains fields) gets the next number; events keep the version they
 * were hashed with, so their leaves stay reproducible.
 */
export const LEAF_VERSION = 1;

/** The leaf versions this code can produce. */
export const LEAF_VERSIONS: readonly number[] = [1];

/**
 * The leaf bytes of a streaming payload under a leaf version: UTF-8 of its RFC 8785 canonical
 * JSON. Throws on a version this code does not know, and on a payload that has no JSON form
 * (a non-finite number, a function, a cycle).
 */
export function leafBytes(payload: Record<string, unknown>, version: number = LEAF_VERSION): Uint8Array {
  if (!LEAF_VERSIONS.includes(version)) throw new Error(`unknown leaf version ${version}`);
  const json = canonicalize(payload);
  if (json === undefined) throw new Error('the payload has no JSON form');
  return new TextEncoder().encode(json);
}

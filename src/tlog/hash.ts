/**
 * RFC 9162 §2.1 hashing for the audit log's Merkle tree, and the standard base64 (with padding)
 * that the C2SP formats and the proof endpoints use. Web APIs only (crypto.subtle, btoa/atob): the
 * same file runs in workerd and, for the auditors' verifier, in Node.
 */

/** Bytes over a plain ArrayBuffer: what crypto.subtle accepts in every runtime's types. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** The length of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** SHA-256 of the concatenation of `parts`. */
export async function sha256(...parts: Uint8Array[]): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concatBytes(...parts)));
}

/** The leaf hash of RFC 9162 §2.1.1: SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Promise<Bytes> {
  return sha256(Uint8Array.of(0), leaf);
}

/** An interior node's hash of RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Bytes> {
  return sha256(Uint8Array.of(1), left, right);
}

/** The root of the empty tree, MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export function emptyRoot(): Promise<Bytes> {
  return sha256();
}

/** `parts` one after the other in a new array. */
export function concatBytes(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode takes its bytes as arguments.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes standard base64 with padding, strictly: no whitespace, no URL-safe alphabet, no missing
 * padding, no stray bits after the last byte (so each byte string has one encoding). Null when
 * `text` is not such an encoding.
 */
export function fromBase64(text: string): Bytes | null {
  if (!BASE64.test(text)) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return toBase64(bytes) === text ? bytes : null;
}

/** Lower-case hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

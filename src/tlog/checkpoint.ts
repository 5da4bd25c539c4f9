/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text of a signed tree head,
 * `<origin>\n<tree size>\n<base64 root hash>\n`, with optional extension lines after it.
 */
import { fromBase64, HASH_SIZE, toBase64, type Bytes } from './hash.ts';

/** A checkpoint's fields. */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Bytes;
  /** Extension lines after the root hash (none in the checkpoints this service signs). */
  extensions: string[];
}

/** The checkpoint text for a tree of `size` leaves with root `rootHash`, under `origin`. */
export function formatCheckpoint(origin: string, size: number, rootHash: Uint8Array): string {
  if (!origin || /[\n\r]/.test(origin) || origin.trim() !== origin) throw new Error('a checkpoint origin is one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) throw new Error('a tree size is a whole number');
  if (rootHash.length !== HASH_SIZE) throw new Error(`a root hash is ${HASH_SIZE} bytes`);
  return `${origin}\n${size}\n${toBase64(rootHash)}\n`;
}

/**
 * Reads a checkpoint text (a signed note's text, verified first) strictly: a non-empty origin
 * line, a decimal size without leading zeros, the standard base64 of a 32-byte hash, then
 * non-empty extension lines, each line ending in a newline.
 */
export function parseCheckpoint(text: string): Checkpoint | { error: string } {
  if (!text.endsWith('\n')) return { error: 'a checkpoint ends in a newline' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return { error: 'a checkpoint has an origin, a tree size and a root hash line' };
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (!origin || origin.trim() !== origin) return { error: 'the checkpoint origin line is empty or padded' };
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine) || !Number.isSafeInteger(Number(sizeLine))) return { error: 'the checkpoint tree size is not a decimal number' };
  const rootHash = fromBase64(rootLine);
  if (!rootHash || rootHash.length !== HASH_SIZE) return { error: 'the checkpoint root hash is not the base64 of 32 bytes' };
  if (extensions.some((line) => line === '')) return { error: 'the checkpoint has an empty extension line' };
  return { origin, size: Number(sizeLine), rootHash, extensions };
}

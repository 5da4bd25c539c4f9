/**
 * C2SP signed-note (c2sp.org/signed-note) with Ed25519 signatures (type 0x01), and the verifier
 * key format of Go's golang.org/x/mod/sumdb/note: `<name>+<hex key id>+<base64(0x01 || public
 * key)>`. Keys come from a 32-byte Ed25519 seed through WebCrypto ("Ed25519"), so this runs in
 * workerd and in Node alike.
 */
import { concatBytes, equalBytes, fromBase64, sha256, toBase64, toHex, type Bytes } from './hash.ts';

/** The signature type byte of Ed25519 in signed-note. */
const ED25519 = 0x01;
/** The fixed DER prefix of an Ed25519 private key in PKCS#8 (RFC 8410 §7): the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
/** Signatures read from one note at most (the spec asks verifiers to accept at least 16). */
const MAX_SIGNATURES = 100;
const EM_DASH = '\u2014';

/** Whether `name` is a key name signed-note allows: non-empty, no Unicode space, no "+". */
export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

/** The signed-note key ID: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). */
export async function keyId(name: string, publicKey: Uint8Array): Promise<Bytes> {
  const digest = await sha256(new TextEncoder().encode(`${name}\n`), Uint8Array.of(ED25519), publicKey);
  return digest.slice(0, 4);
}

/** The verifier key `<name>+<hex key id>+<base64(0x01 || public key)>` of an Ed25519 public key. */
export async function verifierKey(name: string, publicKey: Uint8Array): Promise<string> {
  if (!isKeyName(name)) throw new Error(`"${name}" is not a signed-note key name`);
  if (publicKey.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return `${name}+${toHex(await keyId(name, publicKey))}+${toBase64(concatBytes(Uint8Array.of(ED25519), publicKey))}`;
}

/** A verifier key read back: the name, the key ID and the 32-byte public key. */
export interface ParsedVerifierKey {
  name: string;
  keyId: Bytes;
  publicKey: Bytes;
}

/** Reads a verifier key, checking that its key ID is the one its name and key give. */
export async function parseVerifierKey(text: string): Promise<ParsedVerifierKey | { error: string }> {
  // Split at the first two "+": the base64 key may hold "+" itself.
  const trimmed = text.trim();
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  if (first < 0 || second < 0) return { error: 'a verifier key reads <name>+<key id>+<key>' };
  const [name, idHex, keyB64] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  if (!isKeyName(name)) return { error: 'the verifier key has no valid name' };
  if (!/^[0-9a-f]{8}$/.test(idHex)) return { error: 'the verifier key ID is not 8 hexadecimal digits' };
  const key = fromBase64(keyB64);
  if (!key || key.length !== 33 || key[0] !== ED25519) return { error: 'the verifier key is not an Ed25519 key' };
  const publicKey = key.slice(1);
  const id = await keyId(name, publicKey);
  if (toHex(id) !== idHex) return { error: 'the verifier key ID does not match its name and key' };
  return { name, keyId: id, publicKey };
}

/** The Ed25519 private key and its 32-byte public key for a 32-byte seed (RFC 8032 §5.1.5). */
export async function keyPairFromSeed(seed: Uint8Array): Promise<{ privateKey: CryptoKey; publicKey: Bytes }> {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  const privateKey = await crypto.subtle.importKey('pkcs8', concatBytes(PKCS8_ED25519_PREFIX, seed), { name: 'Ed25519' }, true, ['sign']);
  const jwk = (await crypto.subtle.exportKey('jwk', privateKey)) as JsonWebKey;
  const publicKey = fromBase64Url(jwk.x ?? '');
  if (!publicKey || publicKey.length !== 32) throw new Error('WebCrypto gave no Ed25519 public key');
  return { privateKey, publicKey };
}

/** The verifier key of the key pair a seed gives. */
export async function verifierKeyFromSeed(name: string, seed: Uint8Array): Promise<string> {
  return verifierKey(name, (await keyPairFromSeed(seed)).publicKey);
}

/**
 * Signs `text` (which must end in a newline, with no control characters but newlines) as a
 * signed note: the text, a blank line, and one line `— <name> <base64(key id || signature)>`.
 */
export async function signNote(text: string, name: string, seed: Uint8Array): Promise<string> {
  const problem = noteTextProblem(text);
  if (problem) throw new Error(problem);
  if (!isKeyName(name)) throw new Error(`"${name}" is not a signed-note key name`);
  const { privateKey, publicKey } = await keyPairFromSeed(seed);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, new TextEncoder().encode(text)));
  return `${text}\n${EM_DASH} ${name} ${toBase64(concatBytes(await keyId(name, publicKey), signature))}\n`;
}

/** Why `text` cannot be a note's text, or null. */
function noteTextProblem(text: string): string | null {
  if (!text.endsWith('\n')) return 'a note text ends in a newline';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) return 'a note holds no control characters but newlines';
  // A lone surrogate has no UTF-8 form (in `u` mode a surrogate pair is one code point).
  if (/\p{Cs}/u.test(text)) return 'a note is valid UTF-8';
  return null;
}

/**
 * Verifies a signed note against a verifier key. Answers the note's text (with its final
 * newline) when a signature of that key verifies, or an error: a malformed note, no signature
 * by the key, or a signature by the key that does not verify. Signatures by other keys are
 * ignored, as the spec requires.
 */
export async function verifyNote(note: string, verifierKeyText: string): Promise<{ text: string } | { error: string }> {
  const key = await parseVerifierKey(verifierKeyText);
  if ('error' in key) return key;
  if (!note.endsWith('\n')) return { error: 'the signed note does not end in a newline' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return { error: 'the signed note has no signature block' };
  const text = note.slice(0, split + 1);
  const problem = noteTextProblem(text);
  if (problem) return { error: `the signed note is malformed: ${problem}` };
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return { error: `the signed note has more than ${MAX_SIGNATURES} signatures` };
  const publicKey = await crypto.subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, ['verify']);
  const message = new TextEncoder().encode(text);
  let verified = false;
  for (const line of lines) {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const signature = match ? fromBase64(match[2]) : null;
    if (!match || !isKeyName(match[1]) || !signature || signature.length < 5) return { error: `the signed note has a malformed signature line: ${JSON.stringify(line)}` };
    if (match[1] !== key.name || !equalBytes(signature.subarray(0, 4), key.keyId)) continue;
    if (signature.length !== 68 || !(await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature.slice(4), message))) {
      return { error: `the signature by ${key.name} does not verify` };
    }
    verified = true;
  }
  return verified ? { text } : { error: `the note has no signature by ${key.name}+${toHex(key.keyId)}` };
}

/** Decodes base64url without padding (JWK's encoding). */
function fromBase64Url(text: string): Bytes | null {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

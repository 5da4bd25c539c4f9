import { describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint } from '../../src/tlog/checkpoint';
import { emptyRoot, fromBase64, toBase64, toHex } from '../../src/tlog/hash';
import { keyPairFromSeed, parseVerifierKey, signNote, verifierKeyFromSeed, verifyNote } from '../../src/tlog/note';

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

// golang.org/x/mod/sumdb/note's own test vector (note_test.go): the private key is
// base64(0x01 || Ed25519 seed), the signed note is what Go's note.Sign writes.
const GO_SEED = (fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz') as Uint8Array).slice(1);
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('Ed25519 keys from a seed', () => {
  it('RFC 8032 §7.1 test 1: the public key and the signature of the empty message', async () => {
    const { privateKey, publicKey } = await keyPairFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(toHex(publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, new Uint8Array()));
    expect(toHex(signature)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });
});

describe('signed notes (C2SP signed-note)', () => {
  it("reproduces Go's verifier key and signed note for its test key", async () => {
    expect(await verifierKeyFromSeed('PeterNeumann', GO_SEED)).toBe(GO_VKEY);
    expect(await signNote(GO_TEXT, 'PeterNeumann', GO_SEED)).toBe(GO_NOTE);
    expect(await verifyNote(GO_NOTE, GO_VKEY)).toEqual({ text: GO_TEXT });
  });

  it('a checkpoint signed with a fixed seed verifies with its key and no other', async () => {
    const seed = new Uint8Array(32).fill(7);
    const text = formatCheckpoint('127.0.0.1:8787/audit-log', 0, await emptyRoot());
    const note = await signNote(text, '127.0.0.1:8787/audit-log', seed);
    const key = await verifierKeyFromSeed('127.0.0.1:8787/audit-log', seed);
    expect(note.startsWith(`${text}\n\u2014 127.0.0.1:8787/audit-log `)).toBe(true);
    expect(await verifyNote(note, key)).toEqual({ text });
    const otherKey = await verifierKeyFromSeed('127.0.0.1:8787/audit-log', new Uint8Array(32).fill(8));
    expect(await verifyNote(note, otherKey)).toEqual({ error: expect.stringContaining('no signature by') });
  });

  it('refuses an altered text, an altered signature, and malformed notes', async () => {
    const altered = GO_NOTE.replace('answer', 'answers');
    expect(await verifyNote(altered, GO_VKEY)).toEqual({ error: 'the signature by PeterNeumann does not verify' });
    const sigAt = GO_NOTE.indexOf('x08go');
    const badSig = `${GO_NOTE.slice(0, sigAt + 10)}A${GO_NOTE.slice(sigAt + 11)}`;
    expect(badSig).not.toBe(GO_NOTE);
    expect('error' in (await verifyNote(badSig, GO_VKEY))).toBe(true);
    for (const bad of [GO_TEXT, GO_NOTE.slice(0, -1), GO_NOTE.replace('\u2014', '-'), `${GO_NOTE}\n`, GO_NOTE.replace('go/Z', 'go /Z'), `\u0007${GO_NOTE}`]) {
      expect('error' in (await verifyNote(bad, GO_VKEY)), JSON.stringify(bad)).toBe(true);
    }
  });

  it('ignores signatures by unknown keys, but needs one by the given key', async () => {
    const other = await signNote(GO_TEXT, 'someone-else', new Uint8Array(32).fill(1));
    const both = `${GO_NOTE}${other.slice(other.lastIndexOf('\u2014'))}`;
    expect(await verifyNote(both, GO_VKEY)).toEqual({ text: GO_TEXT });
    expect('error' in (await verifyNote(other, GO_VKEY))).toBe(true);
  });

  it('checks a verifier key: its ID must match its name and key', async () => {
    expect('error' in (await parseVerifierKey(GO_VKEY.replace('c74f20a3', 'c74f20a4')))).toBe(true);
    expect('error' in (await parseVerifierKey(GO_VKEY.replace('PeterNeumann', 'PeterNeumann2')))).toBe(true);
    expect('error' in (await parseVerifierKey('PeterNeumann+c74f20a3'))).toBe(true);
    const key = await parseVerifierKey(GO_VKEY);
    expect('error' in key ? key.error : toHex(key.keyId)).toBe('c74f20a3');
  });
});

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  it('formats and parses origin, size and root', async () => {
    const root = await emptyRoot();
    const text = formatCheckpoint('example.com/audit-log', 42, root);
    expect(text).toBe('example.com/audit-log\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
    const parsed = parseCheckpoint(text);
    expect('error' in parsed ? parsed.error : [parsed.origin, parsed.size, toBase64(parsed.rootHash), parsed.extensions]).toEqual([
      'example.com/audit-log',
      42,
      toBase64(root),
      [],
    ]);
    expect(parseCheckpoint(`${text}ext line\n`)).toMatchObject({ extensions: ['ext line'] });
  });

  it('refuses malformed checkpoints', () => {
    const root = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
    for (const bad of [
      `o\n42\n${root}`,
      `o\n042\n${root}\n`,
      `o\n-1\n${root}\n`,
      `o\n4 2\n${root}\n`,
      `o\n99999999999999999999\n${root}\n`,
      `\n42\n${root}\n`,
      ` o\n42\n${root}\n`,
      `o\n42\nAAAA\n`,
      `o\n42\n${root.replace('=', '')}\n`,
      `o\n42\n`,
      `o\n42\n${root}\n\n`,
    ]) {
      expect('error' in parseCheckpoint(bad), JSON.stringify(bad)).toBe(true);
    }
  });
});

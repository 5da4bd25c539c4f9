import { describe, expect, it } from 'vitest';
import { emptyRoot, fromBase64, leafHash, nodeHash, toBase64, toHex } from '../../src/tlog/hash';

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('RFC 9162 hashing', () => {
  it('the empty tree root is SHA-256 of nothing', async () => {
    expect(toBase64(await emptyRoot())).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('leaf and node hashes prefix 0x00 and 0x01 (known answers)', async () => {
    // SHA-256(0x00) and SHA-256(0x01 || 0x00 || 0x01), computed with sha256sum.
    expect(toHex(await leafHash(new Uint8Array()))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(toHex(await nodeHash(Uint8Array.of(0), Uint8Array.of(1)))).toBe('85f90dfea1d8027e1463e5ca971a250110a20df0119d204a74220bc63516d15b');
    // Domain separation: the leaf hash of 0x01 is SHA-256(0x00 || 0x01), not SHA-256(0x01).
    expect(toHex(await leafHash(hex('01')))).toBe('b413f47d13ee2fe6c845b2ee141af81de858df4ec549a58b7970bb96645bc8d2');
  });
});

describe('base64', () => {
  it('round-trips standard base64 with padding', () => {
    for (const bytes of [new Uint8Array(), Uint8Array.of(0), Uint8Array.of(0xfb, 0xff), Uint8Array.of(1, 2, 3, 4)]) {
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    }
    expect(toBase64(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('+/+/');
  });

  it('refuses what is not strictly standard base64', () => {
    for (const bad of ['AA', 'AA=', '-_8=', 'AA==\n', ' AAA=', 'AB==', 'A===', 'AAA', '!!!!']) expect(fromBase64(bad)).toBeNull();
  });
});

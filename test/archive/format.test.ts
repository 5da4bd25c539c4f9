import { describe, expect, it, vi } from 'vitest';
import { env } from 'cloudflare:workers';
import {
  buildManifest,
  countTuples,
  decodeChunk,
  decodeManifest,
  encodeChunk,
  encodeManifest,
  eventsObjectKey,
  manifestObjectKey,
  sha256Hex,
  type ArchiveLine,
} from '../../src/audit/archive_format';

const event = (id: number, over: Partial<Record<string, unknown>> = {}): ArchiveLine =>
  ({
    id,
    author_id: 7,
    author_name: 'Ada',
    entity_id: 3,
    entity_type: 'Project',
    entity_path: 'g/p',
    event_type: 'release_created',
    target_id: null,
    target_type: null,
    target_details: null,
    ip_address: '127.0.0.1',
    details: '{"custom_message":"Created release v1"}',
    created_at: `2026-01-0${id}T00:00:00.000Z`,
    root_namespace_id: 2,
    scope_path: '2/p3/',
    project_id: 3,
    uuid: null,
    leaf_index: id - 1,
    leaf_version: 1,
    leaf_hash: `hash${id}`,
    ...over,
  }) as ArchiveLine;

describe('the archive format', () => {
  const lines: ArchiveLine[] = [
    event(1),
    { id: 2, removed: true, leaf_index: 1, leaf_version: 1, leaf_hash: 'hash2' },
    event(3, { event_type: 'release_deleted', root_namespace_id: null, project_id: null, scope_path: null }),
    event(4),
  ];

  it('round-trips lines through gzip NDJSON, byte for byte the same on every encoding', async () => {
    const bytes = await encodeChunk(lines);
    expect(bytes[0]).toBe(0x1f);
    expect(bytes[1]).toBe(0x8b);
    expect(await decodeChunk(bytes)).toEqual(lines);
    expect(await sha256Hex(await encodeChunk(lines))).toBe(await sha256Hex(bytes));
  });

  it('describes a chunk in its manifest: ranges, counts, leaf hashes', async () => {
    const m = buildManifest(lines, { key: eventsObjectKey(1, 4), bytes: 10, sha256: 'ab' });
    expect(m).toMatchObject({ first_leaf: 0, last_leaf: 3, first_id: 1, last_id: 4, events: 3, removed: 1 });
    expect(m.first_at).toBe('2026-01-01T00:00:00.000Z');
    expect(m.last_at).toBe('2026-01-04T00:00:00.000Z');
    expect(m.counts).toEqual({ groups: { '2': 2, null: 1 }, projects: { '3': 2, null: 1 }, event_types: { release_created: 2, release_deleted: 1 } });
    expect(m.leaf_hashes).toEqual(['hash1', 'hash2', 'hash3', 'hash4']);
    expect(decodeManifest(encodeManifest(m))).toEqual(m);
    expect(() => decodeManifest(new TextEncoder().encode('{"format":2}'))).toThrow();
    expect(countTuples(lines).map((t) => t.n).sort()).toEqual([1, 2]);
  });

  it('names objects so that keys sort by id', () => {
    expect(eventsObjectKey(1, 1024)).toBe('events/0000000000000001-0000000000001024.ndjson.gz');
    expect(manifestObjectKey(12, 13)).toBe('manifests/0000000000000012-0000000000000013.json');
    expect(eventsObjectKey(9, 10) < eventsObjectKey(10, 11)).toBe(true);
  });

  it('stores objects in the local R2 bucket, checked by SHA-256 on put', async () => {
    const bytes = await encodeChunk(lines);
    const sha256 = await sha256Hex(bytes);
    await env.AUDIT_ARCHIVE.put('test/format.ndjson.gz', bytes, { sha256 });
    const got = await env.AUDIT_ARCHIVE.get('test/format.ndjson.gz');
    expect(await decodeChunk(new Uint8Array(await got!.arrayBuffer()))).toEqual(lines);
    await expect(env.AUDIT_ARCHIVE.put('test/wrong.ndjson.gz', bytes, { sha256: '0'.repeat(64) })).rejects.toThrow();
    await env.AUDIT_ARCHIVE.delete('test/format.ndjson.gz');
  });
});

describe('AUDIT_ARCHIVE_SEGMENT_CHUNKS (tests and benchmarks only)', () => {
  it('gives 1,024 chunks unless set; a whole number from 1 to 1,024 rounded down to a power of two; anything else the default, logged once', async () => {
    const { segmentChunks, SEGMENT_CHUNKS } = await import('../../src/audit/archive_config');
    expect(SEGMENT_CHUNKS).toBe(1024);
    expect(segmentChunks({})).toBe(1024);
    expect(segmentChunks({ AUDIT_ARCHIVE_SEGMENT_CHUNKS: '2' })).toBe(2);
    expect(segmentChunks({ AUDIT_ARCHIVE_SEGMENT_CHUNKS: '1' })).toBe(1);
    expect(segmentChunks({ AUDIT_ARCHIVE_SEGMENT_CHUNKS: '3' })).toBe(2);
    expect(segmentChunks({ AUDIT_ARCHIVE_SEGMENT_CHUNKS: '1000' })).toBe(512);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      for (const bad of ['0', '-1', '1025', '1.5', 'two', '']) {
        expect(segmentChunks({ AUDIT_ARCHIVE_SEGMENT_CHUNKS: bad })).toBe(1024);
        expect(segmentChunks({ AUDIT_ARCHIVE_SEGMENT_CHUNKS: bad })).toBe(1024);
      }
      const messages = error.mock.calls.map((c) => String(c[0]));
      expect(messages).toContain('AUDIT_ARCHIVE_SEGMENT_CHUNKS must be a whole number from 1 to 1024 (got "two"); using 1024');
      expect(new Set(messages).size).toBe(messages.length); // each malformed value logged once
      for (const m of messages) expect(m).toMatch(/^AUDIT_ARCHIVE_SEGMENT_CHUNKS must be a whole number from 1 to 1024 \(got .*\); using 1024$/);
    } finally {
      error.mockRestore();
    }
  });
});

describe('AUDIT_ARCHIVE_PAGE_SEGMENTS (tests and benchmarks only)', () => {
  it('gives 1,024 units unless set; a whole number from 2 to 1,024 rounded down to a power of two; anything else the default, logged once', async () => {
    const { pageSegments, PAGE_SEGMENTS } = await import('../../src/audit/archive_config');
    expect(PAGE_SEGMENTS).toBe(1024);
    expect(pageSegments({})).toBe(1024);
    expect(pageSegments({ AUDIT_ARCHIVE_PAGE_SEGMENTS: '2' })).toBe(2);
    expect(pageSegments({ AUDIT_ARCHIVE_PAGE_SEGMENTS: '7' })).toBe(4);
    expect(pageSegments({ AUDIT_ARCHIVE_PAGE_SEGMENTS: '1024' })).toBe(1024);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      for (const bad of ['1', '0', '1025', '2.5', 'many', ' ']) {
        expect(pageSegments({ AUDIT_ARCHIVE_PAGE_SEGMENTS: bad })).toBe(1024);
        expect(pageSegments({ AUDIT_ARCHIVE_PAGE_SEGMENTS: bad })).toBe(1024);
      }
      const messages = error.mock.calls.map((c) => String(c[0]));
      expect(messages).toContain('AUDIT_ARCHIVE_PAGE_SEGMENTS must be a whole number from 2 to 1024 (got "1"); using 1024');
      expect(new Set(messages).size).toBe(messages.length);
      for (const m of messages) expect(m).toMatch(/^AUDIT_ARCHIVE_PAGE_SEGMENTS must be a whole number from 2 to 1024 \(got .*\); using 1024$/);
    } finally {
      error.mockRestore();
    }
  });
});

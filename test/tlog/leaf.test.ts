import { describe, expect, it } from 'vitest';
import { streamingPayload, type AuditEvent } from '../../src/audit/record';
import { LEAF_VERSION, leafBytes } from '../../src/tlog/leaf';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('leaves (RFC 8785 of the streaming payload)', () => {
  it('sorts keys by UTF-16 code units and writes numbers and strings as RFC 8785 does', () => {
    // RFC 8785 §3.2.3's sorting example and §3.2.2.3's number forms.
    expect(text(leafBytes({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }, 1))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(text(leafBytes({ n: [1e21, 1e-7, -0, 333333333.33333329, 4.5, 0.002] }, 1))).toBe('{"n":[1e+21,1e-7,0,333333333.3333333,4.5,0.002]}');
    expect(text(leafBytes({ s: '\u000f\u2028"\\' }, 1))).toBe('{"s":"\\u000f\u2028\\"\\\\"}');
  });

  it('is UTF-8, for the current version by default; unknown versions and non-JSON values throw', () => {
    expect([...leafBytes({ a: 'é' })]).toEqual([...new TextEncoder().encode('{"a":"é"}')]);
    expect(LEAF_VERSION).toBe(1);
    expect(() => leafBytes({ a: 1 }, 2)).toThrow(/unknown leaf version/);
    expect(() => leafBytes({ a: Number.NaN })).toThrow();
    expect(() => leafBytes({ a: '\ud800' })).toThrow();
  });

  it('hashes the streaming payload of an event: what an HTTP destination receives', () => {
    const event: AuditEvent = {
      id: 7,
      authorId: 1,
      authorName: 'Administrator',
      entityId: 2,
      entityType: 'Project',
      entityPath: 'g/p',
      eventType: 'release_created',
      targetId: 3,
      targetType: 'Release',
      targetDetails: 'v1.0',
      ipAddress: '127.0.0.1',
      details: { custom_message: 'Created release v1.0' },
      createdAt: '2026-11-28T03:00:00.000Z',
      rootNamespaceId: 5,
      scopePath: 'g',
      projectId: 2,
    };
    const payload = streamingPayload(event);
    expect(text(leafBytes(payload))).toBe(
      '{"author_id":1,"author_name":"Administrator","created_at":"2026-11-28T03:00:00.000Z","details":{"custom_message":"Created release v1.0"},' +
        '"entity_id":2,"entity_path":"g/p","entity_type":"Project","event_type":"release_created","id":"7","ip_address":"127.0.0.1",' +
        '"target_details":"v1.0","target_id":3,"target_type":"Release"}',
    );
    // The receiver's copy (parsed from the body it got) gives the same leaf.
    expect(leafBytes(JSON.parse(JSON.stringify(payload)))).toEqual(leafBytes(payload));
  });
});

/**
 * Hostile input into the consolidated streaming mutations (fast-check): any JSON as `config`, any
 * string as `category`, `name` or `secretToken`. Every answer is GitLab's shape: 200 with either
 * errors as data (and no destination) or a destination whose config passed the category's rules;
 * never a 500, never a top-level error (a null for the required `config` is GraphQL's 400).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createGroup, createUser, gql, type TestUser } from '../support/api';
import { GROUP_CREATE, GROUP_DELETE, GROUP_UPDATE, groupDestination, httpConfig } from './streaming_support';

let owner: TestUser;
let group: { id: number; full_path: string };

beforeAll(async () => {
  owner = await createUser();
  group = await createGroup({ token: owner.token });
});

const category = fc.oneof(fc.constantFrom('http', 'aws', 'gcp'), fc.string({ maxLength: 8 }));
const config = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ url: fc.oneof(fc.webUrl(), fc.string()), headers: fc.dictionary(fc.string({ maxLength: 12 }), fc.record({ value: fc.string({ maxLength: 40 }), active: fc.boolean() }), { maxKeys: 3 }) }),
  fc.record({ accessKeyXid: fc.string({ maxLength: 30 }), bucketName: fc.string({ maxLength: 12 }), awsRegion: fc.string({ maxLength: 12 }) }),
  fc.record({ googleProjectIdName: fc.string({ maxLength: 12 }), clientEmail: fc.string({ maxLength: 20 }), logIdName: fc.option(fc.string({ maxLength: 10 })) }),
);
const text = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });

describe('consolidated streaming mutations under hostile input', () => {
  it('create: errors as data or a valid destination, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(category, config, text, text, async (cat, cfg, name, secretToken) => {
        const r = await gql(GROUP_CREATE, { i: { groupPath: group.full_path, category: cat, config: cfg, name, secretToken } }, owner.token);
        if (cfg === null) {
          // `config: JSON!`: a null is refused before execution, as GraphQL over HTTP does (400).
          expect(r.status).toBe(400);
          expect(r.body.errors?.[0].message).toContain('Expected value of non-null type "JSON!" not to be null');
          return;
        }
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
        const p = r.body.data.groupAuditEventStreamingDestinationsCreate;
        if (p.errors.length) {
          expect(p.externalAuditEventDestination).toBeNull();
          return;
        }
        expect(['http', 'aws', 'gcp']).toContain(p.externalAuditEventDestination.category);
        expect(p.externalAuditEventDestination.category).toBe(cat);
        await gql(GROUP_DELETE, { i: { id: p.externalAuditEventDestination.id } }, owner.token);
      }),
      { numRuns: 60 },
    );
  });

  it('update: errors as data (the destination unchanged) or the change, never a crash', async () => {
    const d = await groupDestination(owner.token, group.full_path, { config: httpConfig({ 'X-A': { value: 'a' } }) });
    await fc.assert(
      fc.asyncProperty(fc.option(category, { nil: undefined }), fc.option(config, { nil: undefined }), text, text, async (cat, cfg, name, secretToken) => {
        const r = await gql(GROUP_UPDATE, { i: { id: d.id, category: cat, config: cfg, name, secretToken } }, owner.token);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
        const p = r.body.data.groupAuditEventStreamingDestinationsUpdate;
        if (p.errors.length) expect(p.externalAuditEventDestination).toBeNull();
        else expect(p.externalAuditEventDestination.id).toBe(d.id);
      }),
      { numRuns: 60 },
    );
  });
});

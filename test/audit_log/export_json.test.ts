// The JSON export (issue 18): the exact streaming payload of each event, for the auditors'
// verifier, with the CSV download's permissions, filters and recording; and the CSV's `leaf`
// column, the base64 of the same leaf.
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, addMember, api, call, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, parseCsv, projectEntityOf } from './support';
import { findAuditEventInScope } from '../../src/db/audit_log';
import { streamingPayload } from '../../src/audit/record';
import { fromBase64, toBase64 } from '../../src/tlog/hash';
import { LEAF_VERSION, leafBytes } from '../../src/tlog/leaf';

type Item = { id: number; leaf_version: number; payload: Record<string, unknown> };

describe('JSON export', () => {
  let owner: TestUser, developer: TestUser, reporter: TestUser, outsider: TestUser;
  let group: { id: number; full_path: string };
  let project: { id: number };
  let ids: number[];

  beforeAll(async () => {
    [owner, developer, reporter, outsider] = await Promise.all(Array.from({ length: 4 }, () => createUser()));
    group = await createGroup();
    project = await createProject(group.id);
    // Owner, Developer, Reporter of the group; the outsider nothing.
    for (const [user, level] of [[owner, 50], [developer, 30], [reporter, 20]] as const) await addMember('groups', group.id, user.id, level);
    const [g, p] = await Promise.all([groupEntityOf(group.id), projectEntityOf(project.id)]);
    ids = await insertEvents([
      eventInput(g, owner, {
        createdAt: '2022-02-02T02:02:02.000Z',
        ipAddress: '203.0.113.9',
        target: { id: 3, type: 'Release', details: '=cmd|" /C calc"!A0' },
        details: { custom_message: '=HYPERLINK("x"), "é" \u2028 then\nmore', n: 1.5e21 },
      }),
      eventInput(p, owner, { eventType: 'release_updated', createdAt: '2022-02-03T00:00:00.000Z', details: { change: 'name', from: '@old', to: '-new' } }),
      eventInput(g, developer, { createdAt: '2022-02-04T00:00:00.000Z', details: { custom_message: 'mine' } }),
    ]);
  });

  it('the .json suffix streams [{ id, leaf_version, payload }] with each exact streaming payload, newest first', async () => {
    const res = await call('GET', `/api/v4/groups/${group.id}/audit_events.json?created_before=2023-01-01`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('Content-Disposition')).toMatch(new RegExp(`^attachment; filename="audit_events_group_${group.id}_\\d{8}T\\d{6}Z\\.json"$`));
    const items = (await res.json()) as Item[];
    expect(items.map((i) => i.id)).toEqual([...ids].reverse());
    for (const item of items) {
      const event = await findAuditEventInScope(env.DB, { kind: 'instance' }, item.id);
      expect(item.leaf_version).toBe(LEAF_VERSION);
      // What an HTTP destination receives (src/delivery/attempt.ts sends JSON.stringify(streamingPayload(e))).
      expect(item.payload).toEqual(JSON.parse(JSON.stringify(streamingPayload(event!))));
    }
    expect(items[2].payload).toMatchObject({ id: String(ids[0]), ip_address: '203.0.113.9', target_details: '=cmd|" /C calc"!A0' });
  });

  it("the CSV's leaf column is the base64 of the RFC 8785 leaf of the same payload", async () => {
    const csv = parseCsv(await (await call('GET', `/api/v4/groups/${group.id}/audit_events.csv?created_before=2023-01-01`, { token: owner.token })).text());
    const items = (await (await call('GET', `/api/v4/groups/${group.id}/audit_events.json?created_before=2023-01-01`, { token: owner.token })).json()) as Item[];
    const leafColumn = csv[0].indexOf('leaf');
    expect(leafColumn).toBe(csv[0].length - 1);
    expect(csv.slice(1).map((row) => row[leafColumn])).toEqual(items.map((i) => toBase64(leafBytes(i.payload, i.leaf_version))));
    const first = JSON.parse(new TextDecoder().decode(fromBase64(csv[3][leafColumn])!));
    expect(first).toEqual(items[2].payload);
  });

  it('an empty selection is an empty array; filters and sort apply as in the CSV', async () => {
    const none = await call('GET', `/api/v4/groups/${group.id}/audit_events.json?created_before=2000-01-01`, { token: owner.token });
    expect(await none.text()).toBe('[]\n');
    const asc = (await (await call('GET', `/api/v4/groups/${group.id}/audit_events.json?created_before=2023-01-01&sort=asc&event_type=release_updated`, { token: owner.token })).json()) as Item[];
    expect(asc.map((i) => i.id)).toEqual([ids[1]]);
    const proj = (await (await call('GET', `/api/v4/projects/${project.id}/audit_events.json?created_before=2023-01-01`, { token: owner.token })).json()) as Item[];
    expect(proj.map((i) => i.id)).toEqual([ids[1]]);
    const inst = (await (await call('GET', `/api/v4/audit_events.json?entity_type=Project&entity_id=${project.id}&created_before=2023-01-01`, { token: ADMIN })).json()) as Item[];
    expect(inst.map((i) => i.id)).toEqual([ids[1]]);
  });

  it('same permissions as the CSV: developers get their own events; reporters 403; outsiders 404; bad filters 400', async () => {
    const dev = (await (await call('GET', `/api/v4/groups/${group.id}/audit_events.json`, { token: developer.token })).json()) as Item[];
    expect(dev.length).toBeGreaterThan(0);
    expect(dev.every((i) => i.payload.author_id === developer.id)).toBe(true);
    expect((await api('GET', `/api/v4/groups/${group.id}/audit_events.json`, { token: reporter.token })).status).toBe(403);
    expect((await api('GET', `/api/v4/groups/${group.id}/audit_events.json`, { token: outsider.token })).status).toBe(404);
    expect((await api('GET', `/api/v4/groups/${group.id}/audit_events.json`, { token: null })).status).toBe(404);
    expect((await api('GET', '/api/v4/audit_events.json', { token: owner.token })).status).toBe(403);
    const bad = await api('GET', `/api/v4/groups/${group.id}/audit_events.json?created_after=soon`, { token: owner.token });
    expect(bad).toMatchObject({ status: 400, body: { error: 'created_after is invalid' } });
  });

  it('each JSON download is recorded as audit_events_exported with format json, and not counted as a CSV export', async () => {
    const stats = async () => {
      const r = await api('GET', '/api/v4/admin/audit_events/stats?months=1', { token: ADMIN });
      return r.body.months.at(-1)?.audit_csv_exports ?? 0;
    };
    const before = await stats();
    const res = await call('GET', `/api/v4/projects/${project.id}/audit_events.json?event_type=release_updated`, { token: owner.token });
    const listed = await api('GET', `/api/v4/projects/${project.id}/audit_events?event_type=audit_events_exported`, { token: ADMIN });
    expect(listed.body[0]).toMatchObject({
      author_id: owner.id,
      entity_type: 'Project',
      entity_id: project.id,
      details: { custom_message: 'Exported audit events to JSON', format: 'json', filters: { event_type: 'release_updated', sort: 'desc' } },
    });
    // Not in its own file.
    expect(((await res.json()) as Item[]).map((i) => i.id)).toEqual([ids[1]]);
    expect(await stats()).toBe(before);
  });
});

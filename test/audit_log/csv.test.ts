import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, addMember, api, call, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, parseCsv, projectEntityOf } from './support';
import { actionText, changesCell, csvCell, csvLine, CSV_HEADER } from '../../src/audit/csv';

const HEADER = ['Author', 'Action', 'Target', 'Entity', 'Event type', 'IP', 'At', 'Changes', 'leaf'];

describe('CSV cells (RFC 4180, formula injection)', () => {
  it('quotes every cell, doubling quotes', () => {
    // Issue 17 (OWASP): every cell is quoted now, not only those holding a quote, comma or line break.
    expect(csvCell('plain')).toBe('"plain"');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rlf')).toBe('"cr\rlf"');
    expect(csvCell(null)).toBe('""');
    expect(csvCell(42)).toBe('"42"');
    expect(csvLine(['a', 'b,c'])).toBe('"a","b,c"\r\n');
    expect([...CSV_HEADER]).toEqual(HEADER);
  });

  it('neutralises cells that a spreadsheet would evaluate', () => {
    // Quoted (issue 17); a formula after a tab inside the cell is neutralised too (a reader splitting on tabs).
    expect(csvCell('=1+1')).toBe('"\'=1+1"');
    expect(csvCell('+1')).toBe('"\'+1"');
    expect(csvCell('-1')).toBe('"\'-1"');
    expect(csvCell('@SUM(A1)')).toBe('"\'@SUM(A1)"');
    expect(csvCell('\t=cmd')).toBe('"\'\t\'=cmd"');
    expect(csvCell('\r=cmd')).toBe('"\'\r\'=cmd"');
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe('"\'=HYPERLINK(""http://evil"",""x"")"');
    expect(csvCell('a=b')).toBe('"a=b"');
  });

  it('words the action as GitLab does', () => {
    const a = (details: Record<string, unknown>) => actionText({ details, eventType: 'some_type' });
    expect(a({ custom_message: 'Released v1' })).toBe('Released v1');
    expect(a({ change: 'name', from: 'v1', to: 'v2' })).toBe('Changed name from v1 to v2');
    expect(a({ change: 'description', from: '', to: 'new' })).toBe('Changed description to new');
    expect(a({ changes: [{ change: 'name', from: 'a', to: 'b' }, { change: 'tag', from: 'x', to: 'y' }] })).toBe(
      'Changed name from a to b; Changed tag from x to y',
    );
    expect(a({ add: 'user_access', as: 'Developer' })).toBe('Added user_access as Developer');
    expect(a({ remove: 'user_access' })).toBe('Removed user_access');
    expect(a({})).toBe('some_type');
  });

  it('the changes column holds each change with its exact from and to, whichever way the event names them', () => {
    expect(changesCell({ change: 'name', from: 'v1', to: 'v2' })).toBe('[{"change":"name","from":"v1","to":"v2"}]');
    expect(JSON.parse(changesCell({ changes: [{ field: 'description', from: 'a,"b"\nc', to: null }, { change: 'tag', from: 1, to: 2 }] }))).toEqual([
      { change: 'description', from: 'a,"b"\nc', to: null },
      { change: 'tag', from: 1, to: 2 },
    ]);
    expect(changesCell({ custom_message: 'no change' })).toBe('');
    expect(changesCell({ changes: [] })).toBe('');
    expect(changesCell({ changes: ['junk', null, { from: 'x' }] })).toBe('');
    // A value with a quote, comma and line break survives the CSV cell (RFC 4180) round trip.
    const line = csvLine(['x', changesCell({ change: 'd', from: 'a,"b"\nc', to: '=1' })]);
    expect(JSON.parse(parseCsv(line)[0][1])).toEqual([{ change: 'd', from: 'a,"b"\nc', to: '=1' }]);
  });
});

describe('CSV download', () => {
  let owner: TestUser, developer: TestUser, reporter: TestUser, outsider: TestUser;
  let group: { id: number; full_path: string };
  let project: { id: number };
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    [owner, developer, reporter, outsider] = await Promise.all(Array.from({ length: 4 }, () => createUser()));
    group = await createGroup();
    project = await createProject(group.id);
    await addMember('groups', group.id, owner.id, 50);
    await addMember('groups', group.id, developer.id, 30);
    await addMember('groups', group.id, reporter.id, 20);
    const g = await groupEntityOf(group.id);
    const p = await projectEntityOf(project.id);
    const [evil, change, devOwn] = await insertEvents([
      eventInput(g, owner, {
        createdAt: '2022-02-02T02:02:02.000Z',
        ipAddress: '203.0.113.9',
        target: { id: 3, type: 'Release', details: '=cmd|" /C calc"!A0' },
        details: { custom_message: '=HYPERLINK("http://evil.example","click"), then\nmore' },
      }),
      eventInput(p, owner, {
        eventType: 'release_updated',
        createdAt: '2022-02-03T00:00:00.000Z',
        details: { change: 'name', from: '@old', to: '-new' },
      }),
      eventInput(g, developer, { createdAt: '2022-02-04T00:00:00.000Z', details: { custom_message: 'mine' } }),
    ]);
    Object.assign(ids, { evil, change, devOwn });
  });

  it('the .csv suffix streams a header and one quoted, neutralised row per event, newest first', async () => {
    const res = await call('GET', `/api/v4/groups/${group.id}/audit_events.csv?created_before=2023-01-01`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('Content-Disposition')).toMatch(new RegExp(`^attachment; filename="audit_events_group_${group.id}_\\d{8}T\\d{6}Z\\.csv"$`));
    const text = await res.text();
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(HEADER);
    expect(rows.length).toBe(4);
    const [dev, change, evil] = rows.slice(1);
    // The cells before `leaf` (issue 18's last column, checked in export_json.test.ts).
    expect(dev.slice(0, 8)).toEqual([developer.name, 'mine', '', group.full_path, 'audit_operation', '', '2022-02-04T00:00:00.000Z', '']);
    expect(change[1]).toBe('Changed name from @old to -new');
    expect(change[3]).toMatch(new RegExp(`^${group.full_path}/`));
    expect(change[4]).toBe('release_updated');
    // The changes column (last): exact from/to values as JSON, never evaluated by a spreadsheet.
    expect(change[7]).toBe('[{"change":"name","from":"@old","to":"-new"}]');
    expect(JSON.parse(change[7])).toEqual([{ change: 'name', from: '@old', to: '-new' }]);
    expect(dev[8]).toMatch(/^eyJ[A-Za-z0-9+/]+={0,2}$/);
    expect(evil.slice(0, 8)).toEqual([
      owner.name,
      '\'=HYPERLINK("http://evil.example","click"), then\nmore',
      '\'=cmd|" /C calc"!A0',
      group.full_path,
      'audit_operation',
      '203.0.113.9',
      '2022-02-02T02:02:02.000Z',
      '',
    ]);
  });

  it('Accept: text/csv on the listing path answers CSV too, with the same filters', async () => {
    const res = await call('GET', `/api/v4/groups/${group.id}/audit_events?event_type=release_updated`, {
      token: owner.token,
      headers: { Accept: 'text/csv' },
    });
    expect(res.headers.get('Content-Type')).toBe('text/csv; charset=utf-8');
    const rows = parseCsv(await res.text());
    expect(rows.length).toBe(2);
    expect(rows[1][4]).toBe('release_updated');
    const proj = await call('GET', `/api/v4/projects/${project.id}/audit_events.csv?created_before=2023-01-01`, { token: owner.token });
    expect(parseCsv(await proj.text()).length).toBe(2);
    const inst = await call('GET', `/api/v4/audit_events.csv?entity_type=Project&entity_id=${project.id}&created_before=2023-01-01`, { token: ADMIN });
    expect(parseCsv(await inst.text()).length).toBe(2);
  });

  it('same permissions: developers get their own rows; reporters 403; outsiders 404; bad filters 400; none of these are recorded', async () => {
    const dev = parseCsv(await (await call('GET', `/api/v4/groups/${group.id}/audit_events.csv`, { token: developer.token })).text());
    expect(dev.slice(1).every((r) => r[0] === developer.name)).toBe(true);
    expect(dev.slice(1).map((r) => r[1])).toContain('mine');
    const devExport = await api('GET', `/api/v4/groups/${group.id}/audit_events?event_type=audit_events_exported&author_id=${developer.id}`, { token: ADMIN });
    expect(devExport.body[0].details).toMatchObject({ own_events_only: true, filters: { sort: 'desc' } });
    expect((await api('GET', `/api/v4/groups/${group.id}/audit_events.csv`, { token: reporter.token })).status).toBe(403);
    expect((await api('GET', `/api/v4/groups/${group.id}/audit_events.csv`, { token: outsider.token })).status).toBe(404);
    expect((await api('GET', `/api/v4/groups/${group.id}/audit_events.csv`, { token: null })).status).toBe(404);
    expect((await api('GET', `/api/v4/audit_events.csv`, { token: owner.token })).status).toBe(403);
    const bad = await api('GET', `/api/v4/groups/${group.id}/audit_events.csv?created_after=soon`, { token: owner.token });
    expect(bad).toMatchObject({ status: 400, body: { error: 'created_after is invalid' } });
    const exports = await api('GET', `/api/v4/groups/${group.id}/audit_events?event_type=audit_events_exported&per_page=100`, { token: ADMIN });
    const authors = exports.body.map((e: { author_id: number }) => e.author_id);
    expect(authors).not.toContain(reporter.id);
    expect(authors).not.toContain(outsider.id);
    expect(authors.filter((a: number) => a === owner.id).length).toBeGreaterThan(0);
  });

  it('each download is recorded as audit_events_exported, with the filters, before streaming, and is not in its own file', async () => {
    const res = await call('GET', `/api/v4/groups/${group.id}/audit_events.csv?created_after=2022-02-03T00:00:00Z&created_before=2023-01-01&author_id=${owner.id}`, {
      token: owner.token,
      headers: { 'CF-Connecting-IP': '198.51.100.7' },
    });
    // Recorded before the body is read.
    const listed = await api('GET', `/api/v4/groups/${group.id}/audit_events?event_type=audit_events_exported&author_id=${owner.id}`, { token: ADMIN });
    const ev = listed.body[0];
    expect(ev).toMatchObject({
      author_id: owner.id,
      entity_type: 'Group',
      entity_id: group.id,
      event_type: 'audit_events_exported',
      details: {
        custom_message: 'Exported audit events to CSV',
        ip_address: '198.51.100.7',
        filters: { created_after: '2022-02-03T00:00:00.000Z', created_before: '2023-01-01T00:00:00.000Z', author_id: owner.id, sort: 'desc' },
      },
    });
    const rows = parseCsv(await res.text());
    // Only the owner's event in the window (the change).
    expect(rows.slice(1).map((r) => r[4])).toEqual(['release_updated']);
    // Without an upper bound, the file holds the earlier exports but never the export event itself.
    const open = await call('GET', `/api/v4/groups/${group.id}/audit_events.csv?event_type=audit_events_exported`, { token: owner.token });
    const openRows = parseCsv(await open.text());
    const latest = await api('GET', `/api/v4/groups/${group.id}/audit_events?event_type=audit_events_exported&per_page=100`, { token: ADMIN });
    expect(openRows.length - 1).toBe(latest.body.length - 1);
    // A project download is recorded on the project.
    await (await call('GET', `/api/v4/projects/${project.id}/audit_events.csv`, { token: owner.token })).text();
    const p = await api('GET', `/api/v4/projects/${project.id}/audit_events?event_type=audit_events_exported`, { token: ADMIN });
    expect(p.body[0]).toMatchObject({ entity_type: 'Project', entity_id: project.id, author_id: owner.id });
  });

  it('streams thousands of events in chunks, in order, without duplicates', async () => {
    const fresh = await createGroup();
    const entity = await groupEntityOf(fresh.id);
    const n = 2600;
    const inserted = await insertEvents(
      Array.from({ length: n }, (_, i) => eventInput(entity, owner, { createdAt: '2020-01-01T00:00:00.000Z', details: { custom_message: `event ${i}, "n"` } })),
    );
    const res = await call('GET', `/api/v4/groups/${fresh.id}/audit_events.csv?created_before=2021-01-01&sort=asc`, { token: ADMIN });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks++;
      text += decoder.decode(value, { stream: true });
    }
    // Header, then one chunk per page of 500 events.
    expect(chunks).toBeGreaterThanOrEqual(1 + Math.ceil(n / 500));
    const rows = parseCsv(text);
    expect(rows.length).toBe(n + 1);
    expect(rows[1][1]).toBe('event 0, "n"');
    expect(rows[n][1]).toBe(`event ${n - 1}, "n"`);
    expect(new Set(rows.slice(1).map((r) => r[1])).size).toBe(n);
    expect(inserted.length).toBe(n);
  });
});

/**
 * CSV formula injection (issue 17, OWASP "CSV Injection"): every cell is quoted, and no value a
 * spreadsheet could evaluate gets through: leading blanks of any kind (spaces, tabs, line breaks,
 * no-break and other Unicode spaces, zero-width characters) before a formula sign, full-width and
 * small-form signs, and formulas after a separator that another locale splits on (`;`, tab) or a
 * line break inside a cell.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, call, createGroup } from '../support/api';
import { csvCell, csvLine } from '../../src/audit/csv';
import { eventInput, groupEntityOf, insertEvents, parseCsv } from './support';

/** What a spreadsheet may take for the start of a formula. */
const SIGNS = /^[=+\-@|\uFF1D\uFF0B\uFF0D\uFF20\uFF5C\uFE62\uFE63\uFE66\uFE6B\u2212]/u;
/** What a spreadsheet may skip before it. */
const BLANKS = /^[\s\p{Z}\p{Cc}\p{Cf}]*/u;

/** A field (as a spreadsheet reads it) that would be evaluated: no leading `'`, and a sign first, after blanks, or a tab or CR first. */
function evaluable(field: string): boolean {
  if (field.startsWith("'")) return false;
  return /^[\t\r\n]/.test(field) || SIGNS.test(field.replace(BLANKS, ''));
}

/**
 * Whether a cell's text could be evaluated: as one field (comma-separated), or as any of the
 * fields it falls into when a spreadsheet splits it on `;`, tab or a line break.
 */
function injectable(text: string): boolean {
  return evaluable(text) || text.split(/[;\t\r\n]/).slice(1).some((part) => part !== '' && evaluable(part));
}

/** Values that spreadsheets evaluate (or evaluate once split), each of which the old check let through. */
const HOSTILE = [
  ' =1+1',
  '  +1',
  '\u00A0=HYPERLINK("http://evil.example","x")',
  '\u2003-1',
  '\u3000@SUM(A1)',
  '\u200B=1+1',
  '\uFEFF=1+1',
  '\n=1+1',
  ' \t\r\n=1',
  '\uFF1D1+1',
  '\uFF0B1',
  '\uFF0D1',
  '\uFF20SUM(A1)',
  ' \uFF1DSUM(A1)',
  '\uFE66cmd',
  '\u22121',
  '|cmd',
  'release notes;=cmd|" /C calc"!A0',
  'name\t=1+1',
  'first line\n=1+1',
  'first line\r\n @SUM(A1)',
  'a; \u00A0+1',
];

/** The cell's content as a reader of quoted CSV sees it (the surrounding quotes removed, doubled quotes undone). */
function unquoted(cell: string): string {
  expect(cell).toMatch(/^"(?:[^"]|"")*"$/s);
  return cell.slice(1, -1).replace(/""/g, '"');
}

describe('CSV cells against formula injection', () => {
  it('quotes every cell, empty and numeric ones too', () => {
    expect(csvLine(['plain', 42, null, undefined, 'a,b'])).toBe('"plain","42","","","a,b"\r\n');
  });

  it.each(HOSTILE.map((v) => [JSON.stringify(v), v]))('neutralises %s', (_name, value) => {
    expect(injectable(value)).toBe(true);
    const text = unquoted(csvCell(value));
    expect(injectable(text), JSON.stringify(text)).toBe(false);
    // Only quotes are added: removing them gives the value back.
    expect(text.replace(/'/g, '')).toBe(value.replace(/'/g, ''));
  });

  it('leaves harmless values as they are', () => {
    for (const v of ['plain', 'a=b', 'Changed name from @old to -new', '2022-02-02T02:02:02.000Z', '203.0.113.9', 'x; y', "it's"]) {
      expect(unquoted(csvCell(v))).toBe(v);
    }
  });
});

describe('CSV download against formula injection', () => {
  let group: { id: number; full_path: string };

  beforeAll(async () => {
    group = await createGroup();
    const entity = await groupEntityOf(group.id);
    await insertEvents(
      HOSTILE.map((v, i) =>
        eventInput(entity, { id: 1, name: v }, {
          createdAt: `2021-03-0${1 + (i % 9)}T00:00:00.000Z`,
          target: { id: i, type: 'Release', details: v },
          details: { change: 'name', from: v, to: `x${v}` },
        }),
      ),
    );
  });

  it('no cell of the file is evaluable, every cell is quoted, and the changes column keeps the exact values', async () => {
    const res = await call('GET', `/api/v4/groups/${group.id}/audit_events.csv?created_before=2022-01-01&sort=asc`, { token: ADMIN });
    expect(res.status).toBe(200);
    const text = await res.text();
    // Every record: quoted cells separated by commas, CRLF-terminated.
    expect(text).toMatch(/^(?:"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*\r\n)+$/s);
    const rows = parseCsv(text).slice(1);
    expect(rows.length).toBe(HOSTILE.length);
    for (const [i, row] of rows.entries()) {
      for (const cell of row) expect(injectable(cell), JSON.stringify(cell)).toBe(false);
      expect(JSON.parse(row[7]!)).toEqual([{ change: 'name', from: HOSTILE[i], to: `x${HOSTILE[i]}` }]);
    }
  });
});

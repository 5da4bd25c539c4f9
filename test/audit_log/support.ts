/** Helpers for the audit log tests: build events directly in D1, parse CSV. */
import { env } from 'cloudflare:workers';
import { findGroup } from '../../src/db/namespaces';
import { findProjectById } from '../../src/db/projects';
import { auditEventStatements, groupEntity, projectEntity, type AuditEntity, type AuditEventInput } from '../../src/audit/record';

/** The entity of group `id` (as recordAuditEvent would store it). */
export async function groupEntityOf(id: number): Promise<AuditEntity> {
  const g = await findGroup(env.DB, String(id));
  if (!g) throw new Error(`no group ${id}`);
  return groupEntity(g);
}

/** The entity of project `id`. */
export async function projectEntityOf(id: number): Promise<AuditEntity> {
  const p = await findProjectById(env.DB, id);
  if (!p) throw new Error(`no project ${id}`);
  return projectEntity(p);
}

/** A minimal event input. */
export function eventInput(entity: AuditEntity, author: { id: number; name: string }, extra: Partial<AuditEventInput> = {}): AuditEventInput {
  return { eventType: 'audit_operation', author, entity, details: { custom_message: 'did something' }, ...extra };
}

/**
 * Insert events through the same INSERT as recordAuditEvent, without outbox rows (so that test
 * data never fans out to other tests' destinations), or with one each whatever the destinations.
 * Returns their ids in insertion order.
 */
export async function insertEvents(inputs: AuditEventInput[], withOutbox = false): Promise<number[]> {
  const ids: number[] = [];
  const per = withOutbox ? 2 : 1;
  // With outbox: a row whatever the destinations (recordAuditEvent writes one only when one could receive it).
  const outbox = () => env.DB.prepare('INSERT INTO audit_event_outbox (event_id, created_at) VALUES (last_insert_rowid(), ?1)').bind(new Date().toISOString());
  for (let i = 0; i < inputs.length; i += 250) {
    const stmts = inputs.slice(i, i + 250).flatMap((input) => [auditEventStatements(env.DB, input)[0], ...(withOutbox ? [outbox()] : [])]);
    const results = await env.DB.batch(stmts);
    for (let k = 0; k < results.length; k += per) ids.push((results[k].results as { id: number }[])[0].id);
  }
  return ids;
}

/** Parse RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 2;
    } else {
      cell += c;
      i++;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

// Reading an audit log export for the verifier (scripts/verify-audit-log.mjs): the JSON export
// (an array of { id, leaf_version, payload }, each payload the exact streaming payload an HTTP
// destination receives) or the CSV export (its last column `leaf`: the base64 of the RFC 8785
// leaf bytes). Either gives, per event, its id and its leaf bytes.
import { fromBase64 } from '../src/tlog/hash.ts';
import { LEAF_VERSION, leafBytes } from '../src/tlog/leaf.ts';

/** A failure the verifier reports as such (exit status 1), with the message to print. */
export class VerificationError extends Error {}

/**
 * The events of an export file's text, sorted by id: [{ id, leaf }] (leaf: the leaf bytes). JSON
 * when the text starts with "[", CSV otherwise. Throws VerificationError on anything malformed,
 * and on an id that appears twice.
 */
export function readExport(text) {
  const body = text.replace(/^\uFEFF/, '');
  const events = body.trimStart().startsWith('[') ? readJsonExport(body) : readCsvExport(body);
  events.sort((a, b) => a.id - b.id);
  for (let i = 1; i < events.length; i++) {
    if (events[i].id === events[i - 1].id) throw new VerificationError(`the export holds audit event ${events[i].id} twice`);
  }
  return events;
}

/** The id a payload names (`"id": "42"`, a string as in GitLab's streaming payload). */
function payloadId(payload, where) {
  const id = typeof payload?.id === 'string' && /^[1-9][0-9]{0,14}$/.test(payload.id) ? Number(payload.id) : NaN;
  if (!Number.isSafeInteger(id)) throw new VerificationError(`${where}: the payload has no audit event id`);
  return id;
}

function readJsonExport(text) {
  let items;
  try {
    items = JSON.parse(text);
  } catch (e) {
    throw new VerificationError(`the export is not valid JSON: ${e.message}`);
  }
  if (!Array.isArray(items)) throw new VerificationError('a JSON export is an array of events');
  return items.map((item, i) => {
    const where = `event ${i + 1} of the export`;
    if (!item || typeof item !== 'object' || !item.payload || typeof item.payload !== 'object' || Array.isArray(item.payload)) {
      throw new VerificationError(`${where} has no payload object`);
    }
    const id = payloadId(item.payload, where);
    if (item.id !== undefined && item.id !== id) throw new VerificationError(`${where}: its id ${item.id} is not its payload's id ${id}`);
    const version = item.leaf_version ?? LEAF_VERSION;
    let leaf;
    try {
      leaf = leafBytes(item.payload, version);
    } catch (e) {
      throw new VerificationError(`${where} (audit event ${id}): ${e.message}`);
    }
    return { id, leaf };
  });
}

/** RFC 4180 records (quoted cells may hold commas, quotes doubled, line breaks). */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      i++;
      continue;
    } else if (c === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
    } else cell += c;
    i++;
  }
  if (quoted) throw new VerificationError('the CSV export ends inside a quoted cell');
  if (cell !== '' || record.length > 0) records.push([...record, cell]);
  return records;
}

function readCsvExport(text) {
  const [header, ...rows] = parseCsv(text);
  const column = header ? header.indexOf('leaf') : -1;
  if (column < 0) throw new VerificationError('the CSV export has no "leaf" column (an export made before the audit log was verifiable?)');
  return rows.map((row, i) => {
    const where = `row ${i + 2} of the CSV export`;
    if (row.length !== header.length) throw new VerificationError(`${where} has ${row.length} cells, the header ${header.length}`);
    // The leaf is base64 of a JSON object ("eyJ..."): formula neutralising never prefixes it.
    const leaf = fromBase64(row[column]);
    if (!leaf) throw new VerificationError(`${where}: its leaf is not base64`);
    let payload;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(leaf));
    } catch {
      throw new VerificationError(`${where}: its leaf is not UTF-8 JSON`);
    }
    return { id: payloadId(payload, where), leaf };
  });
}

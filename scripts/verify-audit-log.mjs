#!/usr/bin/env node
// The auditors' verifier of the audit log (issue 18), run as
//
//   npm run verify-audit-log -- --url <base> --token <token> [--key <verifier key>]
//       [--checkpoint <saved note file>] [--export <file>] [--complete] [--save-checkpoint <file>]
//
// 1. Fetches the log's verifier key (GET /-/audit-log/verifier-key; with --key, it must be that
//    key: pin the key you were given out of band) and the latest checkpoint (GET
//    /api/v4/audit_events/checkpoint), and verifies the checkpoint's signature.
// 2. With --checkpoint (a checkpoint saved earlier, e.g. by --save-checkpoint): verifies its
//    signature and that the latest tree extends it (GET /api/v4/audit_events/consistency_proof).
// 3. With --export (a JSON or CSV export of audit events): when the export is whole (its ids are
//    1..K without a gap, or --complete says that it holds every event of the log), rebuilds the
//    tree of the checkpoint's size N from it and compares the root (K < N: an export older than
//    the checkpoint, its tree must be a prefix of the checkpoint's, by a consistency proof);
//    otherwise checks each event's inclusion proof (GET
//    /api/v4/audit_events/inclusion_proofs, 100 ids a request).
// 4. With --save-checkpoint: once everything verified, saves the latest checkpoint there.
//
// Prints what it checked; exits 0 when everything verified, 1 on the first mismatch (with what
// did not match), 2 on a usage error or when the service cannot be read.
// Runs in Node (22.12+, type stripping) with the service's own library, src/tlog/*.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseCheckpoint } from '../src/tlog/checkpoint.ts';
import { fromBase64, leafHash, toBase64 } from '../src/tlog/hash.ts';
import { parseVerifierKey, verifyNote } from '../src/tlog/note.ts';
import { rootHash, verifyConsistency, verifyInclusion } from '../src/tlog/tree.ts';
import { readExport, VerificationError } from './audit-log-export.mjs';

/** Most ids per inclusion_proofs request (the API's limit). */
const BATCH = 100;

const usage =
  'usage: npm run verify-audit-log -- --url <base> --token <token> [--key <verifier key>] [--checkpoint <file>] [--export <file>] [--complete] [--save-checkpoint <file>]';

/** A problem reading the service or the files (exit status 2), not a verification failure. */
class UsageError extends Error {}

function options(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        key: { type: 'string' },
        checkpoint: { type: 'string' },
        export: { type: 'string' },
        complete: { type: 'boolean' },
        'save-checkpoint': { type: 'string' },
      },
    }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (!values.url || !values.token) throw new UsageError('--url and --token are required');
  if (!/^https?:\/\/[^/]+/.test(values.url)) throw new UsageError('--url is the service\'s base URL, e.g. http://127.0.0.1:8787');
  if (values.complete && !values.export) throw new UsageError('--complete goes with --export');
  return { ...values, url: values.url.replace(/\/+$/, '') };
}

/** A small client of the service: GETs a path, answers its text, or throws with the API's message. */
function client(base, token) {
  return async function get(path, { auth = true, accept } = {}) {
    let response;
    try {
      response = await fetch(`${base}${path}`, { headers: { ...(auth ? { 'PRIVATE-TOKEN': token } : {}), ...(accept ? { Accept: accept } : {}) } });
    } catch (e) {
      throw new UsageError(`cannot reach ${base}${path}: ${e.cause?.message ?? e.message}`);
    }
    const text = await response.text();
    return { status: response.status, text, message: apiMessage(text) };
  };
}

/** The `message` (or `error`) of an API error body, else the body itself, shortened. */
function apiMessage(text) {
  try {
    const body = JSON.parse(text);
    const m = body?.message ?? body?.error;
    if (m !== undefined) return typeof m === 'string' ? m : JSON.stringify(m);
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}

async function expectOk(get, path, what, opts) {
  const r = await get(path, opts);
  if (r.status !== 200) throw new UsageError(`${what}: GET ${path} answered ${r.status}: ${r.message}`);
  return r.text;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new VerificationError(`${what} is not JSON`);
  }
}

/** Base64 hashes of a proof answer, decoded (32 bytes each), or a VerificationError. */
function hashList(list, what) {
  if (!Array.isArray(list)) throw new VerificationError(`${what} has no hashes`);
  return list.map((h) => {
    const bytes = typeof h === 'string' ? fromBase64(h) : null;
    if (!bytes || bytes.length !== 32) throw new VerificationError(`${what} holds a hash that is not the base64 of 32 bytes`);
    return bytes;
  });
}

/** Verifies a signed checkpoint note with the key: its fields, or a VerificationError. */
async function openCheckpoint(note, key, what) {
  const opened = await verifyNote(note, key);
  if ('error' in opened) throw new VerificationError(`${what}: ${opened.error}`);
  const checkpoint = parseCheckpoint(opened.text);
  if ('error' in checkpoint) throw new VerificationError(`${what}: ${checkpoint.error}`);
  return checkpoint;
}

async function checkConsistency(get, saved, latest, log) {
  if (saved.origin !== latest.origin) throw new VerificationError(`the saved checkpoint is of another log (${saved.origin}, not ${latest.origin})`);
  if (saved.size > latest.size) {
    throw new VerificationError(`the saved checkpoint has ${saved.size} events, the latest only ${latest.size}: the log lost events`);
  }
  let hashes = [];
  if (saved.size > 0 && saved.size < latest.size) {
    const path = `/api/v4/audit_events/consistency_proof?first=${saved.size}&second=${latest.size}`;
    const proof = parseJson(await expectOk(get, path, 'the consistency proof'), 'the consistency proof');
    if (proof.first !== saved.size || proof.second !== latest.size) throw new VerificationError('the consistency proof is for other tree sizes');
    hashes = hashList(proof.hashes, 'the consistency proof');
  }
  if (!(await verifyConsistency(saved.size, latest.size, saved.rootHash, latest.rootHash, hashes))) {
    throw new VerificationError(
      `the latest tree (${latest.size} events) does not extend the saved checkpoint (${saved.size} events, root ${toBase64(saved.rootHash)}): events were altered, removed, inserted or reordered`,
    );
  }
  log(`consistency: the latest tree extends the saved checkpoint of ${saved.size} events (${hashes.length} proof hashes)`);
}

/** An export of the log's first events: ids 1..K without a gap. */
function looksComplete(events) {
  return events.length > 0 && events.every((e, i) => e.id === i + 1);
}

/**
 * A whole export of K events. K >= N: the tree of its first N events must have the checkpoint's
 * root. K < N (an export older than the checkpoint): the tree of its K events must be a prefix
 * of the checkpoint's tree (a consistency proof from K to N).
 */
async function checkWholeExport(get, events, checkpoint, log) {
  const { size } = checkpoint;
  if (events.length < size) return checkExportPrefix(get, events, checkpoint, log);
  const hashes = await Promise.all(events.slice(0, size).map((e) => leafHash(e.leaf)));
  const root = await rootHash(hashes);
  if (toBase64(root) !== toBase64(checkpoint.rootHash)) {
    throw new VerificationError(
      `the tree of the export's first ${size} events (by id) has root ${toBase64(root)}, the checkpoint ${toBase64(checkpoint.rootHash)}: an event was altered, removed, inserted or reordered`,
    );
  }
  log(`export: the tree of its first ${size} events (ids ${events[0]?.id ?? '-'}..${events[size - 1]?.id ?? '-'}) has the checkpoint's root`);
  if (events.length > size) log(`export: ${events.length - size} later events are not in this checkpoint yet`);
}

async function checkExportPrefix(get, events, checkpoint, log) {
  const k = events.length;
  const root = await rootHash(await Promise.all(events.map((e) => leafHash(e.leaf))));
  const path = `/api/v4/audit_events/consistency_proof?first=${k}&second=${checkpoint.size}`;
  const proof = parseJson(await expectOk(get, path, 'the consistency proof of the export'), 'the consistency proof of the export');
  if (proof.first !== k || proof.second !== checkpoint.size) throw new VerificationError('the consistency proof of the export is for other tree sizes');
  const ids = `ids ${events[0]?.id ?? '-'}..${events.at(-1)?.id ?? '-'}`;
  if (!(await verifyConsistency(k, checkpoint.size, root, checkpoint.rootHash, hashList(proof.hashes, 'the consistency proof of the export')))) {
    throw new VerificationError(`the export's ${k} events (${ids}) are not the first ${k} events of the checkpoint's tree: an event was altered, removed, inserted or reordered`);
  }
  log(`export: its ${k} events (${ids}) are the first ${k} events of the checkpoint's tree of ${checkpoint.size} (consistency proof)`);
}

async function verifyProofOf(event, answer, checkpoint) {
  const what = `the inclusion proof of audit event ${event.id}`;
  if (!answer || typeof answer !== 'object') throw new VerificationError(`${what} is missing from the answer`);
  if (answer.tree_size !== checkpoint.size) throw new VerificationError(`${what} is for tree size ${answer.tree_size}, not ${checkpoint.size}`);
  if (!Number.isSafeInteger(answer.leaf_index) || answer.leaf_index < 0) throw new VerificationError(`${what} has no leaf index`);
  const mine = await leafHash(event.leaf);
  if (answer.leaf_hash !== toBase64(mine)) {
    throw new VerificationError(`audit event ${event.id} in the export is not the event the log holds: its leaf hash is ${toBase64(mine)}, the log's ${answer.leaf_hash} (altered)`);
  }
  if (!(await verifyInclusion(answer.leaf_index, checkpoint.size, mine, hashList(answer.hashes, what), checkpoint.rootHash))) {
    throw new VerificationError(`${what} (leaf ${answer.leaf_index}) does not verify against the checkpoint's root`);
  }
  return answer.leaf_index;
}

/** The inclusion proofs of `batch` (ids ascending): { id: answer }, or null per id the tree does not cover. */
async function proofsOf(get, batch, size) {
  const path = `/api/v4/audit_events/inclusion_proofs?ids=${batch.map((e) => e.id).join(',')}&tree_size=${size}`;
  const r = await get(path);
  if (r.status === 200) {
    const list = parseJson(r.text, 'the inclusion proofs');
    if (!Array.isArray(list)) throw new VerificationError('the inclusion proofs are not a list');
    return new Map(list.map((p) => [p?.id, p]));
  }
  if (r.status !== 400) throw notCovered(r, batch.map((e) => e.id).join(','));
  // 400: some event is not covered by the tree (newer than the checkpoint, or not in the log): one by one.
  const answers = new Map();
  for (const event of batch) {
    const one = await get(`/api/v4/audit_events/${event.id}/inclusion_proof?tree_size=${size}`);
    if (one.status === 200) answers.set(event.id, parseJson(one.text, `the inclusion proof of audit event ${event.id}`));
    else if (one.status === 400) answers.set(event.id, null);
    else throw notCovered(one, event.id);
  }
  return answers;
}

function notCovered(r, ids) {
  if (r.status === 404) return new VerificationError(`the log has no audit event ${ids} that you may read (${r.message}): the export holds an event the log does not`);
  return new UsageError(`inclusion proofs of audit events ${ids}: answered ${r.status}: ${r.message}`);
}

async function checkByProofs(get, events, checkpoint, log) {
  let verified = 0;
  let lastIndex = -1;
  const uncovered = [];
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    const answers = await proofsOf(get, batch, checkpoint.size);
    for (const event of batch) {
      const answer = answers.get(event.id);
      if (answer === null) {
        uncovered.push(event.id);
        continue;
      }
      if (uncovered.length > 0) {
        throw new VerificationError(`audit event ${uncovered[0]} is not in the log, yet the later event ${event.id} is: it was inserted`);
      }
      const index = await verifyProofOf(event, answer, checkpoint);
      if (index <= lastIndex) throw new VerificationError(`audit event ${event.id} is at leaf ${index}, not after the previous event's leaf ${lastIndex}: reordered`);
      lastIndex = index;
      verified++;
    }
  }
  log(`export: ${verified} events verified by inclusion proofs against the checkpoint's root`);
  if (uncovered.length > 0) log(`export: ${uncovered.length} later events (ids ${uncovered[0]}..${uncovered.at(-1)}) are not in this checkpoint yet`);
}

export async function main(argv, log = console.log) {
  const opts = options(argv);
  const get = client(opts.url, opts.token);
  const served = (await expectOk(get, '/-/audit-log/verifier-key', 'the verifier key', { auth: false })).trim();
  const key = opts.key ? opts.key.trim() : served;
  if (served !== key) throw new VerificationError(`the service's verifier key ${served} is not the key you gave (${key})`);
  const parsedKey = await parseVerifierKey(key);
  if ('error' in parsedKey) throw new VerificationError(parsedKey.error);
  const note = await expectOk(get, '/api/v4/audit_events/checkpoint', 'the latest checkpoint');
  const latest = await openCheckpoint(note, key, 'the latest checkpoint');
  log(`checkpoint: ${latest.origin}, tree size ${latest.size}, root ${toBase64(latest.rootHash)}; signature verified with ${key}`);
  if (opts.checkpoint) {
    const saved = await openCheckpoint(readFile(opts.checkpoint), key, `the saved checkpoint ${opts.checkpoint}`);
    await checkConsistency(get, saved, latest, log);
  }
  if (opts.export) {
    const events = readExport(readFile(opts.export));
    log(`export: ${events.length} events read from ${opts.export}`);
    if (opts.complete || looksComplete(events)) await checkWholeExport(get, events, latest, log);
    else await checkByProofs(get, events, latest, log);
  }
  if (opts['save-checkpoint']) {
    writeFileSync(opts['save-checkpoint'], note);
    log(`saved the checkpoint to ${opts['save-checkpoint']}`);
  }
  log('verified: no mismatch');
}

function readFile(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${e.message}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    await main(process.argv.slice(2));
  } catch (e) {
    if (e instanceof VerificationError) {
      console.error(`verify-audit-log: MISMATCH: ${e.message}`);
      process.exitCode = 1;
    } else if (e instanceof UsageError) {
      console.error(`verify-audit-log: ${e.message}\n${usage}`);
      process.exitCode = 2;
    } else throw e;
  }
}

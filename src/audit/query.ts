/**
 * Reading the audit log: scopes, filters and keyset pages. The SQL lives in src/db/audit_log.ts
 * (all D1 SQL is in db/); this module is the audit domain's name for it.
 */
export * from '../db/audit_log';

/**
 * A value the database gives when a statement runs, for statements written together in one
 * batch: e.g. the id of a row inserted earlier in the same transaction, found by its unique key.
 * `sql` is an SQL expression with anonymous `?` placeholders (no numbered ones, no `?` inside
 * string literals); `binds` fill them in order. The writer that receives one (the audit event
 * writer) renumbers the placeholders into its own statement.
 */
export interface SqlValue {
  readonly sql: string;
  readonly binds: readonly unknown[];
}

/** A plain value, or one the database gives (see SqlValue). */
export type Sql<T> = T | SqlValue;

/** An SQL expression and its bound values. */
export function sqlValue(sql: string, ...binds: unknown[]): SqlValue {
  return { sql: `(${sql})`, binds };
}

export function isSqlValue(v: unknown): v is SqlValue {
  return typeof v === 'object' && v !== null && typeof (v as SqlValue).sql === 'string' && Array.isArray((v as SqlValue).binds);
}

/**
 * Text from literal parts and values, some of which the database gives: a plain string when
 * every value is plain, otherwise the SQL concatenation of the parts (`sqlText\`id ${idOf}\``).
 */
export function sqlText(strings: TemplateStringsArray, ...values: Sql<string | number>[]): Sql<string> {
  if (!values.some(isSqlValue)) return strings.reduce((text, s, i) => text + s + (i < values.length ? String(values[i]) : ''), '');
  const parts: string[] = [];
  const binds: unknown[] = [];
  strings.forEach((s, i) => {
    if (s !== '') {
      parts.push('?');
      binds.push(s);
    }
    if (i < values.length) {
      const v = values[i];
      if (isSqlValue(v)) {
        parts.push(v.sql);
        binds.push(...v.binds);
      } else {
        parts.push('?');
        binds.push(String(v));
      }
    }
  });
  return { sql: `(${parts.join(' || ')})`, binds };
}

/**
 * Run statements as ONE D1 transaction (a batch: all are written or none), in order. The audit
 * event writer (src/audit/record.ts) commits every change together with its events through this.
 */
export function commitTransaction(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result[]> {
  return db.batch(statements);
}

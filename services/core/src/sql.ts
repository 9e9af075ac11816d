/**
 * ClickHouse SQL literals. The one place where values become SQL text: ClickHouse 18.16 has no
 * server-side query parameters, so every value in a statement goes through `sqlLiteral`, and
 * every identifier through `sqlIdentifier`. Both work on 18.16 and on current ClickHouse.
 */
import { SqlValueError } from './errors.ts';

/** A piece of SQL that is already safe to splice (an identifier, a keyword, a sub-statement). */
export class SqlFragment {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export type SqlValue = string | number | bigint | boolean | Date | null | SqlFragment | readonly SqlValue[];

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function escapeChar(c: string): string {
  switch (c) {
    case '\\':
      return '\\\\';
    case "'":
      return "\\'";
    case '\0':
      return '\\0';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    default:
      return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
}

/**
 * Quotes a string as a ClickHouse string literal: backslash and quote escaped, control
 * characters written as escapes, everything else (all of Unicode) passed through as UTF-8.
 * A string with a lone UTF-16 surrogate has no UTF-8 form and is refused.
 */
export function sqlString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new SqlValueError('string contains a lone UTF-16 surrogate');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return `'${value.replace(/[\\'\x00-\x1f\x7f]/g, escapeChar)}'`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** An identifier (database, table, column); only plain ASCII names are accepted, back-quoted. */
export function sqlIdentifier(name: string): SqlFragment {
  if (!IDENTIFIER.test(name)) throw new SqlValueError(`not a valid identifier: ${JSON.stringify(name)}`);
  return new SqlFragment(`\`${name}\``);
}

/** `database`.`table` */
export function sqlTable(database: string, table: string): SqlFragment {
  return new SqlFragment(`${sqlIdentifier(database).text}.${sqlIdentifier(table).text}`);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Any supported value as a SQL literal. Dates become UTC DateTime (second precision). */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (value instanceof SqlFragment) return value.text;
  if (Array.isArray(value)) return `[${value.map((v: SqlValue) => sqlLiteral(v)).join(', ')}]`;
  switch (typeof value) {
    case 'string':
      return sqlString(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new SqlValueError(`number is not finite: ${value}`);
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        throw new SqlValueError(`integer ${value} is beyond 2^53; pass a bigint`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    default:
      break;
  }
  if (value instanceof Date) {
    const t = value.getTime();
    if (!Number.isFinite(t)) throw new SqlValueError('invalid Date');
    const d = `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}`;
    const h = `${pad(value.getUTCHours())}:${pad(value.getUTCMinutes())}:${pad(value.getUTCSeconds())}`;
    return `toDateTime('${d} ${h}', 'UTC')`;
  }
  throw new SqlValueError(`unsupported SQL value of type ${typeof value}`);
}

/**
 * Tagged template for statements: `sql\`SELECT * FROM ${sqlTable(db, t)} WHERE sender = ${s}\``.
 * Interpolated values become literals; SqlFragments are spliced as they are.
 */
export function sql(strings: TemplateStringsArray, ...values: readonly SqlValue[]): string {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += sqlLiteral(values[i] as SqlValue) + (strings[i + 1] ?? '');
  }
  return out;
}

/**
 * Records ClickHouse refuses for their content, without I/O: which insert errors say so, and how
 * a batch is split to find the records they come from.
 *
 * An insert fails either because ClickHouse is unavailable (down, slow, out of memory, too many
 * parts, ...), which passes, or because a value in it is one ClickHouse cannot parse into its
 * column, which never does: retried, the insert fails the same way forever. Only the exception
 * codes of CONTENT_ERRORS are taken for the latter; any other error, and any error without a
 * code, is taken for the former and retried. A wrong guess that way only delays a table; the other
 * way it would send good records to the dead letters.
 */
import { clickHouseErrorCode, SpamgateError } from '@spamgate/core';

/**
 * ClickHouse exception codes that refuse an insert for the data in it, by name. Codes keep their
 * number across versions: each is in 18.16 and in current ClickHouse with the same name and
 * meaning. Checked against 18.16 (the codes of JSONEachRow inserts of bad values, or of parsing
 * the same text in a query): 25 a lone UTF-16 surrogate escape, 26 a number where a string goes,
 * 27 a fraction or a string where an integer goes, 72 a negative unsigned, 117 a field the table
 * lacks, 190 Nested arrays of different lengths, 6, 38, 41 and 53 text that is no number, Date,
 * DateTime or value of the column's type. Left out: an unknown Enum element is 49 LOGICAL_ERROR on
 * 18.16, far too general (691 on current versions, here); 32 and 33 (the input ended early) can
 * be a connection cut mid-request.
 */
export const CONTENT_ERRORS: Readonly<Record<number, string>> = Object.freeze({
  6: 'CANNOT_PARSE_TEXT',
  25: 'CANNOT_PARSE_ESCAPE_SEQUENCE',
  26: 'CANNOT_PARSE_QUOTED_STRING',
  27: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  38: 'CANNOT_PARSE_DATE',
  41: 'CANNOT_PARSE_DATETIME',
  53: 'TYPE_MISMATCH',
  72: 'CANNOT_PARSE_NUMBER',
  117: 'INCORRECT_DATA',
  190: 'SIZES_OF_ARRAYS_DOESNT_MATCH',
  691: 'UNKNOWN_ELEMENT_OF_ENUM',
});

/** The ClickHouse code of an error that refuses an insert for its data; undefined for any other error. */
export function contentErrorCode(err: unknown): number | undefined {
  const code = clickHouseErrorCode(err);
  return code !== undefined && Object.hasOwn(CONTENT_ERRORS, code) ? code : undefined;
}

/** Longest part of ClickHouse's message a RecordRefusedError keeps, in characters. */
const MAX_SERVER_MESSAGE = 500;

/** ClickHouse's message without the code and exception class around it, on one line, at most `max` characters. */
export function serverMessage(err: unknown, max = MAX_SERVER_MESSAGE): string {
  const raw = err instanceof Error ? err.message : String(err);
  const text = raw
    .replace(/^Code: \d+[.,]\s*(e\.displayText\(\) = )?(DB::Exception: )?/, '')
    .replace(/,\s*e\.what\(\) = DB::Exception\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  // By code point: a cut between the halves of a surrogate pair would leave half a character.
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * The rows of one record refused by ClickHouse for their content: the reason of its dead letter.
 * Never retriable: the same rows are refused the same way.
 */
export class RecordRefusedError extends SpamgateError {
  override name = 'RecordRefusedError';
  readonly table: string;
  /** ClickHouse's exception code (CONTENT_ERRORS); `code` is its name. */
  readonly clickhouseCode: number;

  constructor(table: string, cause: unknown) {
    const clickhouseCode = contentErrorCode(cause);
    if (clickhouseCode === undefined) throw new TypeError('not an error ClickHouse refuses content with');
    const name = CONTENT_ERRORS[clickhouseCode]!;
    super(
      `ClickHouse refused the record's rows for table ${table}: code ${clickhouseCode} ${name}: ${serverMessage(cause)}`,
      { code: name, retriable: false, badInput: true, cause },
    );
    this.table = table;
    this.clickhouseCode = clickhouseCode;
  }
}

/** A record ClickHouse refused, with the error it refused it with. */
export interface Refusal<R> {
  readonly record: R;
  readonly error: unknown;
}

/**
 * What is left of a batch to insert: groups of records, each one insert, front first. Records
 * are never cut: all the rows of a record go in one insert.
 */
export interface InsertPlan<R> {
  /** Records refused for their content, in the order they were found (which is the batch's). */
  readonly refused: readonly Refusal<R>[];
  /** True once every record was inserted or refused. */
  readonly done: boolean;
  /**
   * Inserts what is left. A content error on a group of several records splits it in halves
   * (by record, the first half the smaller) that take its place at the front; on a single record
   * it refuses that record. Any other error is thrown as it is, leaving the plan where it
   * stopped: run again, it tries the same group again (same records, same order), and what was
   * inserted or refused before stays so.
   */
  run(insert: (records: readonly R[]) => Promise<void>): Promise<void>;
}

/** `isContent` says whether an insert error refuses the data (default: contentErrorCode has one). */
export function createInsertPlan<R>(
  groups: readonly (readonly R[])[],
  isContent: (err: unknown) => boolean = (err) => contentErrorCode(err) !== undefined,
): InsertPlan<R> {
  // Front first; a group is never empty.
  const pending: (readonly R[])[] = groups.filter((g) => g.length > 0).map((g) => g.slice());
  const refused: Refusal<R>[] = [];
  return {
    refused,
    get done() {
      return pending.length === 0;
    },
    async run(insert) {
      while (pending.length > 0) {
        const group = pending[0]!;
        try {
          await insert(group);
          pending.shift();
        } catch (err) {
          if (!isContent(err)) throw err;
          if (group.length === 1) {
            refused.push({ record: group[0]!, error: err });
            pending.shift();
          } else {
            const half = Math.floor(group.length / 2);
            pending.splice(0, 1, group.slice(0, half), group.slice(half));
          }
        }
      }
    },
  };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlValueError, sql, sqlIdentifier, sqlLiteral, sqlString, sqlTable } from '../src/index.ts';

test('quotes and backslashes are escaped, control characters become escapes', () => {
  assert.equal(sqlString(''), "''");
  assert.equal(sqlString("O'Brien"), "'O\\'Brien'");
  assert.equal(sqlString('a\\b'), "'a\\\\b'");
  assert.equal(sqlString("\\'"), "'\\\\\\''");
  assert.equal(sqlString('x\0y'), "'x\\0y'");
  assert.equal(sqlString('a\nb\rc\td'), "'a\\nb\\rc\\td'");
  assert.equal(sqlString('\x01\x1f\x7f'), "'\\x01\\x1f\\x7f'");
  assert.equal(sqlString('日本 📨'), "'日本 📨'");
});

test('the escaped literal never contains a raw quote, newline or NUL', () => {
  for (let c = 0; c < 0x80; c++) {
    const lit = sqlString(`a${String.fromCharCode(c)}b`);
    const inner = lit.slice(1, -1);
    assert.doesNotMatch(inner, /(^|[^\\])'/, `char ${c}`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none survive
    assert.doesNotMatch(inner, /[\x00-\x1f\x7f]/, `char ${c}`);
  }
});

test('lone surrogates, non-finite numbers and unsafe integers are refused with SqlValueError', () => {
  assert.throws(() => sqlString('bad \uD800 surrogate'), SqlValueError);
  assert.throws(() => sqlString('bad \uDC00'), SqlValueError);
  assert.equal(sqlString('ok \uD83D\uDCE8'), "'ok 📨'");
  assert.throws(() => sqlLiteral(Number.NaN), SqlValueError);
  assert.throws(() => sqlLiteral(Number.POSITIVE_INFINITY), SqlValueError);
  assert.throws(() => sqlLiteral(2 ** 60), /bigint/);
  assert.throws(() => sqlLiteral(new Date(Number.NaN)), SqlValueError);
  assert.throws(() => sqlLiteral({} as never), SqlValueError);
});

test('identifiers are plain ASCII names, back-quoted', () => {
  assert.equal(sqlIdentifier('sender_minute').text, '`sender_minute`');
  assert.equal(sqlTable('spamgate', 'decisions').text, '`spamgate`.`decisions`');
  for (const bad of ['', '1abc', 'a-b', 'a`b', 'a b', 'x'.repeat(200), 'ünï']) {
    assert.throws(() => sqlIdentifier(bad), SqlValueError, bad);
  }
});

test('the sql tag turns values into literals and splices fragments', () => {
  const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(
    sql`SELECT * FROM ${sqlTable('db', 't')} WHERE s = ${"x'y"} AND n > ${5} AND t < ${when} AND f IN ${[1, 2]} AND z = ${null} AND b = ${false} AND big = ${10n}`,
    "SELECT * FROM `db`.`t` WHERE s = 'x\\'y' AND n > 5 AND t < toDateTime('2026-01-02 03:04:05', 'UTC') AND f IN [1, 2] AND z = NULL AND b = 0 AND big = 10",
  );
  assert.equal(sqlLiteral(-0), '0');
  assert.equal(sqlLiteral(0.1), '0.1');
});

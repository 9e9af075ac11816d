import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  commonSettings,
  describeConfig,
  loadConfig,
  parseDuration,
  setting,
} from '../src/index.ts';

const spec = {
  ...commonSettings,
  window: setting.duration({
    variable: 'SPAMGATE_WINDOW',
    doc: 'Window length.',
    default: '10m',
    minMs: 1000,
  }),
  partitions: setting.integer({
    variable: 'SPAMGATE_PARTITIONS',
    doc: 'Partitions.',
    default: '12',
    min: 1,
    max: 1000,
  }),
  mode: setting.oneOf({
    variable: 'SPAMGATE_MODE',
    doc: 'Mode.',
    values: ['enforce', 'shadow'],
    default: 'enforce',
  }),
  topic: setting.string({ variable: 'SPAMGATE_TOPIC', doc: 'Topic.' }),
  hashKey: setting.string({
    variable: 'SPAMGATE_HASH_KEY',
    doc: 'Key.',
    default: 'k',
    secret: true,
    pattern: /^.{8,}$/,
  }),
  note: setting.optionalString({ variable: 'SPAMGATE_NOTE', doc: 'Free text.' }),
};

test('defaults fill every unset variable, and the result is frozen', () => {
  const c = loadConfig(spec, { SPAMGATE_TOPIC: 't', SPAMGATE_HASH_KEY: 'long enough key' });
  assert.equal(c.window, 600_000);
  assert.equal(c.partitions, 12);
  assert.equal(c.mode, 'enforce');
  assert.deepEqual(c.kafkaBrokers, ['127.0.0.1:9092']);
  assert.equal(c.clickhouseUrl, 'http://127.0.0.1:8123');
  assert.equal(c.note, undefined);
  assert.match(c.instanceId, /^.+-\d+$/);
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { mode: string }).mode = 'shadow';
  }, TypeError);
});

test('values given in the environment are parsed and validated', () => {
  const c = loadConfig(spec, {
    SPAMGATE_TOPIC: 't',
    SPAMGATE_HASH_KEY: '0123456789',
    SPAMGATE_WINDOW: '24h',
    SPAMGATE_PARTITIONS: '48',
    SPAMGATE_MODE: 'shadow',
    SPAMGATE_KAFKA_BROKERS: 'a:9092, b.example:19092,[::1]:9092',
    SPAMGATE_NOTE: 'hello',
  });
  assert.equal(c.window, 86_400_000);
  assert.equal(c.partitions, 48);
  assert.equal(c.mode, 'shadow');
  assert.deepEqual(c.kafkaBrokers, ['a:9092', 'b.example:19092', '[::1]:9092']);
  assert.equal(c.note, 'hello');
});

test('every problem is reported at once, naming the variable, the value and what was expected', () => {
  let error: unknown;
  try {
    loadConfig(spec, {
      SPAMGATE_WINDOW: '10 parsecs',
      SPAMGATE_PARTITIONS: '0',
      SPAMGATE_MODE: 'Enforce',
      SPAMGATE_KAFKA_BROKERS: 'localhost',
      SPAMGATE_HTTP_PORT: '70000',
      SPAMGATE_HASH_KEY: 'short',
    });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  assert.equal(error.code, 'CONFIG_INVALID');
  assert.equal(error.retriable, false);
  assert.deepEqual(
    error.problems.map((p) => p.variable),
    [
      'SPAMGATE_KAFKA_BROKERS',
      'SPAMGATE_HTTP_PORT',
      'SPAMGATE_WINDOW',
      'SPAMGATE_PARTITIONS',
      'SPAMGATE_MODE',
      'SPAMGATE_TOPIC',
      'SPAMGATE_HASH_KEY',
    ],
  );
  assert.match(error.message, /SPAMGATE_WINDOW: got "10 parsecs", expected a duration/);
  assert.match(error.message, /SPAMGATE_PARTITIONS: got "0", expected an integer from 1 to 1000/);
  assert.match(error.message, /SPAMGATE_MODE: got "Enforce", expected one of enforce, shadow/);
  assert.match(error.message, /SPAMGATE_TOPIC: is not set/);
  assert.match(error.message, /SPAMGATE_HASH_KEY: got "<secret>"/);
  assert.doesNotMatch(error.message, /short/, 'a secret value is never echoed');
});

test('an empty variable counts as unset', () => {
  const c = loadConfig(spec, { SPAMGATE_TOPIC: 't', SPAMGATE_HASH_KEY: '0123456789', SPAMGATE_MODE: '' });
  assert.equal(c.mode, 'enforce');
});

test('durations take ms, s, m, h and d', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('1500'), 1500);
  assert.equal(parseDuration('-1s'), undefined);
  assert.equal(parseDuration('1w'), undefined);
  assert.equal(parseDuration(''), undefined);
});

test('describeConfig lists every variable with its default for the docs', () => {
  const rows = describeConfig(spec);
  const byVar = new Map(rows.map((r) => [r.variable, r]));
  assert.equal(byVar.get('SPAMGATE_WINDOW')?.default, '10m');
  assert.equal(byVar.get('SPAMGATE_TOPIC')?.default, '(required)');
  assert.equal(byVar.get('SPAMGATE_NOTE')?.default, '(unset)');
  assert.equal(byVar.get('SPAMGATE_INSTANCE_ID')?.default, '<hostname>-<pid>');
  assert.equal(byVar.get('SPAMGATE_HASH_KEY')?.default, '(empty)', 'secret defaults are not shown');
});

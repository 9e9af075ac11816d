import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createKafka, createLogger } from '../src/index.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('log lines are JSON with service, instance and a string level', () => {
  const out = capture();
  const logger = createLogger({ service: 'feature-engine', instanceId: 'fe-1', destination: out.stream });
  logger.info({ partition: 3 }, 'assigned');
  const [line] = out.lines();
  assert.equal(line?.service, 'feature-engine');
  assert.equal(line?.instance, 'fe-1');
  assert.equal(line?.level, 'info');
  assert.equal(line?.msg, 'assigned');
  assert.equal(line?.partition, 3);
  assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/);
});

test('message bodies and subscriber numbers are censored even when a caller logs them', () => {
  const out = capture();
  const logger = createLogger({ service: 's', instanceId: 'i', destination: out.stream });
  logger.warn(
    { body: 'your code is 1234', recipient: '+15551234567', event: { body: 'x', msisdn: '+1555' } },
    'bad',
  );
  const text = JSON.stringify(out.lines());
  assert.doesNotMatch(text, /1234|\+1555/);
  assert.match(text, /\[redacted\]/);
});

test('private fields are censored at any depth, in arrays and in any casing; numbers in any string too', () => {
  const out = capture();
  const logger = createLogger({ service: 's', instanceId: 'i', destination: out.stream });
  const err = Object.assign(new Error('no route to +1 (202) 555-0142 for "meet at 5"'), { code: 'X' });
  logger.error(
    {
      batch: {
        records: [{ value: { Body: 'win a prize', RECIPIENT: 'alice' } }, { recipient_address: 'bob' }],
      },
      a: { b: { c: { d: { msisdn: 'deep', note: 'call +442071838750 now' } } } },
      err,
      bytes: Buffer.from('+12025550100'),
      offsets: ['1795900000123', 42],
      url: 'http://sink:s3cret@clickhouse:8123/',
    },
    'failed for +12025550100 at offset 1795900000123',
  );
  const [line] = out.lines();
  const text = JSON.stringify(line);
  for (const secret of ['prize', 'alice', 'bob', 'deep', '442071838750', '2025550100', '555-0142'])
    assert.ok(!text.includes(secret), `${secret} in ${text}`);
  assert.equal(
    line?.msg,
    'failed for +[number] at offset 1795900000123',
    'numbers without + are not numbers',
  );
  assert.deepEqual(line?.offsets, ['1795900000123', 42]);
  const e = line?.err as Record<string, unknown>;
  assert.equal(e.message, 'no route to +[number] for "meet at 5"');
  assert.equal(e.code, 'X');
  assert.equal(line?.bytes, '[12 bytes]');
  assert.equal(line?.url, 'http://[credentials]@clickhouse:8123/');
});

test('a value nested past the depth limit, or in a cycle, is cut there', () => {
  const out = capture();
  const logger = createLogger({ service: 's', instanceId: 'i', destination: out.stream });
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  logger.info({ cyclic }, 'x');
  assert.match(JSON.stringify(out.lines()[0]), /\[too deep\]/);
});

test('the level setting filters lower levels', () => {
  const out = capture();
  const logger = createLogger({ service: 's', instanceId: 'i', level: 'warn', destination: out.stream });
  logger.info('hidden');
  logger.warn('shown');
  assert.deepEqual(
    out.lines().map((l) => l.msg),
    ['shown'],
  );
});

test("kafkajs's routine lines (refused transactions, coordinators moving, the retry limit) are logged at debug, the rest as they are", () => {
  const out = capture();
  const logger = createLogger({
    service: 'feature-engine',
    instanceId: 'fe-1',
    level: 'debug',
    destination: out.stream,
  });
  const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'log-test', logger }).logger();
  kafka.error('Response AddPartitionsToTxn(key: 24, version: 1)', {
    error:
      'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
  });
  kafka.error(
    'Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
    {},
  );
  kafka.error('Response Produce(key: 0, version: 7)', {
    error: 'This server does not host this topic-partition',
  });
  // What every healthy start logged before: coordinators moving or loading, the deliberate retry
  // limit, the partitioner notice.
  kafka.error('Response GroupCoordinator(key: 10, version: 2)', {
    error: 'The group coordinator is not available',
  });
  kafka.error('Response InitProducerId(key: 22, version: 1)', {
    error: "The coordinator is loading and hence can't process requests for this group",
  });
  kafka.warn('Limiting retries for the idempotent producer may invalidate EoS guarantees', {});
  kafka.warn('KafkaJS v2.0.0 switched default partitioner. To retain the same partitioning behavior ...', {});
  kafka.warn('Connection timeout', { broker: '127.0.0.1:1' });
  assert.deepEqual(
    out.lines().map((l) => l.level),
    ['debug', 'debug', 'error', 'debug', 'debug', 'debug', 'debug', 'warn'],
  );
});

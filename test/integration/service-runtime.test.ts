import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createTestTopic,
  eventually,
  getInfra,
  REPO_ROOT,
  type ServiceProcess,
  spawnService,
  testKafka,
  uniqueName,
} from '@spamgate/test';
import type { Admin, Kafka } from 'kafkajs';

const RELAY = `${REPO_ROOT}test/fixtures/relay-service.ts`;
const TOTAL = 1_500;

let kafka: Kafka;
let admin: Admin;
let brokers: string;
const started: ServiceProcess[] = [];

before(async () => {
  kafka = await testKafka();
  admin = kafka.admin();
  await admin.connect();
  brokers = (await getInfra()).kafkaBrokers.join(',');
});
after(async () => {
  for (const p of started) p.kill();
  await admin.disconnect();
});

function relay(env: Record<string, string>): ServiceProcess {
  const p = spawnService(RELAY, {
    SPAMGATE_KAFKA_BROKERS: brokers,
    SPAMGATE_HTTP_PORT: '0',
    SPAMGATE_LOG_LEVEL: 'info',
    ...env,
  });
  started.push(p);
  return p;
}

async function topicSize(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

async function committed(groupId: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

test('a bad configuration stops the process with exit code 78 and names every bad variable', async () => {
  const p = relay({
    SPAMGATE_KAFKA_BROKERS: 'not a broker list',
    SPAMGATE_HTTP_PORT: '99999',
    SPAMGATE_SHUTDOWN_TIMEOUT: 'soon',
    SPAMGATE_RELAY_OUTPUT_TOPIC: 'out',
    SPAMGATE_RELAY_GROUP: 'g',
  });
  const { code } = await p.exited;
  assert.equal(code, 78);
  const err = p.stderr();
  for (const variable of [
    'SPAMGATE_KAFKA_BROKERS',
    'SPAMGATE_HTTP_PORT',
    'SPAMGATE_SHUTDOWN_TIMEOUT',
    'SPAMGATE_RELAY_INPUT_TOPIC',
  ]) {
    assert.match(err, new RegExp(`${variable}: `), `stderr names ${variable}`);
  }
  assert.match(err, /4 problems/);
  assert.doesNotMatch(err, /SPAMGATE_RELAY_GROUP/, 'valid variables are not reported');
});

test('SIGTERM mid-stream finishes the in-flight batch, commits exactly what was processed, and exits 0', async () => {
  const input = await createTestTopic(kafka, { prefix: 'relay-in', partitions: 3 });
  const output = await createTestTopic(kafka, { prefix: 'relay-out', partitions: 1 });
  const groupId = uniqueName('relay');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // Small sends make small record batches, so the relay's fetches (4 KiB) hold a few dozen records.
  for (let start = 0; start < TOTAL; start += 30) {
    await producer.send({
      topic: input,
      messages: Array.from({ length: 30 }, (_, j) => ({
        key: `m-${start + j}`,
        value: JSON.stringify({ i: start + j }),
      })),
    });
  }
  await producer.disconnect();

  const env = {
    SPAMGATE_RELAY_INPUT_TOPIC: input,
    SPAMGATE_RELAY_OUTPUT_TOPIC: output,
    SPAMGATE_RELAY_GROUP: groupId,
    SPAMGATE_RELAY_DELAY: '3ms',
    SPAMGATE_RELAY_MAX_BYTES: '4096',
    SPAMGATE_SHUTDOWN_TIMEOUT: '20s',
  };
  const first = relay(env);
  const listening = await first.waitForLog(
    (l) => l.msg === 'ops endpoint listening (/healthz, /readyz, /metrics)',
  );
  const ops = `http://127.0.0.1:${String(listening.port)}`;
  assert.equal((await fetch(`${ops}/healthz`)).status, 200);
  await eventually(async () => ((await fetch(`${ops}/readyz`)).status === 200 ? true : undefined), {
    what: '/readyz to turn 200 once the consumer joined',
  });
  await eventually(async () => ((await topicSize(output)) >= 300 ? true : undefined), {
    what: '300 records relayed',
  });
  const metrics = await (await fetch(`${ops}/metrics`)).text();
  const recordLines = metrics.split('\n').filter((l) => l.startsWith('spamgate_consumer_records_total{'));
  assert.ok(
    recordLines.some((l) => l.includes(`group="${groupId}"`) && Number(l.split(' ').pop()) > 0),
    `records counted per group in /metrics: ${recordLines.join('; ') || metrics.slice(0, 3000)}`,
  );
  assert.match(metrics, /^process_cpu_seconds_total\{service="[a-z-]+"\} /m);

  const stoppedAt = Date.now();
  first.child.kill('SIGTERM');
  const { code } = await first.exited;
  assert.equal(code, 0, `graceful exit; stderr: ${first.stderr()}`);
  assert.ok(Date.now() - stoppedAt < 20_000, 'within the shutdown bound');
  assert.ok(
    first.logs.some((l) => l.msg === 'shutdown step done' && l.step === `consumer ${groupId}`),
    'the consumer was stopped as a shutdown step',
  );

  const relayed = await topicSize(output);
  const commits = await committed(groupId, input);
  assert.ok(relayed > 0 && relayed < TOTAL, `stopped mid-stream (relayed ${relayed} of ${TOTAL})`);
  assert.equal(commits, relayed, 'committed offsets cover exactly the records that were relayed');

  const second = relay(env);
  await eventually(async () => ((await topicSize(output)) >= TOTAL ? true : undefined), {
    timeoutMs: 60_000,
    what: 'the restarted relay to finish',
  });
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0);
  assert.equal(await topicSize(output), TOTAL, 'nothing relayed twice across the restart');
  assert.equal(await committed(groupId, input), TOTAL);

  // Every record exactly once, by key.
  const keys = new Set<string>();
  const reader = kafka.consumer({ groupId: uniqueName('relay-check') });
  await reader.connect();
  await reader.subscribe({ topic: output, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve) => {
    void reader.run({
      eachMessage: async ({ message }) => {
        keys.add(String(message.key));
        if (++seen === TOTAL) resolve();
      },
    });
  });
  await reader.disconnect();
  assert.equal(keys.size, TOTAL);
});

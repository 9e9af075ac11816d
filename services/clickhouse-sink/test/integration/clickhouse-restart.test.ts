// ClickHouse itself stopped for 30 s while records stream in, and started again: the sink (a
// process, as in production) pauses, reports not ready, keeps running, resumes by itself, and
// every record lands once. The server is the test's own (test/src/private-clickhouse.ts): the
// shared one serves the tests running beside this one.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually, type PrivateClickHouse, startPrivateClickHouse } from '@spamgate/test';
import { recordFactory } from '../records.ts';
import { sumQuery, useSinkHarness } from './harness.ts';

let started: Promise<PrivateClickHouse> | undefined;
/** The test's own server, started by the harness's first use of it. */
const server = (): Promise<PrivateClickHouse> => (started ??= startPrivateClickHouse());
const h = useSinkHarness({ clickhouseUrl: async () => (await server()).url });
after(async () => {
  // The harness's database first (drop is idempotent), while its server is still up.
  await h.db?.drop().catch(() => {});
  await (await started)?.destroy();
});

const OUTAGE_MS = 30_000;
const BASE = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const records = recordFactory(30, BASE);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function http(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** A gauge's value with these labels in a Prometheus text exposition (NaN when absent). */
function gauge(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('ClickHouse stopped for 30 s mid-stream: the sink pauses, stays up, resumes by itself, and every record lands once', async () => {
  const sink = h.startSink({
    SPAMGATE_SINK_BATCH_ROWS: '2000',
    SPAMGATE_SINK_BATCH_AGE: '200ms',
    SPAMGATE_SINK_RETRY_MAX_DELAY: '2s',
  });
  const port = Number((await sink.waitForLog((l) => typeof l.port === 'number')).port);
  await sink.waitForLog((l) => l.msg === 'partitions assigned', 60_000);

  // A steady stream for the whole test: minutes and decisions in small transactions.
  const minutes = Array.from({ length: 24_000 }, (_, i) => records.senderMinute(i));
  const decisions = Array.from({ length: 6_000 }, (_, i) => records.decision(i));
  const chunks = 60;
  let produced = 0;
  const producing = (async () => {
    for (let c = 0; c < chunks; c++) {
      const m = minutes.slice((c * minutes.length) / chunks, ((c + 1) * minutes.length) / chunks);
      const d = decisions.slice((c * decisions.length) / chunks, ((c + 1) * decisions.length) / chunks);
      await h.produce(
        h.topics.senderMinutes,
        h.messages('SenderMinute', m, (x) => x.sender),
      );
      await h.produce(
        h.topics.decisionEvaluations,
        h.messages('Decision', d, (x) => x.sender),
      );
      produced = c + 1;
      await sleep(750);
    }
  })();

  // Some of the stream is in ClickHouse before it goes away.
  await sleep(5_000);
  assert.ok((await h.count('sender_minute', { final: false })) > 0, 'rows landed before the outage');
  const clickhouse = await server();
  await clickhouse.stop();
  const stoppedAt = Date.now();

  // While it is down: the sink pauses the tables it cannot write, says why it is not ready, and
  // does not exit.
  const down = await eventually(
    async () => {
      const ready = await http(port, '/readyz');
      const metrics = (await http(port, '/metrics')).body;
      const paused = gauge(metrics, 'spamgate_sink_paused', 'table="sender_minute"');
      return ready.status === 503 && paused === 1 ? { ready, metrics } : undefined;
    },
    { timeoutMs: OUTAGE_MS - 5_000, intervalMs: 250, what: 'the sink paused and not ready' },
  );
  assert.match(down.ready.body, /sender_minute/);
  assert.ok(
    gauge(down.metrics, 'spamgate_sink_insert_retries_total', 'table="sender_minute"') > 0,
    'inserts were retried',
  );
  const producedDuringOutage = produced;
  await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
  assert.equal(sink.child.exitCode, null, `the sink is still running: ${sink.stderr().slice(-1000)}`);
  assert.ok(produced > producedDuringOutage, 'records kept arriving while ClickHouse was down');
  await clickhouse.start();

  await producing;
  await h.waitForRows('sender_minute', minutes.length, sink, 120_000);
  await h.waitForRows('decisions', decisions.length, sink, 60_000);

  // The same numbers as were produced, duplicates collapsed; and the sink ready again.
  const [m] = await h.rows<{ v: number[] }>(
    sumQuery(h.db.database, 'sender_minute', '[sum(messages), sum(distinct_recipients), sum(spam_reports)]'),
  );
  assert.deepEqual(m?.v.map(Number), [
    minutes.reduce((s, x) => s + x.messages, 0),
    minutes.reduce((s, x) => s + x.distinctRecipients, 0),
    minutes.reduce((s, x) => s + x.spamReports, 0),
  ]);
  const [d] = await h.rows<{ v: string }>(sumQuery(h.db.database, 'decisions', 'uniqExact(decision_id)'));
  assert.equal(Number(d?.v), decisions.length);
  await eventually(async () => ((await http(port, '/readyz')).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    what: 'the sink ready again',
  });
  assert.ok(
    sink.logs.some((l) => l.msg === 'inserts succeed again'),
    'the sink logged its recovery',
  );
  assert.equal(sink.child.exitCode, null);
  assert.ok(!sink.logs.some((l) => l.level === 'fatal'), 'nothing fatal was logged');
  // And everything read was committed: a restart would not write any of it again.
  await h.waitForCommitted(h.topics.senderMinutes, 30_000);
});

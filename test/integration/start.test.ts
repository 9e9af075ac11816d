// `npm start`'s main job (infra/local/run-pipeline.ts) on the real servers: the three services
// start supervised, --simulate shows decisions within a minute or so, a service killed with
// SIGKILL is started again, Ctrl-C stops everything cleanly, and a healthy run prints no
// error-level line.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  createMigratedTestDatabase,
  type ServiceProcess,
  spawnService,
  TEST_HASH_KEY,
  type TestDatabase,
  testKafka,
  testLogger,
  uniqueName,
} from '@spamgate/test';
import { provisionTopics } from '../../infra/kafka/provision.ts';
import { TOPICS } from '../../infra/kafka/topics.ts';

const SCRIPT = new URL('../../infra/local/run-pipeline.ts', import.meta.url).pathname;
let db: TestDatabase | undefined;
after(async () => {
  await db?.drop();
});

/** The lines the supervisor printed (a readable view, not JSON: each is a log line's msg). */
const textLines = (p: ServiceProcess): string[] => p.logs.map((l) => String(l.msg ?? ''));
const tail = (p: ServiceProcess): string => textLines(p).slice(-40).join('\n');

test('npm start runs the pipeline supervised: decisions flow, a killed service comes back, Ctrl-C stops it', {
  timeout: 300_000,
}, async () => {
  const prefix = uniqueName('start');
  const kafka = await testKafka();
  await provisionTopics({ kafka, catalog: TOPICS, prefix, logger: testLogger('provision') });
  db = await createMigratedTestDatabase('start');
  const run = spawnService(
    SCRIPT,
    {
      SPAMGATE_KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      SPAMGATE_CLICKHOUSE_URL: process.env.CLICKHOUSE_URL!,
      SPAMGATE_CLICKHOUSE_DATABASE: db.database,
      SPAMGATE_TOPIC_PREFIX: prefix,
      SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
      SPAMGATE_DECISION_ENGINE_GROUP: `${prefix}-de`,
      SPAMGATE_SINK_GROUP: `${prefix}-sink`,
      SPAMGATE_HASH_KEY: TEST_HASH_KEY,
      SPAMGATE_HTTP_PORT: '0',
    },
    ['--simulate', '--rate', '100'],
  );
  try {
    const printed = () => textLines(run);
    const waitFor = async (match: (line: string) => boolean, what: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const line = printed().find(match);
        if (line) return line;
        if (run.child.exitCode !== null) throw new Error(`run-pipeline exited before ${what}: ${tail(run)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`no ${what} within ${timeoutMs} ms: ${tail(run)}`);
    };
    // Each service's ops endpoint is printed.
    const endpoints = new Map<string, number>();
    for (const name of ['feature-engine', 'decision-engine', 'clickhouse-sink']) {
      const line = await waitFor(
        (l) => l.includes(`${name} ops endpoint http://127.0.0.1:`),
        `${name}'s endpoint`,
        60_000,
      );
      endpoints.set(name, Number(/pid (\d+)/.exec(line)![1]));
    }
    // Decisions within about a minute of the first simulated message, in the summary line.
    const decided = await waitFor(
      (l) => /decisions published .*(THROTTLE|BLOCK) [1-9]/.test(l),
      'a summary line with decisions',
      120_000,
    );
    assert.match(
      decided,
      /events\/s (\d+|-) {2}decisions published ALLOW .* · MONITOR .* · THROTTLE .* · BLOCK .* {2}lag \d+ records/,
    );

    // A service killed hard is started again, and prints its endpoint again.
    process.kill(endpoints.get('decision-engine')!, 'SIGKILL');
    await waitFor(
      (l) => /decision-engine +exited \(SIGKILL\); restarting in 1 s/.test(l),
      'the restart notice',
      15_000,
    );
    await waitFor(
      (l) =>
        l.includes('decision-engine ops endpoint') && !l.endsWith(`pid ${endpoints.get('decision-engine')}`),
      'the restarted decision engine',
      60_000,
    );

    // Ctrl-C: every process stops cleanly, and the supervisor exits 0.
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    assert.equal(code, 0, tail(run));
    const all = printed();
    assert.ok(all.some((l) => l.endsWith(' stopped')));
    for (const name of ['feature-engine', 'decision-engine', 'clickhouse-sink'])
      assert.ok(
        all.some((l) => l.startsWith(name) && l.includes('exiting code=0')),
        `${name} exited cleanly`,
      );
    // No error-level line from a healthy run (the kill above is ours, not an error of theirs).
    const errors = all.filter((l) => / (ERROR|FATAL) /.test(l));
    assert.deepEqual(errors, []);
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
});

// The benchmarks at smoke size, so that `npm run bench` cannot rot between the runs that
// regenerate BENCHMARKS.md: each bench runs as `npm run bench` runs it, against the test
// servers, and must exit 0 and print its Markdown section with measured figures. Times are not
// asserted (a bench measures; a test checks behaviour).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { getInfra, REPO_ROOT } from '@spamgate/test';

async function runBench(
  script: string,
  extraArgs: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const infra = await getInfra();
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', ...extraArgs, `${REPO_ROOT}${script}`],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        SPAMGATE_BENCH_SIZE: 'smoke',
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        CLICKHOUSE_URL: infra.clickhouseUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

test('the comparison bench runs every contender, the profile, the pipeline and the scale-out at smoke size', {
  timeout: 900_000,
}, async () => {
  const { code, stdout, stderr } = await runBench('test/bench/compare.bench.ts');
  assert.equal(code, 0, `the bench failed:\n${stderr.slice(-4_000)}`);
  assert.match(stdout, /^## spamgate beside Kafka Streams and the ceilings/m);
  // Every contender has a measured rate (bold median), none failed.
  for (const row of ['A. Ceiling', 'B. Ceiling', 'C. spamgate feature engine', 'D. Kafka Streams']) {
    const line = stdout.split('\n').find((l) => l.startsWith(`| ${row}`));
    assert.ok(line, `a row for ${row}`);
    assert.match(line, /\| \*\*[\d,]+\*\* \(/, `${row} has a measured rate: ${line}`);
  }
  // Both engines' latency was measured and covered most messages.
  for (const row of ['C. spamgate', 'D. Kafka Streams']) {
    const line = stdout.split('\n').find((l) => l.startsWith(`| ${row}`))!;
    assert.match(line, /[\d,]+ ms \/ [\d,]+ ms \(/, `${row} has latency quantiles: ${line}`);
  }
  assert.match(stdout, /### Where the feature engine spends its time/);
  assert.match(stdout, /\| `[^`]+` \| [\d.]+ % \|/, 'the profile lists frames');
  assert.match(stdout, /\| Fixed rate \| [\d,]+ \(/);
  assert.match(stdout, /\| 4 \| [\d,]+ \|/, 'four instances were measured');
  assert.match(stdout, /### How this scales on a real cluster/);
});

test('the other benchmarks run at smoke size and print their sections', { timeout: 900_000 }, async () => {
  for (const [script, heading, args] of [
    ['services/feature-engine/bench/core.bench.ts', '## Feature engine core', ['--expose-gc']],
    ['services/feature-engine/bench/kafka.bench.ts', '## Feature engine on Kafka', []],
    ['services/decision-engine/bench/decision.bench.ts', '## Decision engine', []],
    ['services/clickhouse-sink/bench/sink.bench.ts', '## ClickHouse sink', []],
  ] as const) {
    const { code, stdout, stderr } = await runBench(script, args);
    assert.equal(code, 0, `${script} failed:\n${stderr.slice(-4_000)}`);
    assert.ok(stdout.includes(heading), `${script} printed its section:\n${stdout.slice(0, 1_000)}`);
    assert.doesNotMatch(
      stdout,
      /not measured:|bench failed:|\| failed/,
      `${script} measured every part:\n${stdout}`,
    );
  }
});

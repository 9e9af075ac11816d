/**
 * `npm run demo [-- options]`: the whole pipeline on simulated traffic, from one command, and the
 * decision-quality report (infra/demo/run-demo.ts). Ctrl-C stops everything it started.
 *
 * Exit codes: 0 the demo ran and the quality bar holds; 2 it ran and a check of the bar failed
 * (the report says which); 1 it could not run (the message says why); 64 bad arguments;
 * 130 stopped by Ctrl-C.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  commonSettings,
  createLogger,
  describeError,
  hashKeySetting,
  loadConfig,
  parseDuration,
  topicPrefixSetting,
} from '@spamgate/core';
import { DemoAborted, runDemo } from './run-demo.ts';

const EXIT_USAGE = 64;

const USAGE = `usage: npm run demo [-- options]

Starts the local Kafka and ClickHouse if they are not running, creates a fresh topic prefix and
ClickHouse database for this run, starts the feature engine, decision engine and ClickHouse
sink as separate processes, runs the traffic simulator, waits for the last decisions, prints
the decision-quality report and writes it as HTML. Ctrl-C stops everything it started.

  --duration <d>      how long to simulate (default 2m; e.g. 90s, 5m)
  --rate <n>          messages per second, all scenarios together (default 200)
  --seed <n>          traffic seed: same seed, same traffic (default 42)
  --scenarios <file>  scenario file (default: the simulator's default mix)
  --out <dir>         where labels, service logs and report.html go (default .demo/<run>)
  --compose           use the services already running (docker-compose) on their topics and
                      database, instead of starting servers and services here
  --help              show this text

Environment: SPAMGATE_KAFKA_BROKERS (default 127.0.0.1:9092), SPAMGATE_CLICKHOUSE_URL (default
http://127.0.0.1:8123); with --compose also SPAMGATE_TOPIC_PREFIX and SPAMGATE_CLICKHOUSE_DATABASE
as the services have them.
`;

const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function main(argv: readonly string[]): Promise<number> {
  let values: {
    duration: string;
    rate: string;
    seed: string;
    scenarios?: string;
    out?: string;
    compose: boolean;
    help: boolean;
  };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string', default: '2m' },
        rate: { type: 'string', default: '200' },
        seed: { type: 'string', default: '42' },
        scenarios: { type: 'string' },
        out: { type: 'string' },
        compose: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values as typeof values;
  } catch (err) {
    process.stderr.write(`${describeError(err).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const durationMs = parseDuration(values.duration);
  const rate = Number(values.rate);
  const seed = Number(values.seed);
  const problems = [
    durationMs === undefined || durationMs < 10_000 || durationMs > 24 * 3_600_000
      ? `--duration ${values.duration}: a duration from 10s to 24h`
      : undefined,
    !Number.isFinite(rate) || rate < 1 || rate > 100_000
      ? `--rate ${values.rate}: from 1 to 100000`
      : undefined,
    !Number.isSafeInteger(seed) ? `--seed ${values.seed}: an integer` : undefined,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  const config = loadConfig(
    {
      kafkaBrokers: commonSettings.kafkaBrokers,
      clickhouseUrl: commonSettings.clickhouseUrl,
      clickhouseDatabase: commonSettings.clickhouseDatabase,
      topicPrefix: topicPrefixSetting,
    },
    process.env,
  );
  const run = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
  const outDir = values.out ?? `${REPO}.demo/${run}`;
  const logger = createLogger({
    service: 'demo',
    instanceId: run,
    level: 'warn',
    destination: process.stderr,
  });
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to exit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const say = (line: string) => process.stderr.write(`[demo] ${line}\n`);
  try {
    const result = await runDemo({
      seed,
      ratePerSecond: rate,
      durationMs: durationMs!,
      scenariosFile: values.scenarios,
      registrationsFile: `${REPO}services/traffic-simulator/scenarios/registrations.json`,
      outDir,
      brokers: config.kafkaBrokers,
      clickhouseUrl: config.clickhouseUrl,
      startServers: !values.compose,
      startServices: !values.compose,
      topicPrefix: values.compose ? config.topicPrefix : run,
      database: values.compose ? config.clickhouseDatabase : run.replaceAll('-', '_'),
      // The key the containers use (compose requires it), so the ledger has the content keys they match.
      hashKey: values.compose ? loadConfig({ hashKey: hashKeySetting }, process.env).hashKey : undefined,
      logger,
      say,
      signal: abort.signal,
    });
    process.stdout.write(result.text);
    say(`HTML report: ${result.htmlPath}`);
    return result.report.score.passed ? 0 : 2;
  } catch (err) {
    if (err instanceof DemoAborted || abort.signal.aborted) {
      say('stopped');
      return 130;
    }
    process.stderr.write(`demo: ${describeError(err).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

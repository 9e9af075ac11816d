/**
 * `npm start`'s main job, once the servers, topics and tables are up: the feature engine, the
 * decision engine and the ClickHouse sink as supervised processes (supervisor.ts) in one readable
 * log view, their ops endpoints printed, a clean stop on Ctrl-C. With --simulate it also runs the
 * traffic simulator and prints a summary line every few seconds: events/s, decisions by action,
 * consumer lag. README, "Two commands".
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Supervised, supervise } from './supervisor.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const STATE = join(ROOT, '.local');
const USAGE = `usage: npm start [-- --simulate [--rate N]]

Starts the local servers, topics and tables (if needed), then the three services, supervised.
  --simulate   also run the traffic simulator for 30 minutes and print a summary every 5 s
  --rate N     simulated messages per second (default 100)
Ctrl-C stops everything cleanly.`;

const { values } = parseArgs({
  options: {
    simulate: { type: 'boolean', default: false },
    rate: { type: 'string', default: '100' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const rate = Number(values.rate);
if (!Number.isInteger(rate) || rate < 1 || rate > 100_000) {
  console.error(`--rate must be an integer from 1 to 100000, got ${values.rate}\n\n${USAGE}`);
  process.exit(64);
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const say = (line: string) => print(`${'start'.padEnd(16)} ${line}`);

/**
 * The deployment's hash key: SPAMGATE_HASH_KEY, or one made once for this checkout and kept in
 * .local/hash-key (0600). The feature engine's state is under it, so it is kept, never remade.
 */
function hashKey(): string {
  const given = process.env.SPAMGATE_HASH_KEY;
  if (given) return given;
  const file = join(STATE, 'hash-key');
  if (!existsSync(file)) {
    mkdirSync(STATE, { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
    say(`made a hash key for this checkout in ${file} (keep it: the engine's state is under it)`);
  }
  return readFileSync(file, 'utf8').trim();
}

const SERVICES = [
  { name: 'feature-engine', script: 'services/feature-engine/src/main.ts', port: 9464 },
  { name: 'decision-engine', script: 'services/decision-engine/src/main.ts', port: 9465 },
  { name: 'clickhouse-sink', script: 'services/clickhouse-sink/src/main.ts', port: 9466 },
] as const;

const logs = join(STATE, 'logs');
mkdirSync(logs, { recursive: true });
const common: Record<string, string> = {
  SPAMGATE_KAFKA_BROKERS: process.env.SPAMGATE_KAFKA_BROKERS ?? '127.0.0.1:9092',
  SPAMGATE_CLICKHOUSE_URL: process.env.SPAMGATE_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
  SPAMGATE_HASH_KEY: hashKey(),
};
// Passed through when set: a topic prefix or database of one's own, a log level, a group.
for (const [k, v] of Object.entries(process.env))
  if (v !== undefined && k.startsWith('SPAMGATE_') && !(k in common)) common[k] = v;

const running: Supervised[] = SERVICES.map((s) =>
  supervise({
    name: s.name,
    args: [join(ROOT, s.script)],
    env: { ...common, SPAMGATE_HTTP_PORT: process.env.SPAMGATE_HTTP_PORT ?? String(s.port) },
    logFile: join(logs, `${s.name}.log`),
    print,
    onPort: (port, pid) =>
      say(`${s.name} ops endpoint http://127.0.0.1:${port} (/healthz /readyz /metrics), pid ${pid}`),
  }),
);
say(`services starting; logs also in ${logs}/`);

let simulator: Supervised | undefined;
let summary: NodeJS.Timeout | undefined;
if (values.simulate) {
  simulator = supervise({
    name: 'simulator',
    args: [
      join(ROOT, 'services/traffic-simulator/src/main.ts'),
      // Its fictional number space holds about an hour at 100 messages/s.
      ...['--rate', String(rate), '--duration', '30m'],
      ...[
        '--labels',
        join(STATE, 'simulator-labels.json'),
        '--ledger',
        join(STATE, 'simulator-ledger.jsonl'),
      ],
    ],
    env: common,
    logFile: join(logs, 'simulator.log'),
    print,
    restart: false,
  });
  let last: { at: number; events: number } | undefined;
  summary = setInterval(() => void summarise(), 5_000);
  async function summarise(): Promise<void> {
    const [fe, de, sink] = await Promise.all(running.map(scrape));
    const events = total(fe, 'spamgate_feature_engine_events_total');
    const now = Date.now();
    const perSecond =
      last && events !== undefined ? (events - last.events) / ((now - last.at) / 1000) : undefined;
    if (events !== undefined) last = { at: now, events };
    const actions = ['ALLOW', 'MONITOR', 'THROTTLE', 'BLOCK']
      .map(
        (a) =>
          `${a} ${total(de, 'spamgate_decision_engine_decisions_published_total', `action="${a}"`) ?? '-'}`,
      )
      .join(' · ');
    const lag = [fe, de, sink].reduce(
      (n, page) => n + (total(page, 'spamgate_consumer_lag_records') ?? 0),
      0,
    );
    say(
      `events/s ${perSecond === undefined ? '-' : Math.round(perSecond)}  decisions published ${actions}  lag ${lag} records`,
    );
  }
}

/** A service's /metrics page, or undefined while it has no port or does not answer. */
async function scrape(s: Supervised): Promise<string | undefined> {
  if (s.port === undefined) return undefined;
  try {
    return await (
      await fetch(`http://127.0.0.1:${s.port}/metrics`, { signal: AbortSignal.timeout(2_000) })
    ).text();
  } catch {
    return undefined;
  }
}

/** The sum of a metric's series (those holding `having`) on a page; undefined when none. */
function total(page: string | undefined, name: string, having = ''): number | undefined {
  if (page === undefined) return undefined;
  let sum: number | undefined;
  for (const line of page.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `)) || !line.includes(having)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    say('stopping already; a third signal kills');
    process.once(signal, () => process.exit(130));
    return;
  }
  stopping = true;
  say(`${signal}: stopping (each service finishes its batch and commits)`);
  if (summary) clearInterval(summary);
  await simulator?.stop(10_000);
  await Promise.all(running.map((s) => s.stop()));
  say('stopped');
  process.exit(0);
}
// SIGHUP too: closing the terminal would otherwise end the supervisor and leave its services,
// each in a process group of its own, running. Only a SIGKILL of the supervisor does that.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, (s) => void stop(s));

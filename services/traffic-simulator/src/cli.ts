/**
 * The simulator's command line: arguments and environment to options, checked all at once.
 * Pure (no I/O): main.ts runs what this returns.
 */
import { parseArgs } from 'node:util';
import {
  commonSettings,
  type Env,
  type KafkaSecurity,
  kafkaSecurityOf,
  kafkaSecuritySettings,
  loadConfig,
  parseDuration,
  SpamgateError,
  topicPrefixSetting,
} from '@spamgate/core';
import { DEFAULT_SCENARIOS_PATH } from './scenario-file.ts';
import { trafficOptionProblems } from './traffic.ts';

/** A command line the simulator cannot run: printed with the usage text, exit code 64. */
export class UsageError extends SpamgateError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, { code: 'USAGE' });
  }
}

export const USAGE = `usage: npm run simulate -- [options]

Seeded SMS traffic with ground-truth labels, produced to sms.message-events and
sms.feedback-events (docs/simulator.md).

  --rate N               MessageEvents per second, all scenarios together (default 200);
                         scenarios sized by their team add their own
  --duration D           length of the run: 90s, 2m, 2h (default 2m)
  --seed N               integer 0 to 4294967295 (default 1); the same seed, scenarios, rate,
                         duration and start time give the same events
  --scenarios FILE       scenario file (default services/traffic-simulator/scenarios/default.json)
  --labels FILE          where the labels go, rewritten while the run goes on
                         (default simulator-labels.json)
  --labels-interval D    how often the labels file is rewritten (default 10s)
  --ledger FILE          where the message ledger goes, for the report's enforcement replay
                         (default simulator-ledger.jsonl; with $SPAMGATE_HASH_KEY, the pipeline's
                         secret, it carries what a firewall matches in each message)
  --as-fast-as-possible  do not wait for the clock; event times stay synthetic
  --start TIME           event time of the run's start, ISO 8601 or ms since the epoch (default
                         now); only with --as-fast-as-possible or --dry-run
  --topic-prefix P       topic prefix (default $SPAMGATE_TOPIC_PREFIX)
  --brokers LIST         Kafka bootstrap servers (default $SPAMGATE_KAFKA_BROKERS, 127.0.0.1:9092)
  --dry-run              generate without Kafka and print what each scenario sends
  -h, --help             this text

Ctrl-C stops the run: what was sent stays sent and the labels say exactly that.
Exit codes: 0 done (or stopped), 1 failure, 64 bad arguments, 78 bad configuration or scenario file.
`;

export interface CliOptions {
  readonly help: boolean;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly scenariosPath: string;
  /** Undefined in a dry run without --labels. */
  readonly labelsPath: string | undefined;
  readonly labelsIntervalMs: number;
  /** Undefined in a dry run. */
  readonly ledgerPath: string | undefined;
  /** SPAMGATE_HASH_KEY, for the ledger's content keys; undefined when unset. */
  readonly hashKey: string | undefined;
  readonly asFastAsPossible: boolean;
  /** Undefined: now. */
  readonly startTime: number | undefined;
  readonly dryRun: boolean;
  readonly topicPrefix: string;
  readonly brokers: readonly string[];
  /** TLS and SASL for Kafka, from the environment's SPAMGATE_KAFKA_SECURITY and its settings. */
  readonly security: KafkaSecurity;
  readonly logLevel: string;
}

const envSpec = {
  kafkaBrokers: commonSettings.kafkaBrokers,
  ...kafkaSecuritySettings,
  topicPrefix: topicPrefixSetting,
  logLevel: commonSettings.logLevel,
};

function parseTime(raw: string): number | undefined {
  if (/^\d+$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Options from the arguments (without the node and script paths) and the environment. Throws a
 * UsageError naming every bad argument, or a ConfigError for a bad environment variable.
 */
export function parseCliArgs(argv: readonly string[], env: Env): CliOptions {
  const parse = (args: string[]) =>
    parseArgs({
      args,
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        seed: { type: 'string' },
        scenarios: { type: 'string' },
        labels: { type: 'string' },
        'labels-interval': { type: 'string' },
        ledger: { type: 'string' },
        'as-fast-as-possible': { type: 'boolean', default: false },
        start: { type: 'string' },
        'topic-prefix': { type: 'string' },
        brokers: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse([...argv]).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const problems: string[] = [];
  const help = values.help === true;
  const number = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) {
      problems.push(`--${name}: got ${JSON.stringify(raw)}, expected a number`);
      return fallback;
    }
    return n;
  };
  const duration = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const ms = parseDuration(raw);
    if (ms === undefined) {
      problems.push(`--${name}: got ${JSON.stringify(raw)}, expected a duration such as 90s, 2m or 2h`);
      return fallback;
    }
    return ms;
  };
  const ratePerSecond = number('rate', values.rate, 200);
  const durationMs = duration('duration', values.duration, 120_000);
  const seed = number('seed', values.seed, 1);
  const labelsIntervalMs = duration('labels-interval', values['labels-interval'], 10_000);
  if (labelsIntervalMs <= 0) problems.push('--labels-interval: expected a duration above 0');
  const dryRun = values['dry-run'] === true;
  const asFastAsPossible = values['as-fast-as-possible'] === true;
  let startTime: number | undefined;
  if (values.start !== undefined) {
    startTime = parseTime(values.start);
    if (startTime === undefined)
      problems.push(`--start: got ${JSON.stringify(values.start)}, expected ISO 8601 or ms`);
    if (!asFastAsPossible && !dryRun) {
      problems.push('--start: only with --as-fast-as-possible or --dry-run (live traffic starts now)');
    }
  }
  for (const p of trafficOptionProblems({ seed, ratePerSecond, durationMs, startTime: startTime ?? 0 })) {
    problems.push(`--${p.replace(/^start time/, 'start')}`);
  }
  for (const [name, raw] of [
    ['scenarios', values.scenarios],
    ['labels', values.labels],
    ['ledger', values.ledger],
  ] as const) {
    if (raw !== undefined && raw.trim() === '') problems.push(`--${name}: expected a file name`);
  }
  if (problems.length > 0 && !help) throw new UsageError(problems.join('\n'));
  const config = loadConfig(envSpec, {
    ...env,
    ...(values.brokers !== undefined ? { SPAMGATE_KAFKA_BROKERS: values.brokers } : {}),
    ...(values['topic-prefix'] !== undefined ? { SPAMGATE_TOPIC_PREFIX: values['topic-prefix'] } : {}),
  });
  return Object.freeze({
    help,
    ratePerSecond,
    durationMs,
    seed,
    scenariosPath: values.scenarios ?? DEFAULT_SCENARIOS_PATH,
    labelsPath: values.labels ?? (dryRun ? undefined : 'simulator-labels.json'),
    labelsIntervalMs,
    ledgerPath: dryRun ? undefined : (values.ledger ?? 'simulator-ledger.jsonl'),
    hashKey: env.SPAMGATE_HASH_KEY || undefined,
    asFastAsPossible,
    startTime,
    dryRun,
    topicPrefix: config.topicPrefix,
    brokers: config.kafkaBrokers,
    security: kafkaSecurityOf(config),
    logLevel: config.logLevel,
  });
}

/**
 * The demo, end to end: servers up (the local ones unless told to use others), a fresh topic
 * prefix and ClickHouse database for this run, the three services as separate processes (unless
 * they already run, as with docker-compose), the traffic simulator for the configured time, a
 * wait until what it sent is decided and in ClickHouse, and the decision-quality report (text and
 * HTML). Everything it started is stopped at the end, or on abort (Ctrl-C).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type ClickHouseClient,
  createClickHouse,
  createKafka,
  type KafkaSecurity,
  type Logger,
  sql,
  sqlTable,
  waitForClickHouse,
  waitForKafka,
} from '@spamgate/core';
import {
  buildReport,
  DEFAULT_SCENARIOS_PATH,
  type Labels,
  loadScenarioFile,
  type Report,
  readLedger,
  renderHtml,
  renderText,
  runSimulator,
} from '@spamgate/traffic-simulator';
import type { Kafka } from 'kafkajs';
import { loadMigrations, migrate } from '../clickhouse/migrate.ts';
import { aclBindings, applyAcls } from '../kafka/acls.ts';
import { provisionTopics } from '../kafka/provision.ts';
import { TOPICS } from '../kafka/topics.ts';
import { type ServiceProcess, startService, waitReady } from './processes.ts';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;

export interface DemoOptions {
  readonly seed: number;
  /** MessageEvents per second, all scenarios together. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** Scenario file; the simulator's default mix when undefined. */
  readonly scenariosFile: string | undefined;
  /** Registrations the engines read (the demo's registered senders). */
  readonly registrationsFile: string;
  /** Where labels, logs and the HTML report go. */
  readonly outDir: string;
  readonly brokers: readonly string[];
  readonly clickhouseUrl: string;
  /** Start the local servers (infra/local) when true; otherwise they must be reachable. */
  readonly startServers: boolean;
  /**
   * Start the services as processes, with a fresh topic prefix and database for the run (true),
   * or use the services already running (docker-compose) on their topics and database.
   */
  readonly startServices: boolean;
  readonly topicPrefix: string;
  readonly database: string;
  /**
   * The services' SPAMGATE_HASH_KEY when they already run (docker-compose), so the message ledger
   * carries the content keys a firewall matches; a fresh one is made when the demo starts them.
   */
  readonly hashKey?: string | undefined;
  readonly logger: Logger;
  /**
   * Run the services and the simulator on the cluster's secured listener, each logged in as its
   * own principal, under the ACLs of `npm run topics -- --acls` (which the demo applies for its
   * topics and groups through `brokers`, a super user's listener). Unset: everything on `brokers`.
   * Only with `startServices`: services already running (docker-compose) keep their own settings.
   */
  readonly secured?: SecuredDemo;
  /** Progress lines for the person watching. */
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** One principal's login: the settings a service reads, and the same for the demo's own client. */
export interface DemoLogin {
  readonly principal: string;
  readonly env: Readonly<Record<string, string>>;
  readonly security: KafkaSecurity;
}

export interface SecuredDemo {
  readonly brokers: readonly string[];
  readonly logins: Readonly<Record<'ingest' | (typeof SERVICES)[number]['name'], DemoLogin>>;
}

export interface DemoResult {
  readonly labels: Labels;
  readonly report: Report;
  readonly text: string;
  readonly htmlPath: string;
}

const SERVICES = [
  { name: 'feature-engine', script: 'services/feature-engine/src/main.ts' },
  { name: 'decision-engine', script: 'services/decision-engine/src/main.ts' },
  { name: 'clickhouse-sink', script: 'services/clickhouse-sink/src/main.ts' },
] as const;

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  // A bad scenario file fails here, before anything starts.
  const scenarios = loadScenarioFile(o.scenariosFile ?? DEFAULT_SCENARIOS_PATH);
  mkdirSync(o.outDir, { recursive: true });
  const services: ServiceProcess[] = [];
  let clickhouse: ClickHouseClient | undefined;
  try {
    if (o.startServers) {
      o.say(
        'starting the local Kafka and ClickHouse (infra/local/spamgate-local up) if they are not running',
      );
      await run('bash', [join(REPO, 'infra/local/spamgate-local'), 'up'], { timeout: 600_000 });
    }
    const kafka = createKafka({ brokers: o.brokers, clientId: 'spamgate-demo', logger: o.logger });
    await waitForKafka(kafka, { timeoutMs: 60_000, logger: o.logger });
    clickhouse = createClickHouse({ url: o.clickhouseUrl, logger: o.logger });
    await waitForClickHouse(clickhouse, { timeoutMs: 60_000, logger: o.logger });
    checkAborted(o.signal);

    o.say(`topics under prefix '${o.topicPrefix}', tables in database ${o.database}`);
    await provisionTopics({ kafka, catalog: TOPICS, prefix: o.topicPrefix, logger: o.logger });
    await migrate({
      client: clickhouse,
      database: o.database,
      migrations: loadMigrations(join(REPO, 'infra/clickhouse/migrations')),
      logger: o.logger,
      connection: { url: o.clickhouseUrl },
    });

    // A secret for this run only when the demo starts the services: its data is thrown away with its database.
    const hashKey = o.startServices ? randomBytes(24).toString('hex') : o.hashKey;
    if (o.startServices) {
      const groups = {
        'feature-engine': `${o.topicPrefix}-feature-engine`,
        'decision-engine': `${o.topicPrefix}-decision-engine`,
        'clickhouse-sink': `${o.topicPrefix}-clickhouse-sink`,
      };
      if (o.secured) {
        await applyDemoAcls(kafka, o.topicPrefix, groups, o.secured, o.logger);
        o.say(
          'services and simulator each log in as their own principal, under the ACLs of npm run topics -- --acls',
        );
      }
      const common = {
        SPAMGATE_KAFKA_BROKERS: o.brokers.join(','),
        SPAMGATE_CLICKHOUSE_URL: o.clickhouseUrl,
        SPAMGATE_CLICKHOUSE_DATABASE: o.database,
        SPAMGATE_TOPIC_PREFIX: o.topicPrefix,
        SPAMGATE_REGISTRATIONS_FILE: o.registrationsFile,
        SPAMGATE_HTTP_PORT: '0',
        SPAMGATE_HASH_KEY: hashKey!,
        SPAMGATE_FEATURE_ENGINE_GROUP: groups['feature-engine'],
        SPAMGATE_DECISION_ENGINE_GROUP: groups['decision-engine'],
        SPAMGATE_SINK_GROUP: groups['clickhouse-sink'],
      };
      for (const s of SERVICES) {
        const env = { ...common, ...o.secured?.logins[s.name].env };
        services.push(startService(s.name, join(REPO, s.script), env, join(o.outDir, `${s.name}.log`)));
      }
      o.say(`started ${SERVICES.map((s) => s.name).join(', ')} (logs in ${o.outDir})`);
      await Promise.all(services.map((s) => waitReady(s, 120_000)));
      o.say('every service is ready');
    }
    checkAborted(o.signal);

    const labelsPath = join(o.outDir, 'labels.json');
    const ledgerPath = join(o.outDir, 'ledger.jsonl');
    o.say(
      `simulating ${o.ratePerSecond} messages/s for ${Math.round(o.durationMs / 1000)} s (seed ${o.seed}); labels in ${labelsPath}`,
    );
    const failedService = watchServices(services);
    const simulatorKafka =
      o.secured && o.startServices
        ? createKafka({
            brokers: o.secured.brokers,
            clientId: 'spamgate-demo-simulator',
            logger: o.logger,
            security: o.secured.logins.ingest.security,
          })
        : kafka;
    const labels = await Promise.race([
      runSimulator({
        kafka: simulatorKafka,
        topicPrefix: o.topicPrefix,
        seed: o.seed,
        ratePerSecond: o.ratePerSecond,
        durationMs: o.durationMs,
        scenarios,
        labelsPath,
        ledgerPath,
        ...(hashKey ? { hashKey } : {}),
        logger: o.logger,
        signal: o.signal,
      }),
      failedService,
    ]);
    checkAborted(o.signal);

    o.say('waiting for the last decisions to reach ClickHouse');
    await Promise.race([settle(clickhouse, o.database, o.signal), failedService]);

    const report = await buildReport({
      labels,
      clickhouse,
      database: o.database,
      ledger: readLedger(ledgerPath),
    });
    const text = renderText(report);
    const htmlPath = join(o.outDir, 'report.html');
    writeFileSync(htmlPath, renderHtml(report));
    return { labels, report, text, htmlPath };
  } finally {
    if (services.length > 0) o.say('stopping the services');
    await Promise.all(services.map((s) => s.stop()));
    await clickhouse?.close();
  }
}

/** The ACLs of the demo's principals on its topics and groups (nobody else's: no operator, no firewall). */
async function applyDemoAcls(
  kafka: Kafka,
  topicPrefix: string,
  groups: Readonly<Record<(typeof SERVICES)[number]['name'], string>>,
  secured: SecuredDemo,
  logger: Logger,
): Promise<void> {
  const { logins } = secured;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await applyAcls(
      admin,
      aclBindings(TOPICS, {
        topicPrefix,
        principals: {
          ingest: [logins.ingest.principal],
          'feature-engine': [logins['feature-engine'].principal],
          'decision-engine': [logins['decision-engine'].principal],
          'clickhouse-sink': [logins['clickhouse-sink'].principal],
          operator: [],
          enforcement: [],
        },
        groupPrefixes: { ...groups, ingest: null, operator: null, enforcement: null },
      }),
      logger,
    );
  } finally {
    await admin.disconnect();
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DemoAborted();
}

export class DemoAborted extends Error {
  override name = 'DemoAborted';
  constructor() {
    super('the demo was stopped');
  }
}

/** Rejects as soon as a service exits while the demo runs. */
function watchServices(services: readonly ServiceProcess[]): Promise<never> {
  const failed = new Promise<never>((_, reject) => {
    for (const s of services) {
      void s.exited.then(({ code, signal }) =>
        reject(new Error(`${s.name} stopped unexpectedly (${code ?? signal}); its log: ${s.logFile}`)),
      );
    }
  });
  failed.catch(() => {});
  return failed;
}

/**
 * Waits until the evaluations in ClickHouse stop growing: the last features were decided and
 * written. At least 10 s (a sink batch, a commit interval and the feature engine's emission),
 * quiet for 5 s, at most 120 s.
 */
async function settle(clickhouse: ClickHouseClient, database: string, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() - started < 120_000) {
    checkAborted(signal);
    const rs = await clickhouse.query({
      query: sql`SELECT count() AS n FROM ${sqlTable(database, 'decisions')}`,
      format: 'JSONEachRow',
    });
    const n = Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
    if (n !== last) {
      last = n;
      quietSince = Date.now();
    } else if (Date.now() - started >= 10_000 && Date.now() - quietSince >= 5_000) {
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

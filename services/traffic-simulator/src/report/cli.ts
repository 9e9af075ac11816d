/**
 * `npm run report -- --labels <path> [--ledger <path>] [--html <path>] [--check]`: prints the decision-quality
 * report of a simulator run and writes its HTML page. ClickHouse from SPAMGATE_CLICKHOUSE_URL,
 * _USER, _PASSWORD and _DATABASE. Exit codes: 0 done, 1 failure, 3 quality bar failed (with
 * --check), 64 bad arguments, 78 bad configuration.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  clickhousePasswordOf,
  commonSettings,
  createClickHouse,
  createLogger,
  type Env,
  loadConfig,
} from '@spamgate/core';
import { readLedger } from '../ledger.ts';
import { buildReport } from './build.ts';
import { renderHtml } from './html.ts';
import { readLabels } from './labels-file.ts';
import { renderText } from './text.ts';

export const REPORT_USAGE = `usage: npm run report -- --labels <labels.json> [--ledger <ledger.jsonl>] [--html <report.html>] [--check]

  --labels PATH   the labels file the traffic simulator wrote for the run
  --ledger PATH   its message ledger: replays what the firewall let through (the quality bar)
  --html PATH     also write the report as a self-contained HTML page with charts
  --check         exit 3 when a check of the quality bar fails

Environment: SPAMGATE_CLICKHOUSE_URL, SPAMGATE_CLICKHOUSE_USER, SPAMGATE_CLICKHOUSE_PASSWORD,
SPAMGATE_CLICKHOUSE_DATABASE (default spamgate). Definitions: docs/report.md.
`;

export const EXIT_QUALITY_BAR = 3;

const spec = {
  clickhouseUrl: commonSettings.clickhouseUrl,
  clickhouseUser: commonSettings.clickhouseUser,
  clickhousePassword: commonSettings.clickhousePassword,
  clickhousePasswordFile: commonSettings.clickhousePasswordFile,
  clickhouseDatabase: commonSettings.clickhouseDatabase,
  logLevel: { ...commonSettings.logLevel, default: 'warn' },
};

/** A command line the report cannot run: printed with the usage, exit 64. */
export class ReportUsageError extends Error {
  override name = 'ReportUsageError';
}

export interface ReportIo {
  /** The terminal report goes here. */
  readonly stdout: { write(s: string): unknown; readonly isTTY?: boolean };
  /** Notes (where the HTML went). */
  readonly stderr: { write(s: string): unknown };
}

/** Runs the report command; returns the exit code. Throws ReportUsageError, ConfigError and I/O errors. */
export async function runReportCli(argv: readonly string[], env: Env, io: ReportIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      labels: { type: 'string' },
      ledger: { type: 'string' },
      html: { type: 'string' },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(REPORT_USAGE);
    return 0;
  }
  if (values.labels === undefined) throw new ReportUsageError('--labels <path> is required');
  const config = loadConfig(spec, env);
  const labels = readLabels(values.labels);
  const logger = createLogger({
    service: 'report',
    instanceId: String(process.pid),
    level: config.logLevel,
    destination: process.stderr,
  });
  const clickhouse = createClickHouse({
    url: config.clickhouseUrl,
    username: config.clickhouseUser,
    password: clickhousePasswordOf(config),
    logger,
    application: 'spamgate-report',
  });
  try {
    const report = await buildReport({
      labels,
      clickhouse,
      database: config.clickhouseDatabase,
      ledger: values.ledger === undefined ? undefined : readLedger(values.ledger),
    });
    io.stdout.write(renderText(report, { color: io.stdout.isTTY === true }));
    if (values.html !== undefined) {
      const path = resolve(values.html);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, renderHtml(report));
      io.stderr.write(`HTML report written to ${path}\n`);
    }
    return values.check && !report.score.passed ? EXIT_QUALITY_BAR : 0;
  } finally {
    await clickhouse.close();
  }
}

/**
 * `npm run retention [-- --dry-run]`: drops daily partitions older than each table's retention
 * (SPAMGATE_RETENTION_<TABLE>) and prints one line per dropped partition, then a summary.
 * Exit codes: 0 done, 1 ClickHouse failed or unreachable, 64 bad arguments, 78 bad configuration.
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  clickhousePasswordOf,
  commonSettings,
  createClickHouse,
  createLogger,
  describeError,
  EXIT_CONFIG,
  loadConfig,
  waitForClickHouse,
} from '@spamgate/core';
import { applyRetention, retentionSettings } from './retention.ts';

const EXIT_USAGE = 64;
const spec = {
  clickhouseUrl: commonSettings.clickhouseUrl,
  clickhouseUser: commonSettings.clickhouseUser,
  clickhousePassword: commonSettings.clickhousePassword,
  clickhousePasswordFile: commonSettings.clickhousePasswordFile,
  clickhouseDatabase: commonSettings.clickhouseDatabase,
  connectTimeoutMs: commonSettings.connectTimeoutMs,
  logLevel: { ...commonSettings.logLevel, default: 'warn' },
  ...retentionSettings,
};

async function main(argv: readonly string[]): Promise<number> {
  let dryRun: boolean;
  try {
    dryRun = parseArgs({ args: [...argv], options: { 'dry-run': { type: 'boolean', default: false } } })
      .values['dry-run'];
  } catch (err) {
    process.stderr.write(`${describeError(err).message}\nusage: npm run retention [-- --dry-run]\n`);
    return EXIT_USAGE;
  }
  const config = loadConfig(spec, process.env);
  const logger = createLogger({
    service: 'retention',
    instanceId: String(process.pid),
    level: config.logLevel,
    destination: process.stderr,
  });
  const client = createClickHouse({
    url: config.clickhouseUrl,
    username: config.clickhouseUser,
    password: clickhousePasswordOf(config),
    logger,
    application: 'spamgate-retention',
  });
  try {
    await waitForClickHouse(client, { timeoutMs: config.connectTimeoutMs });
    const retention = Object.fromEntries(
      Object.keys(retentionSettings).map((t) => [t, config[t as keyof typeof retentionSettings]]),
    );
    const dropped = await applyRetention({
      client,
      database: config.clickhouseDatabase,
      config: retention as Parameters<typeof applyRetention>[0]['config'],
      logger,
      dryRun,
    });
    for (const d of dropped) {
      process.stdout.write(
        `${dryRun ? 'would drop' : 'dropped'} ${d.table} partition ${d.partitionId} (${d.rows} rows)\n`,
      );
    }
    process.stdout.write(`${dropped.length} partition(s) ${dryRun ? 'would be ' : ''}dropped\n`);
    return 0;
  } finally {
    await client.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT_CONFIG;
  } else {
    process.stderr.write(`retention: ${describeError(err).message}\n`);
    process.exitCode = 1;
  }
}

// `npm run report -- --labels <path> [--ledger <path>] [--html <path>] [--check]` (src/report/cli.ts).
import { ConfigError, describeError, EXIT_CONFIG } from '@spamgate/core';
import { REPORT_USAGE, ReportUsageError, runReportCli } from './cli.ts';

const EXIT_USAGE = 64;

try {
  process.exitCode = await runReportCli(process.argv.slice(2), process.env, {
    stdout: process.stdout,
    stderr: process.stderr,
  });
} catch (err) {
  if (err instanceof ReportUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`${(err as Error).message}\n\n${REPORT_USAGE}`);
    process.exitCode = EXIT_USAGE;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT_CONFIG;
  } else {
    process.stderr.write(`report: ${describeError(err).message}\n`);
    process.exitCode = 1;
  }
}

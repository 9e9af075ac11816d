// The simulator as a command (`npm run simulate -- --help`): arguments, wiring, signals.
import { ConfigError, createKafka, createLogger, describeError, EXIT_CONFIG } from '@spamgate/core';
import { parseCliArgs, USAGE, UsageError } from './cli.ts';
import { createLabelTracker, writeLabels } from './label-tracker.ts';
import type { Labels } from './labels.ts';
import { NumberSpaceError } from './numbers.ts';
import { loadScenarioFile, ScenarioFileError } from './scenario-file.ts';
import { runSimulator, simulatorTopics } from './simulator.ts';
import { generateTraffic, planTraffic, SimulatorOptionsError } from './traffic.ts';

const EXIT_USAGE = 64;

/** One line per scenario: what it sent. */
function summary(labels: Labels): string {
  const rows = labels.scenarios.map((s) => {
    const messages = s.senders.reduce((n, x) => n + x.messages, 0);
    return [s.id, s.spam ? 'spam' : 'legitimate', String(s.senders.length), String(messages)];
  });
  const header = ['scenario', 'truth', 'senders', 'messages'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const total = rows.reduce((n, r) => n + Number(r[3]), 0);
  const seconds = Math.max(1, (labels.endedAt - labels.startedAt) / 1000);
  return [line(header), ...rows.map(line), `${total} messages in ${seconds.toFixed(0)} s of event time`].join(
    '\n',
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let options: ReturnType<typeof parseCliArgs>;
  try {
    options = parseCliArgs(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let scenarios: ReturnType<typeof loadScenarioFile>;
  try {
    scenarios = loadScenarioFile(options.scenariosPath);
  } catch (err) {
    if (!(err instanceof ScenarioFileError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return EXIT_CONFIG;
  }
  const logger = createLogger({
    service: 'traffic-simulator',
    instanceId: String(process.pid),
    level: options.logLevel,
    destination: process.stderr,
  });

  try {
    if (options.dryRun) {
      const traffic = {
        scenarios,
        seed: options.seed,
        ratePerSecond: options.ratePerSecond,
        durationMs: options.durationMs,
        startTime: options.startTime ?? Date.now(),
      };
      const tracker = createLabelTracker({
        seed: traffic.seed,
        ratePerSecond: traffic.ratePerSecond,
        topicPrefix: options.topicPrefix,
        startTime: traffic.startTime,
        scenarios: planTraffic(traffic),
      });
      let feedback = 0;
      for (const e of generateTraffic(traffic)) {
        tracker.record(e);
        if (e.type === 'feedback') feedback++;
      }
      const labels = tracker.labels();
      if (options.labelsPath) await writeLabels(options.labelsPath, labels);
      process.stdout.write(`${summary(labels)}, and ${feedback} feedback events (dry run: nothing sent)\n`);
      return 0;
    }

    const controller = new AbortController();
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      process.stderr.write(
        `${signal}: stopping; the labels will cover what was sent (again to quit at once)\n`,
      );
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const kafka = createKafka({
      brokers: options.brokers,
      clientId: `spamgate-simulator-${process.pid}`,
      logger,
      security: options.security,
    });
    const topics = simulatorTopics(options.topicPrefix);
    process.stderr.write(
      `simulating ${options.ratePerSecond} messages/s for ${options.durationMs / 1000} s (seed ${options.seed}) ` +
        `into ${topics.messages} and ${topics.feedback}` +
        `${options.labelsPath ? `; labels in ${options.labelsPath}` : ''}; Ctrl-C stops\n`,
    );
    const labels = await runSimulator({
      kafka,
      scenarios,
      seed: options.seed,
      ratePerSecond: options.ratePerSecond,
      durationMs: options.durationMs,
      topicPrefix: options.topicPrefix,
      ...(options.labelsPath ? { labelsPath: options.labelsPath } : {}),
      labelsIntervalMs: options.labelsIntervalMs,
      ...(options.ledgerPath ? { ledgerPath: options.ledgerPath } : {}),
      ...(options.hashKey ? { hashKey: options.hashKey } : {}),
      asFastAsPossible: options.asFastAsPossible,
      ...(options.startTime !== undefined ? { startTime: options.startTime } : {}),
      signal: controller.signal,
      logger,
    });
    process.stdout.write(`${summary(labels)}${controller.signal.aborted ? ' (stopped early)' : ''}\n`);
    return 0;
  } catch (err) {
    if (err instanceof SimulatorOptionsError || err instanceof NumberSpaceError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`simulator failed: ${describeError(err).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * The start-up sequence every service shares, as one factory: parse config (all problems at
 * once; a bad value stops the process with exit code 78 and names the variable), create the
 * logger, metrics registry, ops endpoint and lifecycle. A service's main.ts calls this with
 * process.env, wires its own components, and installs the signal handlers.
 */

import type { Kafka } from 'kafkajs';
import { type ClickHouseClient, createClickHouse, waitForClickHouse } from './clickhouse.ts';
import { clickhousePasswordOf } from './clickhouse-password.ts';
import { type ConfigOf, type ConfigSpec, commonSettings, type Env, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { createKafka, waitForKafka } from './kafka.ts';
import { kafkaSecurityOf } from './kafka-security.ts';
import { createLifecycle, type Lifecycle } from './lifecycle.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetricsRegistry, type Registry } from './metrics.ts';
import { createOpsServer, type OpsServer } from './ops-server.ts';

/** sysexits.h EX_CONFIG: the process was started with a bad configuration. */
export const EXIT_CONFIG = 78;

export type CommonConfig = ConfigOf<typeof commonSettings>;

export interface ServiceContext<C> {
  readonly name: string;
  readonly config: C & CommonConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly ops: OpsServer;
  readonly lifecycle: Lifecycle;
  /**
   * Connects to Kafka, waiting (bounded by SPAMGATE_CONNECT_TIMEOUT) until it is ready. `group`:
   * the service's consumer group, which prefixes the readiness probe's group and transactional
   * id, so that the ACLs on its group prefix cover them.
   */
  connectKafka(group?: string): Promise<Kafka>;
  /** Connects to ClickHouse the same way; the client is closed on shutdown. */
  connectClickHouse(): Promise<ClickHouseClient>;
}

export interface ServiceOptions {
  /** Where log lines go; stdout by default. */
  readonly logDestination?: Parameters<typeof createLogger>[0]['destination'];
  /** Exit function; process.exit by default. */
  readonly exit?: (code: number) => void;
}

export function createServiceContext<S extends ConfigSpec>(
  name: string,
  spec: S,
  env: Env,
  options: ServiceOptions = {},
): ServiceContext<ConfigOf<S>> {
  const config = loadConfig({ ...commonSettings, ...spec }, env) as unknown as ConfigOf<S> & CommonConfig;
  const logger = createLogger({
    service: name,
    instanceId: config.instanceId,
    level: config.logLevel,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const registry = createMetricsRegistry({ service: name, instance: config.instanceId });
  const ops = createOpsServer({ port: config.httpPort, host: config.httpHost, registry, logger });
  const lifecycle = createLifecycle({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    ...(options.exit ? { exit: options.exit } : {}),
  });
  lifecycle.onShutdown('ops endpoint', () => ops.close());

  return {
    name,
    config,
    logger,
    registry,
    ops,
    lifecycle,
    async connectKafka(group) {
      const kafka = createKafka({
        brokers: config.kafkaBrokers,
        clientId: `spamgate-${name}-${config.instanceId}`,
        logger,
        security: kafkaSecurityOf(config),
      });
      await waitForKafka(kafka, {
        timeoutMs: config.connectTimeoutMs,
        logger,
        ...(group !== undefined ? { probePrefix: group } : {}),
      });
      logger.info({ brokers: config.kafkaBrokers }, 'kafka ready');
      return kafka;
    },
    async connectClickHouse() {
      const client = createClickHouse({
        url: config.clickhouseUrl,
        username: config.clickhouseUser,
        password: clickhousePasswordOf(config),
        logger,
        application: `spamgate-${name}`,
      });
      lifecycle.onShutdown('clickhouse client', () => client.close());
      const version = await waitForClickHouse(client, { timeoutMs: config.connectTimeoutMs, logger });
      logger.info({ url: config.clickhouseUrl, version }, 'clickhouse ready');
      return client;
    },
  };
}

/**
 * Runs a service's main function. A ConfigError is printed (every bad variable) and exits 78;
 * any other start-up error is logged and exits 1.
 */
export function runMain(
  main: () => Promise<void>,
  exit: (code: number) => void = (c) => process.exit(c),
): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      exit(EXIT_CONFIG);
      return;
    }
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exit(1);
  });
}

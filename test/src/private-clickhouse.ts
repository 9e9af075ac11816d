/**
 * A ClickHouse server of a test's own, for tests that stop and start it: the shared one serves
 * every other test running at the same time. Started by infra/local/spamgate-local (the same
 * binary, config and readiness check as the shared server) with its own state folder and ports.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './versions.ts';

const run = promisify(execFile);

export interface PrivateClickHouse {
  /** Its HTTP endpoint, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** Stops the server (SIGTERM, as an operator's restart would) and waits until it is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same data and waits until it answers. */
  start(): Promise<void>;
  /** Stops it and deletes its data; safe to call twice. */
  destroy(): Promise<void>;
}

/** A port free on the loopback interface now. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startPrivateClickHouse(): Promise<PrivateClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'spamgate-clickhouse-'));
  const httpPort = await freePort();
  const tcpPort = await freePort();
  const env = {
    ...process.env,
    SPAMGATE_LOCAL_DIR: dir,
    SPAMGATE_CLICKHOUSE_HTTP_PORT: String(httpPort),
    SPAMGATE_CLICKHOUSE_TCP_PORT: String(tcpPort),
  };
  const local = async (...args: string[]): Promise<void> => {
    try {
      await run('bash', [`${REPO_ROOT}infra/local/spamgate-local`, ...args], { env, timeout: 240_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`spamgate-local ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  };
  await local('up', 'clickhouse');
  let destroyed = false;
  return {
    url: `http://127.0.0.1:${httpPort}`,
    stop: () => local('stop', 'clickhouse'),
    start: () => local('up', 'clickhouse'),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await local('stop', 'clickhouse').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The operations endpoint every service exposes on a port of its own:
 *   GET /healthz  200 while the process serves requests (liveness)
 *   GET /readyz   200 when every readiness check passes, else 503, with each check's state
 *   GET /metrics  Prometheus text format from the service's registry, with spamgate_ready: the
 *                 readiness checks as a gauge, so that alerting sees what /readyz says
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';
import { Gauge, type Registry } from './metrics.ts';

/** A named readiness check: true when ready; a string explains why not. */
export type ReadinessCheck = () => boolean | string | Promise<boolean | string>;

export interface OpsServer {
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface OpsServerOptions {
  readonly port: number;
  readonly host?: string;
  readonly registry: Registry;
  readonly logger: Logger;
}

async function runCheck(check: ReadinessCheck): Promise<{ ready: boolean; detail?: string }> {
  try {
    const r = await check();
    if (r === true) return { ready: true };
    return { ready: false, detail: typeof r === 'string' ? r : 'not ready' };
  } catch (err) {
    return { ready: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

export function createOpsServer(options: OpsServerOptions): OpsServer {
  const checks = new Map<string, ReadinessCheck>();
  let server: Server | undefined;
  let closing: Promise<void> | undefined;
  /** Every check's state, by name. */
  const readiness = async () => {
    const results: Record<string, { ready: boolean; detail?: string }> = {};
    for (const [name, check] of checks) results[name] = await runCheck(check);
    return results;
  };
  // One ops server per registry in a service; the newest owns the gauge (tests make several).
  options.registry.removeSingleMetric('spamgate_ready');
  new Gauge({
    name: 'spamgate_ready',
    help: '1 when every readiness check passes (/readyz is 200), else 0.',
    registers: [options.registry],
    async collect() {
      this.set(Object.values(await readiness()).every((r) => r.ready) ? 1 : 0);
    },
  });

  const handler: Parameters<typeof createServer>[1] = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
      return;
    }
    if (path === '/readyz') {
      void (async () => {
        const results = await readiness();
        const ready = Object.values(results).every((r) => r.ready);
        res
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${JSON.stringify({ status: ready ? 'ready' : 'not ready', checks: results })}\n`);
      })();
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) => {
          options.logger.error({ err: String(err) }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n');
  };

  return {
    addReadinessCheck(name, check) {
      checks.set(name, check);
    },
    listen() {
      const s = createServer(handler);
      s.keepAliveTimeout = 5_000;
      server = s;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(options.port, options.host ?? '127.0.0.1', () => {
          s.off('error', reject);
          const address = s.address() as AddressInfo;
          options.logger.info(
            { host: address.address, port: address.port },
            'ops endpoint listening (/healthz, /readyz, /metrics)',
          );
          resolve(address);
        });
      });
    },
    close() {
      if (!server) return Promise.resolve();
      const s = server;
      closing ??= new Promise((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
      return closing;
    },
  };
}

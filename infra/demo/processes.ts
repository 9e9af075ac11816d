/**
 * The demo's services as separate processes, as in production: each is `node <main.ts>` with its
 * own environment, its JSON log appended to a file, its ops port read from its log, and a
 * readiness wait on its /readyz. Stopping sends SIGTERM (a graceful stop: finish the batch,
 * commit, leave the group) and SIGKILL only if it outlives its shutdown timeout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the ops port once the service listens; rejects if it exits first. */
  readonly port: Promise<number>;
  /** Resolves when the process ended, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it ended. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export function startService(
  name: string,
  script: string,
  env: Readonly<Record<string, string>>,
  logFile: string,
): ServiceProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      log.end();
      resolve({ code, signal });
    }),
  );
  const port = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('ops endpoint listening')) return;
      try {
        const parsed = JSON.parse(line) as { port?: unknown };
        if (typeof parsed.port === 'number') resolve(parsed.port);
      } catch {
        // Not JSON: not the line we wait for.
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited (${code ?? signal}) before it listened; its log: ${logFile}`)),
    );
  });
  port.catch(() => {});
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    logFile,
    port,
    exited,
    stop(graceMs = 35_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Waits until the service's /readyz answers 200, failing early if it exits. */
export async function waitReady(service: ServiceProcess, timeoutMs: number): Promise<void> {
  const port = await service.port;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (service.child.exitCode !== null) {
      throw new Error(`${service.name} exited (${service.child.exitCode}); its log: ${service.logFile}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      last = await res.text();
      if (res.status === 200) return;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`${service.name} not ready after ${timeoutMs / 1000} s: ${last.slice(0, 300)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * One supervised process for `npm start` (run-pipeline.ts): restarted with capped backoff when it
 * exits on its own, its JSON log shown as readable lines with its name in front and kept whole in
 * a file, its ops port read from its log, and a graceful stop (SIGTERM, then SIGKILL after the
 * grace period).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** What a supervisor prints: one line each, to the terminal. */
export type Print = (line: string) => void;

export interface Supervised {
  readonly name: string;
  /** The ops port of the running process, once it logged it. */
  readonly port: number | undefined;
  /** Restarts so far. */
  readonly restarts: number;
  /** Stops it for good: SIGTERM, SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface SupervisedOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  readonly print: Print;
  /** Called with the ops port and the pid each time the process logs its port (a restart may get another). */
  readonly onPort?: (port: number, pid: number) => void;
  /** Whether to start it again when it exits on its own (default true). */
  readonly restart?: boolean;
}

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields every line has, left out of the readable view. */
const HIDDEN = new Set(['level', 'time', 'msg', 'service', 'instance', 'pid', 'hostname']);

/** A pino JSON line as `name HH:MM:SS LEVEL message key=value ...`; other text as it is. */
export function readableLine(name: string, line: string): string {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${name.padEnd(16)} ${line}`;
  }
  if (typeof parsed !== 'object' || parsed === null) return `${name.padEnd(16)} ${line}`;
  const time = typeof parsed.time === 'string' ? parsed.time.slice(11, 19) : '';
  const level = LEVELS[Number(parsed.level)] ?? String(parsed.level ?? '');
  const fields = Object.entries(parsed)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${name.padEnd(16)} ${time} ${level.padEnd(5)} ${String(parsed.msg ?? '')}${fields ? ` ${fields}` : ''}`;
}

/** Every supervised process alive: killed if the supervisor exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Backoff before restart number `n` (from 0): 1 s doubling to 30 s. */
export const restartDelayMs = (n: number): number => Math.min(30_000, 1_000 * 2 ** n);
/** A process that ran this long before exiting restarts after the shortest delay again. */
const STABLE_MS = 60_000;

export function supervise(o: SupervisedOptions): Supervised {
  const log: WriteStream = createWriteStream(o.logFile, { flags: 'a' });
  let child: ChildProcess | undefined;
  let port: number | undefined;
  let restarts = 0;
  let failures = 0;
  let stopping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function start(): void {
    const startedAt = Date.now();
    const c = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', ...o.args], {
      env: { PATH: process.env.PATH ?? '', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A group of its own: Ctrl-C reaches the supervisor alone, which stops each process once
      // (a service takes a second signal as "exit now").
      detached: true,
    });
    child = c;
    live.add(c);
    c.once('exit', () => live.delete(c));
    for (const stream of [c.stdout!, c.stderr!])
      createInterface({ input: stream }).on('line', (line) => {
        log.write(`${line}\n`);
        o.print(readableLine(o.name, line));
        if (!line.includes('ops endpoint listening')) return;
        try {
          const p = (JSON.parse(line) as { port?: unknown }).port;
          if (typeof p === 'number') {
            port = p;
            o.onPort?.(p, c.pid ?? 0);
          }
        } catch {
          // Not JSON: not the line that names the port.
        }
      });
    c.once('exit', (code, signal) => {
      child = undefined;
      port = undefined;
      if (stopping || o.restart === false) {
        if (!stopping) o.print(`${o.name.padEnd(16)} exited (${code ?? signal})`);
        return;
      }
      failures = Date.now() - startedAt >= STABLE_MS ? 0 : failures + 1;
      const delay = restartDelayMs(Math.max(0, failures - 1));
      o.print(`${o.name.padEnd(16)} exited (${code ?? signal}); restarting in ${delay / 1000} s`);
      timer = setTimeout(() => {
        restarts++;
        start();
      }, delay);
    });
  }
  start();

  return {
    name: o.name,
    get port() {
      return port;
    },
    get restarts() {
      return restarts;
    },
    stop(graceMs = 35_000) {
      stopping ??= (async () => {
        if (timer) clearTimeout(timer);
        const c = child;
        if (c && c.exitCode === null && c.signalCode === null) {
          const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
          c.kill('SIGTERM');
          const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(kill);
        }
        await new Promise<void>((resolve) => log.end(() => resolve()));
      })();
      return stopping;
    },
  };
}

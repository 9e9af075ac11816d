/**
 * Helpers of the Kafka benchmark (kafka.bench.ts): synthetic traffic, the engine as a child
 * process seen from outside (its JSON log, /proc figures, /metrics and /readyz), and small
 * statistics. Nothing here reaches into the engine's code: the benchmark must keep working
 * whatever changes inside it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { FeedbackEvent, MessageEvent } from '@spamgate/schemas';
import { type LogLine, type ServiceProcess, seededRandom, spawnService } from '@spamgate/test';

export const PARTITIONS = 12;

/** Partition of a sender on the sender-keyed topics (any stable hash works; both inputs use this one). */
export function partitionOf(sender: string): number {
  let h = 0;
  for (let i = 0; i < sender.length; i++) h = (Math.imul(h, 31) + sender.charCodeAt(i)) >>> 0;
  return h % PARTITIONS;
}

const TEMPLATES = [
  'Hi {n}, your package {c} is waiting: https://dl.example.com/{c}',
  'Reminder: appointment on {d} at {h}pm. Reply C to confirm',
  'hey {n} are we still on for tonight?',
  'URGENT {n}: your account is locked, verify at bit.ly/{c} now',
  'Polls close at 8pm today, {n}! Find your place: vote.example.org/{c}',
  'Your verification code is {c}. Do not share it with anyone.',
];

/** Long-code sender number k (k < 10,000,000) of a numbering range. */
export function senderAddress(k: number, range = '1202'): string {
  return `+${range}${String(k).padStart(7, '0')}`;
}

/**
 * Seeded traffic: senders drawn uniformly from `senders` numbers, bodies from a few templates
 * with personalisation, recipients random among 5 million.
 */
export function createTraffic(seed: number, senders: number) {
  const r = seededRandom(seed);
  let seq = 0;
  const pick = () => senderAddress(Math.floor(r() * senders));
  return {
    message(eventTime: number, sender = pick()): MessageEvent {
      const n = Math.floor(r() * 100_000);
      return {
        messageId: `m-${seed}-${seq++}`,
        eventTime,
        sender,
        senderKind: 'LONG_CODE',
        recipient: `+1303${String(Math.floor(r() * 5_000_000)).padStart(7, '0')}`,
        body: TEMPLATES[n % TEMPLATES.length]!.replace('{n}', `N${n % 997}`)
          .replaceAll('{c}', `x${(n * 7919) % 1_000_003}`)
          .replace('{d}', `12/${String(1 + (n % 28)).padStart(2, '0')}`)
          .replace('{h}', String(1 + (n % 11))),
        campaignId: null,
        originNetwork: null,
      };
    },
    feedback(eventTime: number, sender = pick()): FeedbackEvent {
      const x = r();
      return {
        feedbackId: `f-${seed}-${seq++}`,
        eventTime,
        kind: x < 0.7 ? 'DELIVERY_FAILURE' : x < 0.95 ? 'SPAM_REPORT' : 'SUBSCRIBER_BLOCK',
        sender,
        recipient: null,
        messageId: null,
        errorCode: x < 0.7 ? '34' : null,
      };
    },
    random: r,
  };
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) and peak resident set of a live process, from /proc (Linux). */
export function procStats(pid: number): { cpuSeconds: number; peakRssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks();
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds, peakRssBytes: hwm ? Number(hwm[1]) * 1024 : Number.NaN };
  } catch {
    return undefined;
  }
}

/** Sum over every label set of a Prometheus metric in exposition text; undefined if absent. */
export function metricValue(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const next = line[name.length];
    if (next !== ' ' && next !== '{') continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Time of a pino log line (ISO `time`), or now if it has none. */
export function logTime(line: LogLine): number {
  const t = typeof line.time === 'string' ? Date.parse(line.time) : Number.NaN;
  return Number.isNaN(t) ? Date.now() : t;
}

/** The engine exited or stopped making progress: a finding about the engine, not a fault of the bench. */
export class EngineFailedError extends Error {
  override name = 'EngineFailedError';
}

/** What a log line says in a few words: its message, and an error's message if it carries one. */
export function gist(line: LogLine): string {
  const err = line.err as { message?: unknown } | undefined;
  const detail =
    typeof err?.message === 'string' ? err.message : typeof line.error === 'string' ? line.error : '';
  return `${String(line.msg ?? '')}${detail ? `: ${detail}` : ''}`.slice(0, 160);
}

export interface EngineProcess {
  readonly name: string;
  readonly proc: ServiceProcess;
  readonly pid: number;
  /** Wall time the process was spawned, ms. */
  readonly spawnedAt: number;
  /** The ops endpoint's port, once the engine logged it. */
  opsPort(): Promise<number>;
  /** GET on the ops endpoint: status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** Log lines at warn or above so far. */
  problems(): LogLine[];
  /** Throws (with what the engine said) if it has exited. */
  assertAlive(): void;
  /** The last error or fatal line the engine logged, in a few words. */
  lastError(): string | undefined;
  /** SIGTERM, then SIGKILL after timeoutMs; resolves with how it ended. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

export function spawnEngine(name: string, env: Record<string, string>): EngineProcess {
  const spawnedAt = Date.now();
  const proc = spawnService(MAIN, env);
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error(`could not spawn the engine ${name}`);
  let port: Promise<number> | undefined;
  const engine: EngineProcess = {
    name,
    proc,
    pid,
    spawnedAt,
    opsPort() {
      port ??= proc
        .waitForLog((l) => l.msg?.startsWith('ops endpoint listening') === true && typeof l.port === 'number')
        .then((l) => Number(l.port));
      return port;
    },
    async get(path) {
      const res = await fetch(`http://127.0.0.1:${await engine.opsPort()}${path}`, {
        signal: AbortSignal.timeout(5_000),
      });
      return { status: res.status, body: await res.text() };
    },
    problems: () => proc.logs.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal'),
    assertAlive() {
      const { exitCode, signalCode } = proc.child;
      if (exitCode === null && signalCode === null) return;
      throw new EngineFailedError(
        `the engine exited (${exitCode ?? signalCode}): ${engine.lastError() ?? proc.stderr().slice(-500)}`,
      );
    },
    lastError() {
      const problems = engine.problems();
      const last =
        problems.findLast((l) => l.level === 'fatal') ?? problems.findLast((l) => l.level === 'error');
      return last ? gist(last) : undefined;
    },
    async stop(timeoutMs = 60_000) {
      const started = Date.now();
      const { exitCode, signalCode } = proc.child;
      if (exitCode === null && signalCode === null) {
        proc.child.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill(), timeoutMs);
        try {
          await proc.exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return { ...(await proc.exited), ms: Date.now() - started };
    },
  };
  return engine;
}

/** q-quantile (0..1) of ascending numbers, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every intervalMs until it returns a value, or throws after timeoutMs naming `what`. */
export async function until<T>(
  what: string | (() => string),
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await sleep(intervalMs);
  }
}

export const fmt = {
  int: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a'),
  fixed: (n: number, digits = 1) =>
    Number.isFinite(n)
      ? n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
      : 'n/a',
  mib: (bytes: number) =>
    Number.isFinite(bytes) ? `${Math.round(bytes / 1_048_576).toLocaleString('en')} MiB` : 'n/a',
};

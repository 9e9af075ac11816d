/**
 * Helpers of the Kafka benchmark (kafka.bench.ts): synthetic traffic, the engine as a child
 * process seen from outside (its JSON log, /proc figures, /metrics and /readyz), and small
 * statistics. Nothing here reaches into the engine's code: the benchmark must keep working
 * whatever changes inside it.
 */
import type { FeedbackEvent, MessageEvent } from '@spamgate/schemas';
import { gist, type LogLine, type ServiceProcess, seededRandom, spawnService } from '@spamgate/test';

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

/** The engine exited or stopped making progress: a finding about the engine, not a fault of the bench. */
export class EngineFailedError extends Error {
  override name = 'EngineFailedError';
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

/**
 * Graceful shutdown. Components register a stop step as they start; on SIGTERM or SIGINT the
 * steps run in reverse order (stop fetching, finish the in-flight batch and commit, flush,
 * disconnect), the whole bounded by a timeout. A second signal, or the timeout, exits at once
 * with a non-zero code.
 */
import { describeError, ShutdownTimeoutError } from './errors.ts';
import type { Logger } from './logger.ts';

export interface Lifecycle {
  /** Registers a step; steps run last-registered first. */
  onShutdown(name: string, step: () => Promise<void> | void): void;
  /** Runs every step once; later calls return the same promise. Resolves to the exit code. */
  shutdown(reason: string): Promise<number>;
  /** Resolves once shutdown has begun (a signal arrived or shutdown() was called). */
  readonly stopping: Promise<string>;
  readonly isStopping: () => boolean;
  /** Installs SIGTERM and SIGINT handlers that shut down and then call `exit`. */
  installSignalHandlers(): void;
}

export interface LifecycleOptions {
  readonly logger: Logger;
  readonly timeoutMs: number;
  /** Called with the exit code once shutdown is over; default process.exit. */
  readonly exit?: (code: number) => void;
  readonly process?: Pick<NodeJS.Process, 'once' | 'on'>;
}

export function createLifecycle(options: LifecycleOptions): Lifecycle {
  const { logger, timeoutMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const proc = options.process ?? process;
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  let running: Promise<number> | undefined;
  let signalStopping!: (reason: string) => void;
  const stopping = new Promise<string>((resolve) => {
    signalStopping = resolve;
  });

  async function runSteps(): Promise<number> {
    let code = 0;
    for (const { name, step } of [...steps].reverse()) {
      const started = Date.now();
      try {
        await step();
        logger.info({ step: name, ms: Date.now() - started }, 'shutdown step done');
      } catch (err) {
        code = 1;
        logger.error({ step: name, err: describeError(err) }, 'shutdown step failed');
      }
    }
    return code;
  }

  function shutdown(reason: string): Promise<number> {
    if (running) return running;
    logger.info({ reason, timeoutMs }, 'shutting down');
    signalStopping(reason);
    const pending = new Set(steps.map((s) => s.name));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        const err = new ShutdownTimeoutError(timeoutMs, [...pending]);
        logger.error({ err: describeError(err) }, 'shutdown timed out');
        resolve(1);
      }, timeoutMs);
      timer.unref();
    });
    const work = runSteps().finally(() => {
      pending.clear();
      clearTimeout(timer);
    });
    running = Promise.race([work, timeout]);
    return running;
  }

  return {
    onShutdown(name, step) {
      steps.push({ name, step });
    },
    shutdown,
    stopping,
    isStopping: () => running !== undefined,
    installSignalHandlers() {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        proc.on(signal, () => {
          if (running) {
            logger.warn({ signal }, 'second signal during shutdown; exiting now');
            exit(130);
            return;
          }
          void shutdown(signal).then((code) => {
            logger.info({ code }, 'exiting');
            logger.flush?.();
            exit(code);
          });
        });
      }
    },
  };
}

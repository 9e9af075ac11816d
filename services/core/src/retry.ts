/** Capped exponential backoff with full jitter, bounded by a deadline (ms since epoch). */
export interface RetryOptions {
  readonly deadline: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Only errors for which this returns true are retried; default: all. */
  readonly isRetriable?: (err: unknown) => boolean;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Builds the error thrown when the deadline passes; default: the last error. */
  readonly onGiveUp?: (lastError: unknown) => Error;
  readonly signal?: AbortSignal;
  /** Random source in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  const random = options.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (options.isRetriable && !options.isRetriable(err)) throw err;
      const delay = backoffDelay(attempt, initial, max, random);
      if (options.signal?.aborted || Date.now() + delay > options.deadline) {
        throw options.onGiveUp ? options.onGiveUp(err) : err;
      }
      options.onRetry?.(err, attempt + 1, delay);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
}

/**
 * A configuration file the engine re-reads when it changes (policy, shadow policy,
 * Do-Not-Originate list). A change is applied only if it loads and validates; otherwise the
 * error is reported and the value in use stays: an invalid file never replaces a valid one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface Reloadable<T> {
  current(): T;
  /** Re-reads the file now; returns whether the value changed. */
  check(): boolean;
  stop(): void;
}

function digest(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

export function reloadable<T>(options: {
  readonly path: string;
  /** Loads and validates; throws on a bad file. Called once at creation (and then throws to the caller). */
  readonly load: (path: string) => T;
  readonly intervalMs: number;
  readonly onChange: (value: T, previous: T) => void;
  readonly onError: (err: unknown) => void;
}): Reloadable<T> {
  let value = options.load(options.path);
  let seen = digest(options.path);
  const check = (): boolean => {
    const d = digest(options.path);
    if (d === seen) return false;
    seen = d;
    let next: T;
    try {
      next = options.load(options.path);
    } catch (err) {
      options.onError(err);
      return false;
    }
    const previous = value;
    value = next;
    options.onChange(next, previous);
    return true;
  };
  const timer = setInterval(check, options.intervalMs);
  timer.unref();
  return { current: () => value, check, stop: () => clearInterval(timer) };
}

/**
 * When a partition task's transaction runs, apart from when its input is processed: one commit
 * at a time, each taking whatever accumulated while the previous one ran, at most one per
 * interval unless flushed. Processing never waits for the broker, and a slow transaction delays
 * only the records it covers. The commit itself (what goes in it, how a failure is handled) is
 * the service's. See ARCHITECTURE.md, "The service runtime".
 */
export interface CommitSchedule {
  /** Asks for a commit: when the interval since the last one ends, or after the one running. */
  request(): void;
  /** Whether a commit is running or waiting for its turn. */
  readonly busy: boolean;
  /** Settles once no commit runs or waits (a failure goes to onFailure, never here). */
  idle(): Promise<void>;
  /** Commits what is pending now, without waiting for the interval, and settles when done. */
  flush(): Promise<void>;
}

export interface CommitScheduleOptions {
  /** Least time between the starts of two commits, ms; 0 runs them back to back. */
  readonly intervalMs: number;
  /** One transaction: takes everything pending synchronously before its first await. */
  readonly commit: () => Promise<void>;
  /** A commit threw: the schedule stops repeating; the service restores or drops the task. */
  readonly onFailure: (err: unknown) => Promise<void> | void;
  readonly now?: () => number;
}

export function createCommitSchedule(options: CommitScheduleOptions): CommitSchedule {
  const now = options.now ?? Date.now;
  let running: Promise<void> | undefined;
  let again = false;
  let lastStart = Number.NEGATIVE_INFINITY;
  /** Ends the current wait for the interval early (flush). */
  let cutWait: (() => void) | undefined;
  let hurry = false;

  function waitForTurn(): Promise<void> {
    const wait = lastStart + options.intervalMs - now();
    if (wait <= 0 || hurry) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        cutWait = undefined;
        resolve();
      }
      cutWait = done;
    });
  }

  async function loop(): Promise<void> {
    try {
      do {
        await waitForTurn();
        again = false;
        lastStart = now();
        await options.commit();
      } while (again);
    } catch (err) {
      again = false;
      await options.onFailure(err);
    } finally {
      running = undefined;
    }
  }

  function request(): void {
    if (running) {
      again = true;
      return;
    }
    running = loop();
  }

  return {
    request,
    get busy() {
      return running !== undefined;
    },
    async idle() {
      while (running) await running;
    },
    async flush() {
      hurry = true;
      try {
        request();
        cutWait?.();
        await this.idle();
      } finally {
        hurry = false;
      }
    },
  };
}

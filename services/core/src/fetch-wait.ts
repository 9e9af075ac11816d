/**
 * Consumer fetch settings that let input gather for up to waitMs (or until 1 MiB is there), as
 * Kafka's fetch.max.wait.ms with fetch.min.bytes: without them, a consumer that keeps up fetches
 * again the moment one record arrives, and pays a request and a batch's handling per few records.
 * See ARCHITECTURE.md, "The service runtime".
 */

/** A fetch never waits longer than this: a shutdown waits for the fetch in flight. */
const LONGEST_WAIT_MS = 1_000;

export function fetchWait(waitMs: number): { minBytes: number; maxWaitTimeInMs: number } {
  return waitMs > 0
    ? { minBytes: 1_048_576, maxWaitTimeInMs: Math.min(waitMs, LONGEST_WAIT_MS) }
    : { minBytes: 1, maxWaitTimeInMs: LONGEST_WAIT_MS };
}

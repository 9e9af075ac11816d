/**
 * How many messages a sender had delivered in the last minute and the last hour: the counter a
 * THROTTLE's limits are checked against ("at most r in any sliding minute"). Times must arrive in
 * order; older ones are dropped as the window slides.
 */
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface SlidingCount {
  /** Delivered messages in (time - 1 min, time] and (time - 1 h, time]. */
  at(time: number): { readonly minute: number; readonly hour: number };
  add(time: number): void;
}

export function createSlidingCount(): SlidingCount {
  // A ring of times within the last hour; `head` is the oldest kept.
  let times: number[] = [];
  let head = 0;
  let minuteHead = 0;
  const slide = (time: number) => {
    while (head < times.length && times[head]! <= time - HOUR_MS) head++;
    if (minuteHead < head) minuteHead = head;
    while (minuteHead < times.length && times[minuteHead]! <= time - MINUTE_MS) minuteHead++;
    if (head > 1024 && head * 2 > times.length) {
      times = times.slice(head);
      minuteHead -= head;
      head = 0;
    }
  };
  return {
    at(time) {
      slide(time);
      return { minute: times.length - minuteHead, hour: times.length - head };
    },
    add(time) {
      slide(time);
      times.push(time);
    },
  };
}

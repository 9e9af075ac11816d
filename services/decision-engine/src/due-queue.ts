/** A min-heap of (time, sender): when each sender's decision next needs a look without new input. */
export interface DueQueue {
  push(at: number, sender: string): void;
  /** Removes and returns every entry due at or before `now`, earliest first. */
  popDue(now: number): { at: number; sender: string }[];
  readonly size: number;
}

export function createDueQueue(): DueQueue {
  const heap: { at: number; sender: string }[] = [];
  const less = (i: number, j: number) => heap[i]!.at < heap[j]!.at;
  const swap = (i: number, j: number) => {
    const t = heap[i]!;
    heap[i] = heap[j]!;
    heap[j] = t;
  };
  return {
    push(at, sender) {
      heap.push({ at, sender });
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!less(i, parent)) break;
        swap(i, parent);
        i = parent;
      }
    },
    popDue(now) {
      const out: { at: number; sender: string }[] = [];
      while (heap.length > 0 && heap[0]!.at <= now) {
        out.push(heap[0]!);
        const last = heap.pop()!;
        if (heap.length === 0) break;
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && less(l, m)) m = l;
          if (r < heap.length && less(r, m)) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      }
      return out;
    },
    get size() {
      return heap.length;
    },
  };
}

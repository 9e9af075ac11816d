/**
 * A binary min-heap of (deadline, cluster id), ordered by deadline then id, so clusters that fall
 * due at the same watermark are always visited in the same order. Parallel arrays: an entry costs
 * two slots, not an object.
 */
export class DeadlineQueue {
  readonly #deadlines: number[] = [];
  readonly #ids: string[] = [];

  get size(): number {
    return this.#ids.length;
  }

  /** The earliest deadline; Infinity when empty. */
  peek(): number {
    return this.#deadlines.length > 0 ? this.#deadlines[0]! : Number.POSITIVE_INFINITY;
  }

  push(deadline: number, id: string): void {
    const d = this.#deadlines;
    const ids = this.#ids;
    let i = d.length;
    d.push(deadline);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(deadline, id, d[parent]!, ids[parent]!)) break;
      d[i] = d[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    d[i] = deadline;
    ids[i] = id;
  }

  /** Removes and returns the earliest entry; undefined when empty. */
  pop(): { deadline: number; id: string } | undefined {
    const d = this.#deadlines;
    const ids = this.#ids;
    if (d.length === 0) return undefined;
    const top = { deadline: d[0]!, id: ids[0]! };
    const lastD = d.pop()!;
    const lastId = ids.pop()!;
    const n = d.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && before(d[child + 1]!, ids[child + 1]!, d[child]!, ids[child]!)) child++;
        if (!before(d[child]!, ids[child]!, lastD, lastId)) break;
        d[i] = d[child]!;
        ids[i] = ids[child]!;
        i = child;
      }
      d[i] = lastD;
      ids[i] = lastId;
    }
    return top;
  }
}

function before(d1: number, id1: string, d2: number, id2: string): boolean {
  return d1 < d2 || (d1 === d2 && id1 < id2);
}

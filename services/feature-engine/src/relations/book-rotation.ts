/**
 * Moving relation books to a new hash key as their numbers are seen again, during a key rotation:
 * a book under the previous key joins its owner's book under the new one, and an entry under the
 * previous key moves to the new key when its counterpart is next seen. Pure; the partition
 * processor decides when. docs/key-rotation.md has the design, ARCHITECTURE.md "Feature engine
 * state" the books.
 */
import type { RelationBook, RelationOptions } from './relation-book.ts';

/**
 * Moves everything of `from`, a book whose id and entries are under the previous key, into
 * `into`, the same address's book under the new key: its entries keep their previous-key keys and
 * are marked so (RelationBook.previousKeyed) until rekeyEntry moves them.
 */
export function adoptPreviousBook(into: RelationBook, from: RelationBook, o: RelationOptions): void {
  into.previousKeyed ??= new Set();
  const marked = into.previousKeyed;
  // Older first, so that what `into` already holds (newer: written under the new key) stays last.
  const counterparts = [...from.counterparts, ...into.counterparts];
  into.counterparts.clear();
  for (const [key, c] of counterparts) {
    if (into.counterparts.has(key)) continue;
    into.counterparts.set(key, c);
  }
  for (const [key] of from.counterparts) marked.add(key);
  const optOuts = [...from.optOuts, ...into.optOuts];
  into.optOuts.clear();
  for (const [key, opt] of optOuts) if (!into.optOuts.has(key)) into.optOuts.set(key, opt);
  for (const [key] of from.optOuts) marked.add(key);
  while (into.counterparts.size > o.maxCounterparts)
    into.counterparts.delete(into.counterparts.keys().next().value as number);
  while (into.optOuts.size > o.maxOptOuts) into.optOuts.delete(into.optOuts.keys().next().value as number);
  into.violations.push(...from.violations);
  into.violations.sort((a, b) => a - b);
  if (into.violations.length > o.maxViolations)
    into.violations.splice(0, into.violations.length - o.maxViolations);
  if (from.latestMs > into.latestMs) into.latestMs = from.latestMs;
  into.owner ??= from.owner;
  dropUnmarked(into);
}

/** max that treats NaN as absent. */
const later = (a: number, b: number): number => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));

/**
 * Moves the counterpart and the opt-out held under `previousKey` (the previous hash key's key of
 * the number whose new key is `key`) to `key`, if the book holds them under the previous key.
 * What is already under `key` is merged with it: the later of each time, the earlier opt-out.
 */
export function rekeyEntry(book: RelationBook, key: number, previousKey: number): void {
  const marked = book.previousKeyed;
  if (marked === undefined || !marked.delete(previousKey)) return;
  const old = book.counterparts.get(previousKey);
  if (old !== undefined) {
    book.counterparts.delete(previousKey);
    const held = book.counterparts.get(key);
    if (held === undefined) book.counterparts.set(key, old);
    else {
      const newer = !(old.sentMs > held.sentMs);
      held.prevSentMs = later(held.prevSentMs, newer ? old.sentMs : old.prevSentMs);
      if (!newer) {
        held.sentMs = old.sentMs;
        held.clusterId = old.clusterId;
      }
      held.heardMs = later(held.heardMs, old.heardMs);
      held.answeredMs = later(held.answeredMs, old.answeredMs);
      held.optOutAnsweredMs = later(held.optOutAnsweredMs, old.optOutAnsweredMs);
    }
  }
  const opt = book.optOuts.get(previousKey);
  if (opt !== undefined) {
    book.optOuts.delete(previousKey);
    const held = book.optOuts.get(key);
    if (held === undefined || opt.ms < held.ms) book.optOuts.set(key, opt);
  }
  if (marked.size === 0) book.previousKeyed = undefined;
}

/** Marks every entry of a book as under the previous key: a book re-keyed by its clear address only. */
export function markAllPrevious(book: RelationBook): void {
  book.previousKeyed ??= new Set();
  const marked = book.previousKeyed;
  for (const key of book.counterparts.keys()) marked.add(key);
  for (const key of book.optOuts.keys()) marked.add(key);
  if (marked.size === 0) book.previousKeyed = undefined;
}

/** Opt-outs of the book still under the previous key: all of them for a book not yet moved. */
export function previousKeyedOptOuts(book: RelationBook, underPreviousKey: boolean): number {
  if (underPreviousKey) return book.optOuts.size;
  const marked = book.previousKeyed;
  if (marked === undefined) return 0;
  let n = 0;
  for (const key of book.optOuts.keys()) if (marked.has(key)) n++;
  return n;
}

/** Forgets marks of entries the book no longer holds (forgotten, capped or expired). */
export function dropUnmarked(book: RelationBook): void {
  const marked = book.previousKeyed;
  if (marked === undefined) return;
  for (const key of marked) if (!book.counterparts.has(key) && !book.optOuts.has(key)) marked.delete(key);
  if (marked.size === 0) book.previousKeyed = undefined;
}

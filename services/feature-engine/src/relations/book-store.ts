/**
 * A partition's relation books (relation-book.ts): held by book id, small ones packed between
 * batches, written to the changelog when changed, expired, shed under memory pressure, restored,
 * re-keyed from an earlier release's clear keys, and moved to a new hash key during a rotation
 * (book-rotation.ts). The partition processor owns one. ARCHITECTURE.md, "Feature engine state".
 */
import type { WindowSpec } from '../windows/window-spec.ts';
import {
  decodeRelationBook,
  encodeRelationBook,
  packedBookLatestMs,
  relationBookCounterparts,
  relationBookKeyTag,
} from './book-codec.ts';
import {
  adoptPreviousBook,
  dropUnmarked,
  markAllPrevious,
  previousKeyedOptOuts,
  rekeyEntry,
} from './book-rotation.ts';
import {
  counterpartKey,
  createRelationBook,
  forgetExpiredRelations,
  isBookId,
  isEmptyBook,
  type RelationBook,
  type RelationOptions,
  UNTAGGED,
} from './relation-book.ts';

/**
 * Changelog key of a relation book: its book id (a keyed hash, never the number) after a NUL and
 * "r" (addresses never hold control characters, the shell refuses them, so it cannot collide with
 * a sender or with PARTITION_META_KEY). A release before book ids wrote the clear address there
 * instead; a restore re-keys such a book and deletes the old key at the next commit.
 */
export const RELATION_KEY_PREFIX = '\u0000r';

/** Books with more counterparts than this stay decoded between batches; smaller ones are packed. */
const PACKED_BOOK_MAX_COUNTERPARTS = 64;

/** Estimated heap bytes of a relation book: packed (its Latin-1 string) or decoded (its maps). */
export function relationBookBytes(book: RelationBook | string): number {
  if (typeof book === 'string') return 100 + book.length;
  return 300 + 120 * book.counterparts.size + 90 * book.optOuts.size + 9 * book.violations.length;
}

/** What the store needs of the processor's options (ProcessorOptions). */
export interface BookStoreOptions {
  readonly windows: readonly WindowSpec[];
  readonly relations: RelationOptions;
  readonly bookId: (address: string) => string;
  readonly keyTag: number;
  readonly previousKey?: { readonly tag: number; readonly bookId: (address: string) => string };
}

/** The previous key's hashes of the two sides of an exchange, during a rotation. */
export interface PreviousKeys {
  /** The book's id under the previous key. */
  readonly book: string;
  /** The counterpart's hash halves under the previous key. */
  readonly counterpartHi: number;
  readonly counterpartLo: number;
}

/** A hash-key rotation under way in the partition (docs/key-rotation.md). */
export interface RotationStatus {
  /** The watermark when it began. */
  readonly sinceMs: number;
  /** Books still under their id of the previous key. */
  readonly previousBooks: number;
  /** Opt-outs still keyed under the previous key: the rotation ends when none are left. */
  readonly previousOptOuts: number;
}

export interface BookStore {
  readonly size: number;
  /** Estimated heap bytes of the books not opened since the last takeChanged. */
  readonly bytes: number;
  /**
   * The book `id` (under the current key) to change, created if absent, after moving into it what
   * a rotation left under `previous.book`; then the entry of counterpart `key` moves from its
   * previous-key key. The sender's own book names the sender as its owner (`owner`).
   */
  open(id: string, key: number, previous: PreviousKeys | undefined, owner?: string): RelationBook;
  /** The id of a sender's book (cached for the senders of the running batch). */
  idOf(sender: string): string;
  /** Forgets the cached ids: a drain published what read them. */
  clearIds(): void;
  /** The book with this id to read, without marking it changed. */
  read(id: string): RelationBook | undefined;
  /**
   * A sender's book for its features: during a rotation, its book under the previous key is moved
   * first, so a sender that has not sent since keeps its replies and opt-outs.
   */
  readForFeatures(sender: string): RelationBook | undefined;
  /** Forgets what `watermark` has left behind in books idle past every look-back. */
  expire(watermark: number): void;
  /** Drops the least recently active books `eligible` accepts until `target` bytes are freed. */
  shed(
    target: number,
    eligible: (book: RelationBook, ownerHeld: boolean) => boolean,
  ): { freed: number; books: number };
  /** Changelog records of the books changed, dropped or re-keyed since the last call. */
  takeChanged(out: { key: string; value: Uint8Array | null }[]): void;
  /** A changelog record of a book: `rest` is the key after RELATION_KEY_PREFIX. */
  restore(rest: string, bytes: Uint8Array): void;
  /** A changelog tombstone of a book. */
  forget(rest: string): void;
  /** After a restore: a rotation under way since `sinceMs`, or none. */
  setRotation(sinceMs: number | undefined): void;
  readonly rotation: RotationStatus | undefined;
  /** Ends the rotation when no opt-out is left under the previous key, or the retention passed. */
  endRotationIfDone(watermark: number): boolean;
}

/** `senderHeld` says whether an address has sender state: only then is a book's owner written. */
export function createBookStore(
  options: BookStoreOptions,
  senderHeld: (address: string) => boolean,
): BookStore {
  /** Decoded, or (small ones between batches) their bytes as a Latin-1 string. */
  const books = new Map<string, RelationBook | string>();
  /** Books opened since the last takeChanged; their size is out of `bytes` until then. */
  const changedBooks = new Set<string>();
  const droppedBooks = new Set<string>();
  /** Clear-address book keys of an earlier release, restored under their id: deleted at the next commit. */
  const legacyBookKeys = new Set<string>();
  /** Ids whose book came from such a key, and no book-id record since: a tombstone of it drops them. */
  const fromLegacy = new Set<string>();
  let bytes = 0;
  /** Restored books tagged other than options.keyTag (or untagged): what setRotation sorts out. */
  const foreignTags = new Map<string, number>();
  /** During a rotation: when it began, books still under their previous-key id, and opt-outs left. */
  let rotationSince: number | undefined;
  const previousBooks = new Set<string>();
  const previousOptOuts = new Map<string, number>();
  const longestWindowMs = Math.max(...options.windows.map((w) => w.lengthMs));
  const horizonMs = Math.max(
    options.relations.contactLookbackMs,
    options.relations.replyDelayMs,
    longestWindowMs,
  );
  /**
   * Book ids of the senders that sent since the last drain, which publishes most of them: their
   * features read their books, and a keyed hash per publication cost about a tenth of the
   * engine's time. Cleared by every drain, so it holds one batch's senders at most.
   */
  const recentIds = new Map<string, string>();
  const idOf = (sender: string): string => recentIds.get(sender) ?? options.bookId(sender);

  /** The book with this id, decoded and marked changed (created when `create`). */
  function openBook(id: string, create: boolean): RelationBook | undefined {
    const held = books.get(id);
    if (held === undefined && !create) return undefined;
    if (!changedBooks.has(id)) {
      if (held !== undefined) bytes -= relationBookBytes(held);
      changedBooks.add(id);
    }
    droppedBooks.delete(id);
    if (typeof held === 'object') return held;
    let book: RelationBook;
    if (held === undefined) {
      book = createRelationBook();
      book.keyTag = options.keyTag;
    } else book = decodeRelationBook(Buffer.from(held, 'latin1'));
    books.set(id, book);
    return book;
  }

  /** A book gone from the partition: nothing of it is under the previous key any more. */
  function gone(id: string): void {
    foreignTags.delete(id);
    previousBooks.delete(id);
    previousOptOuts.delete(id);
  }

  /** The book `id`, opened and created, after moving into it the same address's book under `previousId`. */
  function openCurrent(id: string, previousId: string | undefined): RelationBook {
    if (previousId === undefined || previousId === id || !previousBooks.has(previousId))
      return openBook(id, true)!;
    const from = openBook(previousId, false)!;
    const into = openBook(id, true)!;
    adoptPreviousBook(into, from, options.relations);
    into.keyTag = options.keyTag;
    books.delete(previousId);
    changedBooks.delete(previousId); // its size is out of `bytes` already
    droppedBooks.add(previousId);
    gone(previousId);
    return into;
  }

  const read = (id: string): RelationBook | undefined => {
    const held = books.get(id);
    return typeof held === 'string' ? decodeRelationBook(Buffer.from(held, 'latin1')) : held;
  };
  const ownerHeld = (book: RelationBook): boolean => book.owner !== undefined && senderHeld(book.owner);
  const latestOf = (held: RelationBook | string): number =>
    typeof held === 'object' ? held.latestMs : packedBookLatestMs(held);

  /**
   * A book an earlier release keyed by the clear address: held under the address's id, with the
   * address as its owner in memory (takeChanged writes it only if the address has sender state),
   * and re-written under the id at the next commit, which also deletes the clear key. Of two books
   * of one address (a partition moved back and forth across an upgrade) the newer is kept.
   */
  function restoreLegacy(address: string, encoded: Uint8Array): void {
    const id = options.bookId(address);
    const book = decodeRelationBook(encoded);
    const held = books.get(id);
    if (held !== undefined && latestOf(held) > book.latestMs) {
      legacyBookKeys.add(address);
      return;
    }
    if (held !== undefined && !changedBooks.has(id)) bytes -= relationBookBytes(held);
    book.owner = address;
    books.set(id, book);
    changedBooks.add(id); // its size stays out of `bytes` until takeChanged
    droppedBooks.delete(id);
    fromLegacy.add(id);
    legacyBookKeys.add(address);
  }

  /** One changed book's record, or a tombstone when it emptied. */
  function written(id: string, book: RelationBook, out: { key: string; value: Uint8Array | null }[]): void {
    forgetExpiredRelations(book, options.windows, options.relations);
    fromLegacy.delete(id);
    if (isEmptyBook(book)) {
      books.delete(id);
      droppedBooks.add(id);
      gone(id);
      return;
    }
    const underPrevious = previousBooks.has(id);
    if (rotationSince === undefined) book.previousKeyed = undefined;
    else dropUnmarked(book);
    // An untagged book is under the key it was written with: the previous one in a rotation.
    if (book.keyTag === UNTAGGED) book.keyTag = underPrevious ? options.previousKey!.tag : options.keyTag;
    if (rotationSince !== undefined) {
      const left = previousKeyedOptOuts(book, underPrevious);
      if (left > 0) previousOptOuts.set(id, left);
      else previousOptOuts.delete(id);
    }
    // The owner is written only while it has sender state: a book restored from a clear key
    // holds that address, which may be one that only ever received.
    const encoded = encodeRelationBook(book, ownerHeld(book), rotationSince !== undefined);
    const kept = book.counterparts.size <= PACKED_BOOK_MAX_COUNTERPARTS ? encoded.toString('latin1') : book;
    books.set(id, kept);
    bytes += relationBookBytes(kept);
    out.push({ key: RELATION_KEY_PREFIX + id, value: encoded });
  }

  return {
    get size() {
      return books.size;
    },
    get bytes() {
      return bytes;
    },
    open(id, key, previous, owner) {
      const rotating = rotationSince !== undefined ? previous : undefined;
      if (owner !== undefined) recentIds.set(owner, id);
      const book = openCurrent(id, rotating?.book);
      if (owner !== undefined) book.owner = owner;
      if (rotating !== undefined && book.previousKeyed !== undefined)
        rekeyEntry(book, key, counterpartKey(rotating.counterpartHi, rotating.counterpartLo));
      return book;
    },
    idOf,
    clearIds() {
      recentIds.clear();
    },
    read,
    readForFeatures(sender) {
      const id = idOf(sender);
      if (previousBooks.size > 0 && !books.has(id) && options.previousKey !== undefined) {
        const previousId = options.previousKey.bookId(sender);
        if (previousBooks.has(previousId)) openCurrent(id, previousId);
      }
      return read(id);
    },
    expire(watermark) {
      for (const [id, held] of books) {
        if (watermark - latestOf(held) <= horizonMs) continue;
        forgetExpiredRelations(openBook(id, false)!, options.windows, options.relations, watermark);
      }
    },
    shed(target, eligible) {
      if (target <= 0) return { freed: 0, books: 0 };
      const candidates: { id: string; latest: number }[] = [];
      for (const [id, held] of books) {
        const book = typeof held === 'object' ? held : decodeRelationBook(Buffer.from(held, 'latin1'));
        if (eligible(book, ownerHeld(book))) candidates.push({ id, latest: book.latestMs });
      }
      candidates.sort((a, b) => a.latest - b.latest || (a.id < b.id ? -1 : 1));
      let freed = 0;
      let count = 0;
      for (const { id } of candidates) {
        if (freed >= target) break;
        const held = books.get(id)!;
        // A book opened since the last takeChanged has its size out of `bytes` already.
        if (!changedBooks.delete(id)) {
          const size = relationBookBytes(held);
          bytes -= size;
          freed += size;
        }
        books.delete(id);
        fromLegacy.delete(id);
        droppedBooks.add(id);
        gone(id);
        count++;
      }
      return { freed, books: count };
    },
    takeChanged(out) {
      for (const id of [...changedBooks].sort()) {
        const book = books.get(id);
        if (typeof book === 'object') written(id, book, out);
      }
      for (const id of [...droppedBooks].sort()) out.push({ key: RELATION_KEY_PREFIX + id, value: null });
      // After the books under their ids, in the same transaction: a restore that reads both
      // keeps the id's.
      for (const address of [...legacyBookKeys].sort())
        out.push({ key: RELATION_KEY_PREFIX + address, value: null });
      changedBooks.clear();
      droppedBooks.clear();
      legacyBookKeys.clear();
    },
    restore(id, encoded) {
      if (!isBookId(id)) {
        restoreLegacy(id, encoded);
        return;
      }
      const held = books.get(id);
      if (changedBooks.delete(id))
        fromLegacy.delete(id); // a legacy book restored under this id: superseded
      else if (held !== undefined) bytes -= relationBookBytes(held);
      const kept =
        relationBookCounterparts(encoded) <= PACKED_BOOK_MAX_COUNTERPARTS
          ? Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength).toString('latin1')
          : decodeRelationBook(encoded);
      books.set(id, kept);
      bytes += relationBookBytes(kept);
      // Only a rotation asks which books are under another key: without a previous key, none.
      if (options.previousKey !== undefined) {
        const tag = relationBookKeyTag(encoded);
        if (tag === options.keyTag) foreignTags.delete(id);
        else foreignTags.set(id, tag);
      }
    },
    forget(rest) {
      const legacy = !isBookId(rest);
      const id = legacy ? options.bookId(rest) : rest;
      // A clear key's tombstone drops only the book restored from that key, not a newer id's;
      // the key itself is deleted already.
      if (legacy) legacyBookKeys.delete(rest);
      if (legacy && !fromLegacy.has(id)) return;
      const held = books.get(id);
      if (held === undefined) return;
      if (changedBooks.delete(id)) fromLegacy.delete(id);
      else bytes -= relationBookBytes(held);
      books.delete(id);
      gone(id);
    },
    setRotation(sinceMs) {
      rotationSince = sinceMs;
      previousBooks.clear();
      previousOptOuts.clear();
      if (sinceMs !== undefined) {
        const previous = options.previousKey;
        if (previous === undefined) throw new Error('a rotation needs ProcessorOptions.previousKey');
        for (const [id, tag] of foreignTags)
          if (tag === UNTAGGED || tag === previous.tag) previousBooks.add(id);
        // Books of a release before book ids, re-keyed by their clear address: the id is under
        // the new key already, their entries under the previous one.
        for (const id of fromLegacy) {
          const book = books.get(id);
          if (typeof book === 'object') markAllPrevious(book);
        }
        for (const id of books.keys()) {
          const left = previousKeyedOptOuts(read(id)!, previousBooks.has(id));
          if (left > 0) previousOptOuts.set(id, left);
        }
      }
      foreignTags.clear();
    },
    get rotation() {
      if (rotationSince === undefined) return undefined;
      let optOuts = 0;
      for (const n of previousOptOuts.values()) optOuts += n;
      return { sinceMs: rotationSince, previousBooks: previousBooks.size, previousOptOuts: optOuts };
    },
    endRotationIfDone(watermark) {
      if (rotationSince === undefined) return false;
      const retentionPassed = watermark - rotationSince > options.relations.optOutRetentionMs;
      if (previousOptOuts.size > 0 && !retentionPassed) return false;
      // What is left under the previous key can no longer be matched once the key is removed.
      for (const id of previousBooks) {
        const held = books.get(id);
        if (held !== undefined && !changedBooks.delete(id)) bytes -= relationBookBytes(held);
        books.delete(id);
        droppedBooks.add(id);
      }
      previousBooks.clear();
      previousOptOuts.clear();
      rotationSince = undefined;
      return true;
    },
  };
}

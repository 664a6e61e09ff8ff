import { compareOrderedKeys, type OrderedKey } from './key-order';

/** A position in a SortedKeys; valid until the next insert or remove. */
export interface Cursor {
  chunk: number;
  index: number;
}

const DEFAULT_CHUNK_SIZE = 1024;

/**
 * Entries kept in S3 key order as a list of sorted chunks (the layout of
 * Python's sortedcontainers): lookups are two binary searches, and an insert
 * or remove moves at most one chunk's worth of pointers, never the whole list.
 */
export class SortedKeys<T extends OrderedKey> {
  private chunks: T[][] = [];
  private count = 0;

  constructor(private readonly chunkSize = DEFAULT_CHUNK_SIZE) {}

  get size(): number {
    return this.count;
  }

  /** Replaces the contents with entries that are already sorted and unique. */
  loadSorted(entries: readonly T[]): void {
    const fill = Math.max(1, this.chunkSize >> 1);
    this.chunks = [];
    for (let i = 0; i < entries.length; i += fill) this.chunks.push(entries.slice(i, i + fill));
    this.count = entries.length;
  }

  get(key: OrderedKey): T | undefined {
    const at = this.lowerBound(key);
    const entry = this.at(at);
    return entry && compareOrderedKeys(entry, key) === 0 ? entry : undefined;
  }

  /** Inserts an entry whose key is not present yet. */
  insert(entry: T): void {
    if (this.chunks.length === 0) {
      this.chunks.push([entry]);
      this.count = 1;
      return;
    }
    let chunkIndex = this.firstChunkWhereLastIsNotBelow(entry);
    if (chunkIndex === this.chunks.length) chunkIndex--;
    const chunk = this.chunks[chunkIndex];
    chunk.splice(lowerBoundIn(chunk, entry), 0, entry);
    this.count++;
    if (chunk.length > this.chunkSize) {
      this.chunks.splice(chunkIndex + 1, 0, chunk.splice(chunk.length >> 1));
    }
  }

  /** Removes the entry with this key; returns false when it was absent. */
  remove(key: OrderedKey): boolean {
    const at = this.lowerBound(key);
    const entry = this.at(at);
    if (!entry || compareOrderedKeys(entry, key) !== 0) return false;
    const chunk = this.chunks[at.chunk];
    chunk.splice(at.index, 1);
    if (chunk.length === 0) this.chunks.splice(at.chunk, 1);
    this.count--;
    return true;
  }

  /** Cursor at the first entry not below `key`. */
  lowerBound(key: OrderedKey): Cursor {
    return this.partitionPoint((e) => compareOrderedKeys(e, key) < 0);
  }

  /** Cursor at the first entry above `key`. */
  upperBound(key: OrderedKey): Cursor {
    return this.partitionPoint((e) => compareOrderedKeys(e, key) <= 0);
  }

  /**
   * Cursor at the first entry for which `before` is false, where `before` is
   * true for a (possibly empty) leading run of entries and false afterwards.
   */
  partitionPoint(before: (entry: T) => boolean): Cursor {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid];
      if (before(chunk[chunk.length - 1])) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.chunks.length) return { chunk: lo, index: 0 };
    const chunk = this.chunks[lo];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (before(chunk[mid])) a = mid + 1;
      else b = mid;
    }
    return { chunk: lo, index: a };
  }

  /** The entry under the cursor, or undefined at the end. */
  at(cursor: Cursor): T | undefined {
    return this.chunks[cursor.chunk]?.[cursor.index];
  }

  /** Moves the cursor to the next entry in place. */
  advance(cursor: Cursor): void {
    cursor.index++;
    if (cursor.index >= (this.chunks[cursor.chunk]?.length ?? 0)) {
      cursor.chunk++;
      cursor.index = 0;
    }
  }

  /** Cursor at the first entry. */
  start(): Cursor {
    return { chunk: 0, index: 0 };
  }

  /** The later of two cursors. */
  static later(a: Cursor, b: Cursor): Cursor {
    return a.chunk > b.chunk || (a.chunk === b.chunk && a.index >= b.index) ? a : b;
  }

  private firstChunkWhereLastIsNotBelow(key: OrderedKey): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid];
      if (compareOrderedKeys(chunk[chunk.length - 1], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBoundIn<T extends OrderedKey>(chunk: readonly T[], key: OrderedKey): number {
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOrderedKeys(chunk[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

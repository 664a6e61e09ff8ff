import { needsCodePointOrder, type OrderedKey } from './key-order';

/**
 * All versions of one key, packed four numbers per version into one array
 * (about 32 bytes a version) so that millions of versions fit in memory:
 *   [seq, lastModifiedMs, size, meta]
 * Records are appended oldest first, so `seq` ascends and "newest first" means
 * walking backwards. Removal only marks a record; the array is compacted once
 * removed records outnumber live ones, keeping each removal amortised O(1)
 * plus an O(log n) search.
 */

const STRIDE = 4;
const SEQ = 0;
const LAST_MODIFIED = 1;
const SIZE = 2;
const META = 3;

const FLAG_DELETE_MARKER = 1;
const FLAG_NULL_VERSION = 2;
const FLAG_REMOVED = 4;
const FLAG_BITS = 8;

/** One version as the rest of the model sees it. */
export interface VersionRecord {
  readonly seq: number;
  readonly lastModifiedMs: number;
  readonly size: number;
  readonly etagId: number;
  readonly isDeleteMarker: boolean;
  readonly isNullVersion: boolean;
}

export type NewVersion = Omit<VersionRecord, 'seq'>;

function packMeta(version: NewVersion): number {
  const flags = (version.isDeleteMarker ? FLAG_DELETE_MARKER : 0) | (version.isNullVersion ? FLAG_NULL_VERSION : 0);
  return version.etagId * FLAG_BITS + flags;
}

export class KeyVersions implements OrderedKey {
  readonly slowOrder: boolean;
  private records: number[] = [];
  private removed = 0;

  constructor(readonly key: string) {
    this.slowOrder = needsCodePointOrder(key);
  }

  get liveCount(): number {
    return this.records.length / STRIDE - this.removed;
  }

  /**
   * Builds a key from versions listed oldest first with ascending sequence
   * numbers, into an exactly sized array (push would leave growth slack).
   */
  static withVersions(key: string, firstSeq: number, versions: readonly NewVersion[]): KeyVersions {
    const entry = new KeyVersions(key);
    const records = new Array<number>(versions.length * STRIDE);
    versions.forEach((version, i) => {
      records[i * STRIDE + SEQ] = firstSeq + i;
      records[i * STRIDE + LAST_MODIFIED] = version.lastModifiedMs;
      records[i * STRIDE + SIZE] = version.size;
      records[i * STRIDE + META] = packMeta(version);
    });
    entry.records = records;
    return entry;
  }

  append(seq: number, version: NewVersion): void {
    this.records.push(seq, version.lastModifiedMs, version.size, packMeta(version));
  }

  /** Slot of the live version with this sequence number, or -1. */
  slotOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.records.length / STRIDE;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid * STRIDE + SEQ] < seq) lo = mid + 1;
      else hi = mid;
    }
    const found = lo < this.records.length / STRIDE && this.records[lo * STRIDE + SEQ] === seq;
    return found && !this.isRemoved(lo) ? lo : -1;
  }

  /** Slot of the live null version, or -1. At most one exists per key. */
  slotOfNullVersion(): number {
    for (let slot = this.records.length / STRIDE - 1; slot >= 0; slot--) {
      if (!this.isRemoved(slot) && this.flags(slot) & FLAG_NULL_VERSION) return slot;
    }
    return -1;
  }

  /** Slot of the newest live version, or -1. */
  newestSlot(): number {
    return this.nextOlderSlot(this.records.length / STRIDE);
  }

  /** The newest live slot strictly older than `slot` (pass the slot count to start at the newest), or -1. */
  nextOlderSlot(slot: number): number {
    for (let s = slot - 1; s >= 0; s--) if (!this.isRemoved(s)) return s;
    return -1;
  }

  /** The newest live slot whose sequence number is below `seq`, or -1. */
  newestSlotBelowSeq(seq: number): number {
    let lo = 0;
    let hi = this.records.length / STRIDE;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.records[mid * STRIDE + SEQ] < seq) lo = mid + 1;
      else hi = mid;
    }
    return this.nextOlderSlot(lo);
  }

  record(slot: number): VersionRecord {
    const base = slot * STRIDE;
    const meta = this.records[base + META];
    const flags = meta % FLAG_BITS;
    return {
      seq: this.records[base + SEQ],
      lastModifiedMs: this.records[base + LAST_MODIFIED],
      size: this.records[base + SIZE],
      etagId: Math.floor(meta / FLAG_BITS),
      isDeleteMarker: (flags & FLAG_DELETE_MARKER) !== 0,
      isNullVersion: (flags & FLAG_NULL_VERSION) !== 0,
    };
  }

  isDeleteMarker(slot: number): boolean {
    return (this.flags(slot) & FLAG_DELETE_MARKER) !== 0;
  }

  seqAt(slot: number): number {
    return this.records[slot * STRIDE + SEQ];
  }

  /** Removes a live version. Slots obtained before this call are invalid afterwards. */
  remove(slot: number): void {
    this.records[slot * STRIDE + META] += FLAG_REMOVED;
    this.removed++;
    if (this.removed > this.liveCount && this.removed >= 8) this.compact();
  }

  private compact(): void {
    const kept: number[] = [];
    for (let slot = 0; slot < this.records.length / STRIDE; slot++) {
      if (this.isRemoved(slot)) continue;
      const base = slot * STRIDE;
      kept.push(this.records[base], this.records[base + 1], this.records[base + 2], this.records[base + 3]);
    }
    this.records = kept;
    this.removed = 0;
  }

  private flags(slot: number): number {
    return this.records[slot * STRIDE + META] % FLAG_BITS;
  }

  private isRemoved(slot: number): boolean {
    return (this.flags(slot) & FLAG_REMOVED) !== 0;
  }
}

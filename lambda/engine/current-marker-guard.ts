import type { VersionEntry } from './types';

/** What to do with a current delete marker that retention selected. */
export type MarkerVerdict = 'delete-now' | 'wait' | 'keep';

/**
 * Keeps retention from deleting a key's current delete marker unless every
 * other entry of that key selected in this run was really deleted. Deleting
 * the marker while a version behind it survived (a legal hold, a failed or
 * unsent batch) would make that version current again: the object would
 * reappear. The selector decides on what it *selected*; this guard checks
 * what was *deleted*.
 *
 * One guard serves one listing stream, whose keys come in order. Failures are
 * remembered only for the key whose current delete marker is in play, and
 * entries only while they are in flight, so memory stays bounded.
 */
export class CurrentMarkerGuard {
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, VersionEntry>();
  private readonly tainted = new Set<string>();
  private watched: string | undefined;
  private released: VersionEntry[] = [];
  private keptMarkers: VersionEntry[] = [];
  private wake: (() => void) | undefined;
  /** Markers kept because something behind them was not deleted. */
  kept = 0;

  /** True for the entries this guard is about. */
  static applies(entry: VersionEntry): boolean {
    return entry.isDeleteMarker && entry.isLatest;
  }

  /**
   * The stream listed a current delete marker of `key`: failures of that key
   * matter from now on. Call it after the selector's answer to that entry has
   * been taken, since that answer may still hold the previous key's marker.
   */
  watch(key: string): void {
    if (this.watched !== undefined && !this.waiting.has(this.watched)) this.tainted.delete(this.watched);
    this.watched = key;
  }

  /** Decides on a selected current delete marker. */
  admit(marker: VersionEntry): MarkerVerdict {
    if (this.tainted.has(marker.key)) return this.keep(marker.key);
    if ((this.inFlight.get(marker.key) ?? 0) > 0) {
      this.waiting.set(marker.key, marker);
      return 'wait';
    }
    return 'delete-now';
  }

  /** An entry joined a batch. */
  track(entry: VersionEntry): void {
    this.inFlight.set(entry.key, (this.inFlight.get(entry.key) ?? 0) + 1);
  }

  /** The deleter settled an entry: deleted, or not (failed, or left pending by a stop). */
  settle(entry: VersionEntry, deleted: boolean): void {
    if (!deleted && (entry.key === this.watched || this.waiting.has(entry.key))) this.tainted.add(entry.key);
    const left = (this.inFlight.get(entry.key) ?? 1) - 1;
    if (left > 0) {
      this.inFlight.set(entry.key, left);
      return;
    }
    this.inFlight.delete(entry.key);
    const marker = this.waiting.get(entry.key);
    if (!marker) return;
    this.waiting.delete(entry.key);
    if (this.tainted.has(entry.key)) {
      this.keep(entry.key);
      this.keptMarkers.push(marker);
    } else this.released.push(marker);
    this.wake?.();
  }

  /** Markers whose keys are now fully deleted, to be sent. */
  takeReleased(): VersionEntry[] {
    const out = this.released;
    this.released = [];
    return out;
  }

  /** Waiting markers kept since the last call, because something of their key was not deleted. */
  takeKept(): VersionEntry[] {
    const out = this.keptMarkers;
    this.keptMarkers = [];
    return out;
  }

  /** True while some marker waits for its key's deletions to settle. */
  get hasWaiting(): boolean {
    return this.waiting.size > 0;
  }

  /** Resolves when a waiting marker is released or kept. */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** A resumed run starts inside `key`, some entry of which was not deleted. */
  restoreTaint(key: string): void {
    this.watched = key;
    this.tainted.add(key);
  }

  /** Markers still waiting when a run stops are kept (the next run decides again). */
  abandonWaiting(): void {
    this.kept += this.waiting.size;
    this.waiting.clear();
    this.wake?.();
  }

  private keep(key: string): MarkerVerdict {
    this.tainted.delete(key);
    this.kept++;
    return 'keep';
  }
}

import type { PurgeCounts } from './purge-types';
import type { VersionEntry } from './types';
import type { ListCursor } from './listing/version-listing';

/** Where a listing stream can safely resume. */
export interface Checkpoint {
  /** List after this entry; `null`: from the start of the stream's range. */
  readonly cursor: ListCursor | null;
  /** The selector's snapshot at that position; `undefined` for a fresh selector. */
  readonly selector: unknown;
  /** The key at the position, when an entry of it could not be deleted (its current delete marker must stay). */
  readonly taintedKey: string | null;
}

/** How an entry the selector chose ended. `dry`: a dry run, nothing sent. */
export type Outcome = 'deleted' | 'failed' | 'kept' | 'dry';

/** One entry the selector chose, and what became of it. */
export interface Decision {
  readonly entry: VersionEntry;
  /** Sequence number of the listing position where the entry itself was fed (0: before this run). */
  readonly fedSeq: number;
  outcome: Outcome | null;
}

/** The listing position after one fed entry, with the decisions the selector made there. */
interface Step {
  readonly seq: number;
  readonly cursor: ListCursor | null;
  readonly selector: unknown;
  readonly decisions: readonly StepDecision[];
  open: number;
}

/** A decision and the step it belongs to. */
interface StepDecision extends Decision {
  readonly step: Step;
}

/** A position with no decision, or with several, or one that is not the fed entry's own. */
class PlainStep implements Step {
  constructor(
    public seq: number,
    public cursor: ListCursor | null,
    public selector: unknown,
    readonly decisions: StepDecision[],
    public open: number,
  ) {}
}

/**
 * The commonest step in one object: the fed entry chosen at once, alone
 * (every entry of a purge, and many of a retention run). It is its own
 * decision, and its cursor is made from its entry when read. Every entry in
 * flight holds its step until it settles, and four objects per entry (step,
 * cursor, decisions, decision) cost about 80 MB of peak RSS at 16 prefixes
 * (bench/README.md, issue 12's memory).
 */
class SoloStep implements Step, StepDecision {
  outcome: Outcome | null = null;
  open = 1;
  constructor(
    readonly seq: number,
    readonly selector: unknown,
    readonly entry: VersionEntry,
  ) {}

  get fedSeq(): number {
    return this.seq;
  }

  get step(): Step {
    return this;
  }

  get cursor(): ListCursor {
    return cursorAt(this.entry);
  }

  get decisions(): readonly StepDecision[] {
    return [this];
  }
}

/** The listing position just after `entry`. */
const cursorAt = (entry: VersionEntry): ListCursor => ({ keyMarker: entry.key, versionIdMarker: entry.versionId });

/** What a stopped stream did that its resumed run will do again, so must not be counted twice. */
export type Redo = PurgeCounts & { readonly failures: ReadonlySet<string> };

/** The identity of a failure in {@link Redo.failures}. */
export const failureId = (key: string, versionId: string): string => `${key}\u0000${versionId}`;

/**
 * Follows one listing stream so that, when the run stops, it can say where
 * the stream may safely resume: the listing position just before the oldest
 * decision not yet settled, with the selector's state at that position.
 *
 * A resumed run lists again from there. Entries deleted since are gone from
 * the listing, and deleting an entry that is already gone counts as success,
 * so nothing chosen is lost and a token never needs to carry entries: its
 * size depends on the number of streams, not on how much was in flight.
 *
 * "Settled" means deleted, failed for good (reported, not retried in this
 * pass), kept by the current-marker guard, or skipped by a dry run. Entries
 * left unsent by a stop, and markers still waiting for their key, are not.
 *
 * Memory: steps after the checkpoint only, and consecutive entries without a
 * decision share one step, so a stream holds about as much as it has in flight.
 */
export class StreamLedger {
  private base: Checkpoint & { seq: number };
  /**
   * Steps after the checkpoint: `steps[first]` onwards (a queue without O(n)
   * shifts). Slots before `first` are cleared as the checkpoint passes them:
   * a passed step still in the array would keep its entry alive until the
   * array is compacted, thousands of entries per stream.
   */
  private steps: Array<Step | undefined> = [];
  private first = 0;
  private readonly fedAt = new WeakMap<VersionEntry, number>();
  private head = 0;
  /** The last entry fed; null: none yet, the stream is at its start cursor. */
  private lastFed: VersionEntry | null = null;
  private readonly startCursor: ListCursor | null;

  constructor(start: Checkpoint) {
    this.base = { ...start, seq: 0 };
    this.startCursor = start.cursor;
  }

  private lastCursor(): ListCursor | null {
    return this.lastFed ? cursorAt(this.lastFed) : this.startCursor;
  }

  /** Where the stream can resume now. */
  get checkpoint(): Checkpoint {
    const { cursor, selector, taintedKey } = this.base;
    return { cursor, selector, taintedKey };
  }

  /** True while some decision is not settled. */
  get unsettled(): boolean {
    return this.pending().some((s) => s.open > 0);
  }

  private pending(): Step[] {
    return this.steps.slice(this.first) as Step[];
  }

  /** Entries fed so far. */
  get fed(): number {
    return this.head;
  }

  /**
   * Records that `entry` was fed to the selector (`null`: the range ended),
   * which then had `snapshot` and chose `chosen`. Returns one decision per
   * chosen entry, to settle. `pinned`: the cap refused some of the
   * selector's choices here, so the checkpoint never moves past this
   * position (the step keeps one open count that nothing settles) and the
   * resumed run lists it again and makes those choices again.
   */
  record(entry: VersionEntry | null, snapshot: unknown, chosen: readonly VersionEntry[], pinned = false): Decision[] {
    let seq = this.head;
    if (entry) {
      seq = ++this.head;
      this.lastFed = entry;
      if (!pinned && chosen.length === 1 && chosen[0] === entry) {
        const solo = new SoloStep(seq, snapshot, entry);
        this.steps.push(solo);
        return [solo];
      }
      // Only an entry the selector holds on to is looked up later; one chosen at once (every entry of a
      // purge) is not, and a million WeakMap entries a minute only make garbage.
      if (!chosen.includes(entry)) this.fedAt.set(entry, seq);
    }
    const cursor = this.lastCursor();
    if (chosen.length === 0 && !pinned) {
      const last = this.steps.length > this.first ? this.steps[this.steps.length - 1] : undefined;
      if (!last) {
        this.advanceBase(new PlainStep(seq, cursor, snapshot, [], 0));
        return [];
      }
      if (last instanceof PlainStep && last.decisions.length === 0) {
        last.seq = seq;
        last.cursor = cursor;
        last.selector = snapshot;
        return [];
      }
    }
    const decisions: StepDecision[] = [];
    const step = new PlainStep(seq, cursor, snapshot, decisions, chosen.length + (pinned ? 1 : 0));
    for (const e of chosen) decisions.push({ entry: e, fedSeq: e === entry ? seq : (this.fedAt.get(e) ?? 0), outcome: null, step });
    this.steps.push(step);
    if (decisions.length === 0) this.advance();
    return decisions;
  }

  /** Settles a decision; the checkpoint moves forward over every fully settled step. */
  settle(decision: Decision, outcome: Outcome): void {
    if (decision.outcome !== null) return;
    decision.outcome = outcome;
    (decision as StepDecision).step.open--;
    this.advance();
  }

  /**
   * What the resumed run will do again: entries listed after the checkpoint
   * that are still there, decisions after it (re-made on resume), and the
   * deletions and failures among those decisions that will happen again.
   */
  redo(): Redo {
    const r = { listed: this.head - this.base.seq, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 };
    const failures = new Set<string>();
    for (const step of this.pending()) {
      for (const d of step.decisions) {
        const fedAfter = d.fedSeq > this.base.seq;
        // Deleted after the checkpoint and listed after it: gone, so neither listed nor chosen again.
        if (fedAfter && d.outcome === 'deleted') {
          r.listed--;
          continue;
        }
        r.selected++;
        if (d.outcome === 'deleted') {
          // Held by the selector since before the checkpoint: chosen, sent and counted again.
          if (d.entry.isDeleteMarker) r.deleteMarkersDeleted++;
          else {
            r.deleted++;
            r.bytesDeleted += d.entry.size;
          }
        } else if (d.outcome === 'failed') {
          r.failed++;
          failures.add(failureId(d.entry.key, d.entry.versionId));
        }
      }
    }
    return { ...r, failures };
  }

  private advance(): void {
    while (this.first < this.steps.length && this.steps[this.first]!.open === 0) {
      this.advanceBase(this.steps[this.first]!);
      this.steps[this.first++] = undefined;
    }
    if (this.first === this.steps.length) {
      this.steps = [];
      this.first = 0;
    } else if (this.first > 1024 && this.first * 2 > this.steps.length) {
      this.steps = this.steps.slice(this.first);
      this.first = 0;
    }
  }

  private advanceBase(step: Step): void {
    const key = step.cursor?.keyMarker ?? null;
    let tainted = this.base.taintedKey === key ? key : null;
    if (step.decisions.some((d) => d.outcome === 'failed' && d.entry.key === key)) tainted = key;
    this.base = { seq: step.seq, cursor: step.cursor, selector: step.selector, taintedKey: tainted };
  }
}

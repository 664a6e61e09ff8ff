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

/**
 * How the stream runner names a decision when it settles it: the decision
 * itself, or, for an entry of a {@link SoloRun}, the entry's sequence number
 * (a small integer, so no object per entry in flight).
 */
export type DecisionRef = Decision | number;

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
 * (many entries of a retention run; a purge's, which carry no selector
 * state, go into a {@link SoloRun} instead). It is its own
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

/** Entries a {@link SoloRun} holds at most. */
const RUN_LENGTH = 1024;
/** A {@link SoloRun} entry's outcome, one byte each; 0 while open. */
const OUTCOME_CODES: Record<Outcome, number> = { deleted: 1, failed: 2, kept: 3, dry: 4 };
const DELETED = OUTCOME_CODES.deleted;
const FAILED = OUTCOME_CODES.failed;

/**
 * Consecutive entries, each chosen at once and alone, with no selector
 * state (`null` snapshots): every entry of a purge. One object and a byte
 * per entry, where a {@link SoloStep} each was 64 bytes, held for as long as
 * the entry is in flight (about 55,000 entries at 16 prefixes). An entry's
 * decision is its sequence number. Slots are cleared as the checkpoint passes
 * them, so a run never keeps a settled entry alive.
 */
class SoloRun {
  readonly entries: Array<VersionEntry | undefined> = [];
  readonly outcomes = new Uint8Array(RUN_LENGTH);
  /** Entries before this index are behind the checkpoint. */
  passed = 0;
  open = 0;
  constructor(readonly firstSeq: number) {}

  /** True when `seq` can be appended: the run has room and `seq` follows its last entry. */
  extendsTo(seq: number): boolean {
    return this.entries.length < RUN_LENGTH && this.firstSeq + this.entries.length === seq;
  }

  holds(seq: number): boolean {
    return seq >= this.firstSeq && seq < this.firstSeq + this.entries.length;
  }
}

type QueuedStep = Step | SoloRun;

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
  private steps: Array<QueuedStep | undefined> = [];
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

  private pending(): QueuedStep[] {
    return this.steps.slice(this.first) as QueuedStep[];
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
   *
   * The decisions come in the order of `chosen`.
   */
  record(entry: VersionEntry | null, snapshot: unknown, chosen: readonly VersionEntry[], pinned = false): DecisionRef[] {
    let seq = this.head;
    if (entry) {
      seq = ++this.head;
      this.lastFed = entry;
      if (!pinned && chosen.length === 1 && chosen[0] === entry) {
        if (snapshot === null) return [this.appendToRun(seq, entry)];
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

  /** Adds `entry`, fed at `seq` and chosen alone, to the last run (or a new one); returns its decision. */
  private appendToRun(seq: number, entry: VersionEntry): number {
    const last = this.steps.length > this.first ? this.steps[this.steps.length - 1] : undefined;
    let run = last instanceof SoloRun && last.extendsTo(seq) ? last : undefined;
    if (!run) {
      run = new SoloRun(seq);
      this.steps.push(run);
    }
    run.entries.push(entry);
    run.open++;
    return seq;
  }

  /** Settles a decision; the checkpoint moves forward over every fully settled step. */
  settle(decision: DecisionRef, outcome: Outcome): void {
    if (typeof decision === 'number') {
      this.settleInRun(decision, outcome);
      return;
    }
    if (decision.outcome !== null) return;
    decision.outcome = outcome;
    (decision as StepDecision).step.open--;
    this.advance();
  }

  /**
   * Settles the run entry fed at `seq`. The queue holds only the runs the
   * checkpoint has not passed: a handful per stream (1,024 entries each), more
   * only while an early entry waits for a retry. So a scan from the front is
   * short, and the answer is almost always in the first run.
   */
  private settleInRun(seq: number, outcome: Outcome): void {
    for (let i = this.first; i < this.steps.length; i++) {
      const run = this.steps[i];
      if (!(run instanceof SoloRun) || !run.holds(seq)) continue;
      const at = seq - run.firstSeq;
      if (run.outcomes[at] !== 0) return;
      run.outcomes[at] = OUTCOME_CODES[outcome];
      run.open--;
      if (i === this.first && at === run.passed) this.advance();
      return;
    }
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
      if (step instanceof SoloRun) {
        // Every entry of a run after the checkpoint was listed after it, as in the loop below.
        for (let i = step.passed; i < step.entries.length; i++) {
          const code = step.outcomes[i];
          if (code === DELETED) {
            r.listed--;
            continue;
          }
          r.selected++;
          if (code === FAILED) {
            const entry = step.entries[i]!;
            r.failed++;
            failures.add(failureId(entry.key, entry.versionId));
          }
        }
        continue;
      }
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
    while (this.first < this.steps.length) {
      const step = this.steps[this.first]!;
      if (step instanceof SoloRun) {
        this.passSettled(step);
        if (step.passed < step.entries.length) break;
      } else {
        if (step.open !== 0) break;
        this.advanceBase(step);
      }
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

  /** Moves the checkpoint over the run's settled entries at its front, as {@link advanceBase} would one by one. */
  private passSettled(run: SoloRun): void {
    let at = run.passed;
    let last: VersionEntry | undefined;
    let tainted = this.base.taintedKey;
    while (at < run.entries.length && run.outcomes[at] !== 0) {
      const entry = run.entries[at]!;
      tainted = tainted === entry.key || run.outcomes[at] === FAILED ? entry.key : null;
      last = entry;
      run.entries[at++] = undefined;
    }
    if (!last) return;
    run.passed = at;
    this.base = { seq: run.firstSeq + at - 1, cursor: cursorAt(last), selector: null, taintedKey: tainted };
  }

  private advanceBase(step: Step): void {
    const key = step.cursor?.keyMarker ?? null;
    let tainted = this.base.taintedKey === key ? key : null;
    if (step.decisions.some((d) => d.outcome === 'failed' && d.entry.key === key)) tainted = key;
    this.base = { seq: step.seq, cursor: step.cursor, selector: step.selector, taintedKey: tainted };
  }
}

import type { BatchDeleter, SettledOutcome } from './deleting/batch-deleter';
import type { RateController } from './deleting/rate-controller';
import { CurrentMarkerGuard } from './current-marker-guard';
import { clipThrough, type KeyRange, type ListCursor, type VersionPage } from './listing/version-listing';
import { SentBatch } from './sent-batch';
import { StreamLedger, type Checkpoint, type DecisionRef } from './stream-ledger';
import type { EntrySelector, VersionEntry } from './types';

/** One listing stream of a pass: a key range of one prefix, and where to start in it. */
export interface StreamPlan {
  /** Index of the range's prefix in the run's sorted prefixes. */
  readonly scope: number;
  readonly range: KeyRange;
  readonly start: Checkpoint;
  /**
   * The rate controller's partition, when not the range's own: the ranges
   * split off a running stream (stream-splitter.ts) share its partition.
   */
  readonly partition?: string;
}

/** The key of the rate controller a stream's deletions go through: one per S3 partition the run knows of. */
export const partitionOf = (plan: StreamPlan): string => plan.partition ?? plan.range.after ?? plan.range.prefix;

/** What one stream did in this segment of the run. */
export interface StreamRun {
  /**
   * The stream's plan. Its range may be narrowed while the stream lists
   * (stream-splitter.ts), to an end past every key the stream has received.
   */
  plan: StreamPlan;
  ledger?: StreamLedger;
  /** The listing reached the end of the range (or the bucket vanished). */
  listedToEnd: boolean;
  /** The last key the stream has received from a listing; a narrowed range must end after it. */
  frontier?: string;
}

/** What a stream needs from the run it belongs to. */
export interface StreamHost {
  /** Retention: a current delete marker goes only once everything behind it is gone. */
  readonly guardsCurrentMarkers: boolean;
  readonly dryRun: boolean;
  /** False: a stream resuming mid-key rebuilds the selector's state from a listing of the key (see PurgeOptions). */
  readonly trustsSelectorState: boolean;
  /** Aborts waits when the run is stopped. */
  readonly signal?: AbortSignal;
  selectorFrom(snapshot: unknown): EntrySelector;
  rateFor(plan: StreamPlan): RateController;
  /** True once the run stops listing (deadline, signal, cap or fault). */
  listingStopped(): boolean;
  /** A page; null when the bucket is gone; 'stopped' when the run stopped while retrying. */
  listPage(range: KeyRange, cursor: ListCursor): Promise<VersionPage | null | 'stopped'>;
  /** A page that does not end the stream arrived, `ms` after it was asked for (its `ms`, as listPage timed it), before it is fed. */
  onPage?(stream: StreamRun, page: VersionPage, ms: number): void;
  /** True when one more entry may be selected beyond `pending` ones; false marks the cap as reached. */
  mayChoose(pending: number): boolean;
  capReached(): boolean;
  /**
   * True when a capped run must be resumable: a position where the cap
   * refused some of the selector's choices pins the stream's checkpoint
   * before it, so the resumed run makes those choices again.
   */
  readonly resumesAtCap: boolean;
  onListed(): void;
  onChosen(entry: VersionEntry): void;
}

/**
 * Lists one range to its end, or until the run stops: feeds each entry to
 * the selector, records the choices in the stream's ledger, and sends the
 * chosen entries to the batch deleter, as many to a request as the
 * partition's rate controller asks for (at most 1,000).
 */
export class StreamRunner {
  private readonly selector: EntrySelector;
  private readonly ledger: StreamLedger;
  private readonly rate: RateController;
  private readonly guard: CurrentMarkerGuard | undefined;
  /** Decisions of the current delete markers the guard holds back until their keys' deletions settle (retention). */
  private readonly heldMarkers = new Map<VersionEntry, DecisionRef>();
  /** {@link release} as a value for {@link inOrder}, made once rather than a closure per entry. */
  private readonly releaseOne = (marker: VersionEntry) => this.release(marker);
  /** The batch being filled: entries, and the decision of each. */
  private batch: VersionEntry[] = [];
  private batchDecisions: DecisionRef[] = [];
  /** A resumed stream may be in the middle of a key: watch it from its first entry. */
  private watchFirst: boolean;
  /** The key in progress whose selector state must be rebuilt from a listing before feeding on. */
  private untrustedKey: string | undefined;

  constructor(
    private readonly stream: StreamRun,
    private readonly deleter: BatchDeleter,
    private readonly host: StreamHost,
  ) {
    const { start } = stream.plan;
    this.untrustedKey = !host.trustsSelectorState && start.selector !== undefined && start.selector !== null ? start.cursor?.keyMarker : undefined;
    this.selector = host.selectorFrom(this.untrustedKey !== undefined ? undefined : start.selector);
    this.ledger = new StreamLedger(start);
    stream.ledger = this.ledger;
    this.rate = host.rateFor(stream.plan);
    this.guard = host.guardsCurrentMarkers && !host.dryRun ? new CurrentMarkerGuard() : undefined;
    if (start.taintedKey) this.guard?.restoreTaint(start.taintedKey);
    this.watchFirst = start.selector !== null && start.selector !== undefined;
  }

  async run(): Promise<void> {
    const { stream } = this;
    let cursor = stream.plan.start.cursor;
    // The last entry of a page names the next page's marker: it is fed (and
    // so maybe deleted) only once that page has been fetched.
    let held: VersionEntry | null = null;
    for (;;) {
      if (this.host.listingStopped()) return this.finish(true);
      const { range } = stream.plan;
      const listed = await this.host.listPage(range, cursor ?? {});
      if (listed === 'stopped') continue;
      if (listed === null) {
        await this.finish(true);
        stream.listedToEnd = true;
        return;
      }
      // The range may have been narrowed while the page was on its way: what lies past its new end is another stream's.
      const narrowed = stream.plan.range !== range ? stream.plan.range.through : undefined;
      const page = narrowed === undefined ? listed : clipThrough(listed, narrowed);
      if (page.entries.length > 0) stream.frontier = page.entries[page.entries.length - 1].key;
      // A page its host did not time counts as instant: 'auto' never splits on it.
      if (page.next) this.host.onPage?.(stream, page, listed.ms ?? 0);
      const entries = [...page.entries];
      if (this.untrustedKey !== undefined) await this.rebuildKeyState(this.untrustedKey, entries[0]);
      if (held) entries.unshift(held);
      held = page.next ? (entries.pop() ?? null) : null;
      if (page.next) cursor = page.next;
      await this.feed(entries);
      if (!page.next && !this.host.capReached()) {
        await this.take(null, this.selector.end());
        await this.finish(false);
        stream.listedToEnd = true;
        return;
      }
    }
  }

  /**
   * Feeds the selector what it saw of `key` before the resume position, read
   * again from S3 instead of a snapshot: every entry of the key that lists
   * before `next` (the first entry after the position), or all of them when
   * the key ended there. The choices it makes are dropped: they were made and
   * settled before the position (deleted entries no longer list, which can
   * only make the rules keep more).
   */
  private async rebuildKeyState(key: string, next: VersionEntry | undefined): Promise<void> {
    this.untrustedKey = undefined;
    const range = { prefix: key, through: key };
    let cursor = {};
    for (;;) {
      const page = await this.host.listPage(range, cursor);
      if (page === null || page === 'stopped') return;
      for (const entry of page.entries) {
        if (entry.key !== key) continue;
        if (next && entry.key === next.key && entry.versionId === next.versionId) return;
        this.selector.next(entry);
      }
      if (!page.next) return;
      cursor = page.next;
    }
  }

  /** Feeds a page's entries to the selector, in order, until the cap. */
  private async feed(entries: readonly VersionEntry[]): Promise<void> {
    const { guard } = this;
    for (const entry of entries) {
      if (this.watchFirst) {
        if (!this.stream.plan.start.taintedKey) guard?.watch(entry.key);
        this.watchFirst = false;
      }
      this.host.onListed();
      const waiting = this.take(entry, this.selector.next(entry));
      if (waiting) await waiting;
      if (this.host.capReached()) break;
      if (guard && CurrentMarkerGuard.applies(entry)) guard.watch(entry.key);
    }
  }

  /**
   * Records what the selector chose after `fed` (null: at the end of the
   * range) and acts on it. Synchronous until something has to wait (a full
   * batch to hand to the deleter): it runs once per listed entry, and an
   * async call per entry was a promise and a frame of garbage per key
   * (bench/README.md, issue 12's memory).
   */
  private take(fed: VersionEntry | null, chosen: readonly VersionEntry[]): Promise<void> | undefined {
    // Markers the current-marker guard released since (retention only) go first.
    const released = this.guard?.takeReleased() ?? [];
    const waiting = released.length > 0 ? inOrder(released, 0, this.releaseOne) : undefined;
    return waiting ? waiting.then(() => this.decide(fed, chosen)) : this.decide(fed, chosen);
  }

  private decide(fed: VersionEntry | null, chosen: readonly VersionEntry[]): Promise<void> | undefined {
    // The cap may refuse the rest of the selector's choices.
    let count = 0;
    while (count < chosen.length && this.host.mayChoose(count)) count++;
    const accepted = count === chosen.length ? chosen : chosen.slice(0, count);
    const refused = count < chosen.length && this.host.resumesAtCap;
    const decisions = this.ledger.record(fed, this.selector.snapshot(), accepted, refused);
    return this.actOnEach(accepted, decisions, 0);
  }

  /** {@link act} on each accepted entry from `from` on, in order, as {@link inOrder} does. */
  private actOnEach(entries: readonly VersionEntry[], decisions: readonly DecisionRef[], from: number): Promise<void> | undefined {
    for (let i = from; i < entries.length; i++) {
      const waiting = this.act(entries[i], decisions[i]);
      if (waiting) return waiting.then(() => this.actOnEach(entries, decisions, i + 1));
    }
    return undefined;
  }

  private act(entry: VersionEntry, decision: DecisionRef): Promise<void> | undefined {
    this.host.onChosen(entry);
    if (this.host.dryRun) {
      this.ledger.settle(decision, 'dry');
      return undefined;
    }
    if (this.guard && CurrentMarkerGuard.applies(entry)) {
      const verdict = this.guard.admit(entry);
      if (verdict === 'keep') this.settle(decision, 'kept');
      if (verdict === 'wait') this.heldMarkers.set(entry, decision);
      if (verdict !== 'delete-now') return undefined;
    }
    return this.enqueue(entry, decision);
  }

  /** A held marker whose key is now fully deleted: sent after all. */
  private release(marker: VersionEntry): Promise<void> | undefined {
    const decision = this.takeHeld(marker);
    return decision !== undefined ? this.enqueue(marker, decision) : undefined;
  }

  /** The decision of a marker the guard held, which stops being held (it is sent or kept now). */
  private takeHeld(marker: VersionEntry): DecisionRef | undefined {
    const decision = this.heldMarkers.get(marker);
    this.heldMarkers.delete(marker);
    return decision;
  }

  /** Adds the entry to the batch; a promise when the batch was full and is being handed over. */
  private enqueue(entry: VersionEntry, decision: DecisionRef): Promise<void> | undefined {
    this.guard?.track(entry);
    this.batch.push(entry);
    this.batchDecisions.push(decision);
    return this.batch.length >= this.rate.batchKeys() ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    // List only about as far ahead as the partition deletes.
    await this.rate.roomToQueue(this.host.signal);
    const sent = new SentBatch(this.batch, this.batchDecisions);
    this.batch = [];
    this.batchDecisions = [];
    await this.deleter.submit(sent.entries, this.rate, (entry, outcome) => this.settled(sent.decisionOf(entry), entry, outcome));
  }

  /** Sends what is batched, then the markers released as their keys' deletions settle. */
  private async finish(stopping: boolean): Promise<void> {
    const { guard } = this;
    for (;;) {
      await this.flush();
      const released = guard?.takeReleased() ?? [];
      if (released.length > 0) {
        await inOrder(released, 0, this.releaseOne);
        continue;
      }
      if (!guard?.hasWaiting) return;
      if (stopping) {
        // Markers still waiting stay unsettled: the resumed run decides on them again.
        guard.abandonWaiting();
        return;
      }
      await guard.changed();
    }
  }

  /** How a sent entry ended, as the batch deleter reports it. */
  private settled(decision: DecisionRef | undefined, entry: VersionEntry, outcome: SettledOutcome): void {
    if (decision !== undefined) this.settle(decision, outcome);
    if (!this.guard) return;
    this.guard.settle(entry, outcome === 'deleted');
    for (const marker of this.guard.takeKept()) {
      const held = this.takeHeld(marker);
      if (held !== undefined) this.settle(held, 'kept');
    }
  }

  private settle(decision: DecisionRef, outcome: SettledOutcome | 'kept'): void {
    // An unsent entry stays unsettled: the stream resumes before it.
    if (outcome === 'unsent') return;
    this.ledger.settle(decision, outcome === 'gone' ? 'kept' : outcome);
  }
}

/**
 * Runs `step` on `items[from..]` in order: synchronously while each step
 * returns nothing, and once one returns a promise (it has to wait), the rest
 * after it settles.
 */
function inOrder<T>(items: readonly T[], from: number, step: (item: T) => Promise<void> | undefined): Promise<void> | undefined {
  for (let i = from; i < items.length; i++) {
    const waiting = step(items[i]);
    if (waiting) return waiting.then(() => inOrder(items, i + 1, step));
  }
  return undefined;
}

import type { S3Client } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { sleep } from './s3/backoff';
import { BatchDeleter } from './deleting/batch-deleter';
import { inspectBucket } from './deleting/bucket-preflight';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_LIST_CONCURRENCY,
  DEFAULT_MAX_PASSES,
  MAX_REPORTED_ERRORS,
  MAX_SHARDS,
  PROGRESS_INTERVAL_MS,
} from './constants';
import { discoverBoundaries, rangesFromBoundaries, thinBoundaries } from './listing/key-ranges';
import { FirstPages } from './listing/first-pages';
import { compareKeys } from './listing/key-order';
import { explainLockFailures } from './deleting/lock-reasons';
import type { PurgeCounts, PurgeOptions, PurgeResult } from './purge-types';
import { RateController } from './deleting/rate-controller';
import { decideRetry, faultKind } from './s3/retry-policy';
import {
  boundResumeToken,
  checkResumeToken,
  ResumeTokenError,
  runIdentity,
  type ResumeToken,
  type RunIdentity,
  type StreamToken,
} from './resume-token';
import { errorCode, errorMessage, isNoSuchBucket } from './s3/s3-errors';
import { selectAll } from './select-all';
import { failureId, type Checkpoint, type Redo } from './stream-ledger';
import { partitionOf, type StreamHost, type StreamPlan, type StreamRun, StreamRunner } from './stream-runner';
import { StreamPool } from './stream-pool';
import { StreamSplitter } from './stream-splitter';
import type { DeleteFailure, SelectorFactory, TransientFault, VersionEntry } from './types';
import { listVersionPage, type KeyRange, type ListCursor, type VersionPage } from './listing/version-listing';
import { sweepUploads } from './uploads/upload-sweep';
import { UploadTally } from './uploads/upload-tally';

const FRESH: Checkpoint = { cursor: null, selector: undefined, taintedKey: null };

const noCounts = (): PurgeCounts => ({ listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 });

/**
 * Lists every version and delete marker of a bucket (or of some prefixes),
 * lets a selector choose, and deletes the chosen ones in DeleteObjects
 * batches of up to 1,000 keys, several at once while listing goes on.
 *
 * Purge mode runs passes until a listing from the start comes back empty
 * (or a pass deletes nothing, or `maxPasses`). A deadline or abort stops it
 * cleanly and returns a resume token; pass the token back to continue.
 *
 * @example
 * const result = await purgeBucket({ client: createS3Client(), bucket: 'my-bucket' });
 * if (result.failed > 0) console.error(result.errors);
 * @throws ResumeTokenError before anything is listed or deleted, when the
 *   resume token is malformed or belongs to another run
 */
export async function purgeBucket(options: PurgeOptions): Promise<PurgeResult> {
  validateOptions(options);
  const run = new PurgeRun(options);
  return run.execute();
}

function validateOptions(o: PurgeOptions): void {
  const positiveInt = (name: string, v: number | undefined, max = Number.MAX_SAFE_INTEGER) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) {
      throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`);
    }
  };
  if (!o.bucket) throw new RangeError('bucket is required');
  positiveInt('concurrency', o.concurrency, 1000);
  positiveInt('listConcurrency', o.listConcurrency, 1000);
  positiveInt('maxPasses', o.maxPasses, 100);
  positiveInt('maxDeletions', o.maxDeletions);
  if (o.splitListing !== undefined && !['auto', 'always', 'never'].includes(o.splitListing)) {
    throw new RangeError(`splitListing must be 'auto', 'always' or 'never', got ${JSON.stringify(o.splitListing)}`);
  }
}

/** The prefixes a run lists, each once: a prefix inside another one would list its keys twice. */
export function scopesOf(prefixes: readonly string[] | undefined): string[] {
  const given = [...new Set(prefixes ?? [])];
  if (given.length === 0 || given.includes('')) return [''];
  return given.filter((p) => !given.some((q) => q !== p && p.startsWith(q))).sort();
}

/** True when `key` lies in `range` (S3's byte order). */
function inRange(key: string, range: KeyRange): boolean {
  if (!key.startsWith(range.prefix)) return false;
  if (range.after !== undefined && compareKeys(key, range.after) <= 0) return false;
  return range.through === undefined || compareKeys(key, range.through) <= 0;
}

/** The scope index of a run restricted to `range`. @throws RangeError when its prefix is not one of the scopes. */
function scopeOfRange(range: KeyRange, scopes: readonly string[]): number {
  const index = scopes.indexOf(range.prefix);
  if (index < 0) throw new RangeError(`range prefix ${JSON.stringify(range.prefix)} is not one of the run's prefixes`);
  return index;
}

/**
 * The streams of a token for a run restricted to `range`: a stream without
 * bounds (a compacted token lists its prefix again from the start) gets the
 * range's; a stream reaching outside the range is refused.
 */
function plansInRange(token: ResumeToken, range: KeyRange, scope: number): StreamPlan[] {
  return token.streams.map((s): StreamPlan => {
    if (s.s !== scope || (s.n !== undefined && s.n !== 1)) throw new ResumeTokenError('the resume token belongs to another key range: its prefix differs', 'range');
    const after = s.n === undefined ? (s.a ?? range.after) : range.after;
    const through = s.n === undefined ? (s.t ?? range.through) : range.through;
    const startsInside = range.after === undefined || (after !== undefined && compareKeys(after, range.after) >= 0);
    const endsInside = range.through === undefined || (through !== undefined && compareKeys(through, range.through) <= 0);
    if (!startsInside || !endsInside) throw new ResumeTokenError('the resume token belongs to another key range: it reaches outside this one', 'range');
    const bounded: KeyRange = { prefix: range.prefix, ...(after !== undefined && { after }), ...(through !== undefined && { through }) };
    const resumes = s.n === undefined && s.k !== undefined;
    const cursor: ListCursor | null = resumes ? { keyMarker: s.k!, versionIdMarker: s.i } : null;
    if (resumes && !inRange(s.k!, { prefix: bounded.prefix, ...(through !== undefined && { through }) })) {
      throw new ResumeTokenError('the resume token belongs to another key range: its position is outside this one', 'range');
    }
    return { scope, range: bounded, start: resumes ? { cursor, selector: s.q ?? undefined, taintedKey: s.x ?? null } : FRESH };
  });
}

/** The streams a token resumes, in order. */
function plansFromToken(token: ResumeToken, scopes: readonly string[]): StreamPlan[] {
  return token.streams.flatMap((s): StreamPlan[] => {
    if (s.n !== undefined) {
      return Array.from({ length: s.n }, (_, i) => ({ scope: s.s + i, range: { prefix: scopes[s.s + i] }, start: FRESH }));
    }
    const range: KeyRange = { prefix: scopes[s.s], ...(s.a !== undefined && { after: s.a }), ...(s.t !== undefined && { through: s.t }) };
    const cursor: ListCursor | null = s.k !== undefined ? { keyMarker: s.k, versionIdMarker: s.i } : null;
    return [{ scope: s.s, range, start: { cursor, selector: s.q ?? undefined, taintedKey: s.x ?? null } }];
  });
}

function streamToken(plan: StreamPlan, at: Checkpoint): StreamToken {
  return {
    s: plan.scope,
    ...(plan.range.after !== undefined && { a: plan.range.after }),
    ...(plan.range.through !== undefined && { t: plan.range.through }),
    ...(at.cursor?.keyMarker !== undefined && { k: at.cursor.keyMarker, i: at.cursor.versionIdMarker ?? 'null' }),
    ...(at.selector !== undefined && at.selector !== null && { q: at.selector }),
    ...(at.taintedKey !== null && { x: at.taintedKey }),
  };
}

class PurgeRun {
  private readonly client: S3Client;
  private readonly mode: 'purge' | 'retain';
  private readonly dryRun: boolean;
  private readonly selector: SelectorFactory;
  private readonly startedAt = Date.now();
  /** Time the run spent in earlier segments (from the resume token). */
  private readonly elapsedBefore: number;
  private readonly scopes: string[];
  private readonly identity: RunIdentity;
  private readonly resumed: StreamPlan[] | null;
  /** With `range`: the index of its prefix in `scopes`. */
  private readonly rangeScope: number;
  private readonly counts: PurgeCounts;
  private readonly uploads: UploadTally;
  private errors: DeleteFailure[];
  /** How many of `errors` already carry their Object Lock explanation (those from a resume token do). */
  private explained: number;
  private pass: number;
  private passStart: { listed: number; deleted: number };
  private throttled = 0;
  private capReached = false;
  /** The transient fault the run gave up on; it stops the run like a deadline. */
  private fault: TransientFault | null = null;
  private readonly rates = new Map<string, RateController>();
  /** First pages asked for while the first pass's discovery runs (listing/first-pages.ts). */
  private firstPages: FirstPages<VersionPage | null | 'stopped'> | null = null;
  private readonly stopListingAt: number;
  private readonly hardStopAt: number;
  /**
   * Follows `o.signal`. Every back-off and pacer wait listens to it, dozens at
   * once under throttling; its own listener limit keeps Node from warning
   * about a leak on stderr.
   */
  private readonly stop = new AbortController();

  constructor(private readonly o: PurgeOptions) {
    setMaxListeners(0, this.stop.signal);
    this.client = o.client;
    this.mode = o.mode ?? 'purge';
    this.dryRun = o.dryRun ?? false;
    this.selector = o.selector ?? selectAll;
    this.scopes = scopesOf(o.prefixes);
    this.identity = runIdentity({ bucket: o.bucket, mode: this.mode, dryRun: this.dryRun, scopes: this.scopes, policy: o.policy });
    const t = o.resumeToken ? checkResumeToken(o.resumeToken, this.identity, this.scopes.length) : undefined;
    this.rangeScope = o.range ? scopeOfRange(o.range, this.scopes) : -1;
    this.resumed = t ? (o.range ? plansInRange(t, o.range, this.rangeScope) : plansFromToken(t, this.scopes)) : null;
    for (const plan of this.resumed ?? []) this.checkSelectorState(plan.start.selector);
    this.elapsedBefore = t?.elapsedMs ?? 0;
    this.counts = t ? { ...t.counts } : noCounts();
    this.uploads = new UploadTally(t);
    this.errors = t ? [...t.errors] : [];
    this.explained = this.errors.length;
    this.pass = t?.pass ?? 1;
    this.passStart = t ? { ...t.passStart } : { listed: 0, deleted: 0 };
    // Stop listing a little before the deadline so that in-flight batches
    // finish in time; past the deadline itself no request starts.
    const deadline = o.deadline ?? Number.POSITIVE_INFINITY;
    const reserve = Math.min(5_000, Math.max(0, (deadline - this.startedAt) * 0.2));
    this.stopListingAt = deadline - reserve;
    this.hardStopAt = deadline;
  }

  /** Refuses a token whose selector state this run's selector cannot restore, before anything is deleted. */
  private checkSelectorState(state: unknown): void {
    if (state === undefined) return;
    try {
      this.selector(state);
    } catch (err) {
      throw new ResumeTokenError(`the resume token is not valid: ${(err as Error).message}`);
    }
  }

  async execute(): Promise<PurgeResult> {
    const follow = () => this.stop.abort();
    if (this.o.signal?.aborted) follow();
    this.o.signal?.addEventListener('abort', follow, { once: true });
    try {
      return await this.executeRun();
    } finally {
      this.o.signal?.removeEventListener('abort', follow);
    }
  }

  private async executeRun(): Promise<PurgeResult> {
    const facts = await inspectBucket(this.client, this.o.bucket);
    if (!facts.exists) return this.result(null, true);
    const bypass = (this.o.bypassGovernanceRetention ?? false) && facts.objectLockEnabled;
    let plans = this.resumed;
    const progress = this.o.onProgress ? setInterval(() => this.reportProgress(), PROGRESS_INTERVAL_MS) : undefined;
    try {
      for (;;) {
        // Discovery and the uploads sweep are independent: run at once, they cost one round trip
        // before the first listing instead of two. When discovery fails, the sweep may already have
        // aborted uploads: those were in the purge's scope, and the run fails with discovery's error.
        const [planned, sweep] = await Promise.allSettled([plans ?? this.planPass(), this.sweepUploads()]);
        if (planned.status === 'rejected') throw planned.reason;
        if (sweep.status === 'rejected') throw sweep.reason;
        plans = planned.value;
        const swept = sweep.value;
        if (swept === 'missing') return this.result(null, true);
        if (swept === 'stopped') return await this.finish(facts.objectLockEnabled, bypass, { left: plans, redo: [] });
        const outcome = await this.runPass(plans, bypass);
        if (outcome.left.length > 0 || this.capReached) {
          // At the cap the run is complete, unless a fault left selected entries unsent (resuming sends
          // them), or the caller resumes capped runs (a workflow round's quota) and something is left.
          const resumable = this.o.resumableAtCap === true && outcome.left.length > 0;
          if (this.capReached && this.fault === null && !resumable) break;
          return await this.finish(facts.objectLockEnabled, bypass, outcome);
        }
        plans = null;
        if (!this.nextPassNeeded()) break;
        this.pass++;
        this.passStart = { listed: this.counts.listed, deleted: this.deletedTotal() };
        // Failures are counted per pass: what the last pass could not delete is what remains.
        this.counts.failed = 0;
        this.errors = [];
        this.explained = 0;
        this.uploads.newPass();
      }
      return await this.finish(facts.objectLockEnabled, bypass, null);
    } catch (err) {
      if (isNoSuchBucket(err)) return this.result(null, true);
      throw err;
    } finally {
      if (progress) clearInterval(progress);
      this.closeFirstPages();
    }
  }

  private deletedTotal(): number {
    return this.counts.deleted + this.counts.deleteMarkersDeleted;
  }

  private nextPassNeeded(): boolean {
    if (this.mode !== 'purge' || this.dryRun) return false;
    const listed = this.counts.listed - this.passStart.listed;
    const deleted = this.deletedTotal() - this.passStart.deleted;
    return listed > 0 && deleted > 0 && this.pass < (this.o.maxPasses ?? DEFAULT_MAX_PASSES);
  }

  /**
   * The first purge pass splits each scope into key ranges at its top-level
   * "folders" and lists them in parallel. Later passes, retention runs and
   * dry runs list each scope from its start in one stream: a range starts
   * with a bare KeyMarker, which some S3-compatible servers get wrong (moto
   * skips the first entry after it), and only a purge has a confirming pass
   * from the start to catch what such a server left out.
   */
  private async planPass(): Promise<StreamPlan[]> {
    if (this.o.range) return [{ scope: this.rangeScope, range: this.o.range, start: FRESH }];
    const sharded = this.listsInParallel();
    const plans: StreamPlan[] = [];
    // Early pages belong to the pass that asked for them: a later pass lists afresh (and the run's end
    // closes them too, in executeRun's finally). Only a run of one scope asks: with many, the last
    // scopes' streams start long after, and their pages would wait in memory.
    this.closeFirstPages();
    if (sharded && this.scopes.length === 1 && !this.listingStopped()) {
      this.firstPages = new FirstPages((range, signal) => this.listWithRetries(range, {}, signal), this.stop.signal);
      this.firstPages.start(this.scopes[0]);
    }
    for (const [scope, prefix] of this.scopes.entries()) {
      const boundaries = sharded ? thinBoundaries(await discoverBoundaries(this.client, this.o.bucket, prefix), MAX_SHARDS - 1) : [];
      if (boundaries.length > 0) this.firstPages?.drop(prefix);
      for (const range of rangesFromBoundaries(prefix, boundaries)) plans.push({ scope, range, start: FRESH });
    }
    return plans;
  }

  /**
   * The pass's sweep of incomplete multipart uploads (uploads/upload-sweep.ts),
   * each prefix in turn, once per pass and before its versions: a purge's
   * confirming pass so finds uploads started while the purge ran. 'stopped':
   * the run stopped or gave up on a fault; the token says the sweep is owed.
   */
  private async sweepUploads(): Promise<'done' | 'stopped' | 'missing'> {
    const given = this.o.abortUploads ?? (this.mode === 'purge' ? () => true : undefined);
    // A range's run aborts only the uploads of its own keys: the other ranges' runs abort theirs.
    const range = this.o.range;
    const select = given && range ? (u: Parameters<typeof given>[0]) => inRange(u.key, range) && given(u) : given;
    if (!this.uploads.sweepPending) return 'done';
    this.uploads.sweepStarted();
    for (const prefix of select ? (range ? [range.prefix] : this.scopes) : []) {
      const end = await sweepUploads({
        client: this.client,
        bucket: this.o.bucket,
        prefix,
        select: select!,
        dryRun: this.dryRun,
        stopped: () => this.listingStopped(),
        onSelected: () => this.uploads.selected(),
        onAborted: () => this.uploads.aborted(),
        onFailed: (f) => this.uploads.failed(f),
      });
      if (end.kind === 'fault') this.fault ??= end.fault;
      if (end.kind === 'missing') return 'missing';
      if (end.kind !== 'done') return 'stopped';
    }
    this.uploads.sweepFinished();
    return 'done';
  }

  private rateFor(plan: StreamPlan): RateController {
    const partition = partitionOf(plan);
    let rate = this.rates.get(partition);
    if (!rate) {
      rate = new RateController();
      this.rates.set(partition, rate);
    }
    return rate;
  }

  private listingStopped(): boolean {
    return this.capReached || this.fault !== null || Date.now() >= this.stopListingAt || this.stop.signal.aborted;
  }

  /**
   * Runs the streams of a pass. Returns the streams left to do (not started,
   * stopped, or with decisions not settled when the run stopped), each with
   * the position it can safely resume from, and what resuming will redo.
   */
  private async runPass(plans: readonly StreamPlan[], bypass: boolean): Promise<{ left: StreamPlan[]; redo: Redo[] }> {
    const deleter = new BatchDeleter({
      client: this.client,
      bucket: this.o.bucket,
      concurrency: this.o.concurrency ?? DEFAULT_CONCURRENCY,
      bypassGovernanceRetention: bypass,
      hardStopAt: this.hardStopAt,
      signal: this.stop.signal,
      onDeleted: (e) => this.countDeleted(e),
      onFailed: (f) => this.countFailed(f),
      onThrottled: () => this.throttled++,
      onFault: (f) => (this.fault ??= f),
    });
    const runs: StreamRun[] = plans.map((plan) => ({ plan, listedToEnd: false }));
    const listing = new Set<StreamRun>();
    const pool = new StreamPool<StreamRun>(Math.max(1, this.o.listConcurrency ?? DEFAULT_LIST_CONCURRENCY), async (r) => {
      listing.add(r);
      try {
        await this.runStream(r, deleter, splitter);
      } finally {
        listing.delete(r);
      }
    });
    const splitter = this.listsInParallel() && this.o.range === undefined
      ? new StreamSplitter({
          client: this.client,
          bucket: this.o.bucket,
          when: this.o.splitListing ?? 'auto',
          signal: this.stop.signal,
          freeStreams: () => pool.free,
          add: (more) => {
            const added = more.map((plan): StreamRun => ({ plan, listedToEnd: false }));
            runs.push(...added);
            pool.add(added);
          },
          isListing: (r) => listing.has(r) && !r.listedToEnd && !this.listingStopped(),
          rateOf: (r) => this.rateFor(r.plan),
        })
      : undefined;
    for (const r of runs) splitter?.watch(r);
    try {
      pool.add(runs);
      await pool.done();
    } catch (err) {
      // The run fails with this error: stop the other streams (and their batches) before saying so.
      this.stop.abort();
      await pool.settled();
      await deleter.drain();
      throw err;
    } finally {
      splitter?.close();
    }
    // Every batch sent has its answer before positions are taken.
    await deleter.drain();
    const left: StreamPlan[] = [];
    const redo: Redo[] = [];
    for (const r of runs) {
      if (!r.ledger) left.push(r.plan);
      else if (!r.listedToEnd || r.ledger.unsettled) {
        left.push({ ...r.plan, start: r.ledger.checkpoint });
        redo.push(r.ledger.redo());
      }
    }
    return { left, redo };
  }

  /**
   * Whether this pass lists in parallel: split at folders ({@link planPass}) and, a stream that lists slowly, while
   * it lists (stream-splitter.ts). A purge's first pass only (see planPass for why). A run restricted to a range
   * (a workflow slice, whose planner split the bucket already) is not split either way.
   */
  private listsInParallel(): boolean {
    return this.mode === 'purge' && !this.dryRun && this.pass === 1 && (this.o.listConcurrency ?? DEFAULT_LIST_CONCURRENCY) > 1;
  }

  /** Lists one range to its end, or until the run stops (engine/stream-runner.ts). */
  private async runStream(run: StreamRun, deleter: BatchDeleter, splitter: StreamSplitter | undefined): Promise<void> {
    const host: StreamHost = {
      guardsCurrentMarkers: this.mode === 'retain',
      dryRun: this.dryRun,
      trustsSelectorState: this.o.trustSelectorState ?? true,
      signal: this.stop.signal,
      selectorFrom: (snapshot) => this.selector(snapshot),
      rateFor: (plan) => this.rateFor(plan),
      listingStopped: () => this.listingStopped(),
      listPage: (range, cursor) => this.listPage(range, cursor),
      onPage: splitter && ((stream, page, ms) => splitter.onPage(stream, page, ms)),
      mayChoose: (pending) => {
        if (this.o.maxDeletions !== undefined && this.counts.selected + pending >= this.o.maxDeletions) this.capReached = true;
        return !this.capReached;
      },
      capReached: () => this.capReached,
      resumesAtCap: this.o.resumableAtCap === true,
      onListed: () => this.counts.listed++,
      onChosen: (entry) => {
        this.counts.selected++;
        this.o.onSelected?.(entry);
      },
    };
    await new StreamRunner(run, deleter, host).run();
  }

  private closeFirstPages(): void {
    this.firstPages?.close();
    this.firstPages = null;
  }

  /** A page of `range`: the early first page when there is one (listing/first-pages.ts), else listed now. */
  private listPage(range: KeyRange, cursor: ListCursor): Promise<VersionPage | null | 'stopped'> {
    return this.firstPages?.take(range, cursor) ?? this.listWithRetries(range, cursor);
  }

  /**
   * Lists a page, retrying throttles until the run stops and other transient
   * errors as the retry policy allows. Null: the bucket is gone. 'stopped':
   * the run stopped while retrying, or the policy gave up (the run then stops
   * with the fault), so the stream keeps its position for the resume token.
   * `early`: the signal of an early first page (listing/first-pages.ts), which
   * also follows the run's stop; once it aborts, nobody wants the page (or the
   * run stopped), so the listing ends quietly, 'stopped', without a fault.
   */
  private async listWithRetries(range: KeyRange, cursor: ListCursor, early?: AbortSignal): Promise<VersionPage | null | 'stopped'> {
    let transient = 0;
    let throttles = 0;
    for (;;) {
      if (early?.aborted) return 'stopped';
      try {
        const asked = Date.now();
        const page = await listVersionPage(this.client, this.o.bucket, range, cursor, early);
        // Timed so that a stream's first page, asked for early (first-pages.ts), still says how fast the listing is.
        return { ...page, ms: Date.now() - asked };
      } catch (err) {
        if (early?.aborted) return 'stopped';
        if (isNoSuchBucket(err)) return null;
        const kind = faultKind(err);
        if (kind !== 'final' && this.listingStopped()) return 'stopped';
        if (kind === 'throttle') this.throttled++;
        const attempt = kind === 'throttle' ? ++throttles : ++transient;
        const next = decideRetry(kind, attempt, { deadline: this.stopListingAt, unboundedThrottles: true });
        if (next.retry) {
          await sleep(next.delayMs, early ?? this.stop.signal);
          continue;
        }
        if (next.why === 'final') throw err;
        if (next.why === 'attempts') {
          this.fault ??= { operation: 'ListObjectVersions', code: errorCode(err), message: errorMessage(err) };
        } else {
          // No time for another attempt: wait for the stop rather than spin.
          await sleep(this.stopListingAt - Date.now(), early ?? this.stop.signal);
        }
        return 'stopped';
      }
    }
  }

  private countDeleted(e: VersionEntry): void {
    if (e.isDeleteMarker) this.counts.deleteMarkersDeleted++;
    else {
      this.counts.deleted++;
      this.counts.bytesDeleted += e.size;
    }
  }

  private countFailed(f: DeleteFailure): void {
    this.counts.failed++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(f);
  }

  private reportProgress(): void {
    this.o.onProgress?.({
      ...this.counts,
      bucket: this.o.bucket,
      pass: this.pass,
      elapsedMs: this.elapsedMs(),
      throttled: this.throttled,
    });
  }

  private async finish(objectLock: boolean, bypass: boolean, stopped: { left: StreamPlan[]; redo: Redo[] } | null): Promise<PurgeResult> {
    if (objectLock && this.errors.length > this.explained) {
      const fresh = await explainLockFailures(this.client, this.o.bucket, this.errors.slice(this.explained), bypass);
      this.errors = [...this.errors.slice(0, this.explained), ...fresh];
      this.explained = this.errors.length;
    }
    this.reportProgress();
    return this.result(stopped ? this.tokenFor(stopped.left, stopped.redo) : null, false);
  }

  /**
   * The token of a stopped run: each unfinished stream's safe position, and
   * the counts without what the resumed run will do again, so that the
   * resumed run ends with the totals of an uninterrupted one.
   */
  private tokenFor(left: readonly StreamPlan[], redo: readonly Redo[]): ResumeToken {
    const counts = { ...this.counts };
    const again = new Set<string>();
    for (const r of redo) {
      for (const name of Object.keys(counts) as Array<keyof PurgeCounts>) counts[name] -= r[name];
      for (const id of r.failures) again.add(id);
    }
    return boundResumeToken({
      v: 2,
      ...this.identity,
      pass: this.pass,
      elapsedMs: this.elapsedMs(),
      counts,
      passStart: { ...this.passStart },
      errors: this.errors.filter((e) => !again.has(failureId(e.key, e.versionId))),
      streams: left.map((plan) => streamToken(plan, plan.start)),
      ...this.uploads.tokenFields(),
    });
  }

  private elapsedMs(): number {
    return this.elapsedBefore + (Date.now() - this.startedAt);
  }

  private result(resumeToken: ResumeToken | null, bucketMissing: boolean): PurgeResult {
    return {
      ...this.counts,
      ...this.uploads.resultFields(),
      bucket: this.o.bucket,
      mode: this.mode,
      dryRun: this.dryRun,
      errors: this.errors,
      durationMs: this.elapsedMs(),
      resumeToken,
      bucketMissing,
      capReached: this.capReached,
      throttled: this.throttled,
      passes: this.pass,
      fault: this.fault,
    };
  }
}

import type { S3Client } from '@aws-sdk/client-s3';
import { sleep } from './backoff';
import { BatchDeleter } from './batch-deleter';
import { CurrentMarkerGuard } from './current-marker-guard';
import { inspectBucket } from './bucket-preflight';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_LIST_CONCURRENCY,
  DEFAULT_MAX_PASSES,
  MAX_KEYS_PER_DELETE,
  MAX_REPORTED_ERRORS,
  MAX_SHARDS,
  PROGRESS_INTERVAL_MS,
} from './constants';
import { decodeEntry, encodeEntry, type EncodedEntry } from './entry-codec';
import { discoverBoundaries, rangesFromBoundaries, thinBoundaries } from './key-ranges';
import { explainLockFailures } from './lock-reasons';
import type { PurgeCounts, PurgeOptions, PurgeResult, ResumeToken } from './purge-types';
import { RateController } from './rate-controller';
import { decideRetry, faultKind } from './retry-policy';
import { errorCode, errorMessage, isNoSuchBucket } from './s3-errors';
import { selectAll } from './select-all';
import type { DeleteFailure, SelectorFactory, TransientFault, VersionEntry } from './types';
import { listVersionPage, type KeyRange, type ListCursor, type VersionPage } from './version-listing';

/**
 * One listing stream's position, as kept in a resume token.
 * `held` is the last entry of the last page: it names the next page's marker,
 * so it is not deleted until that page has been fetched (moto ends a listing
 * whose marker version was deleted; S3 does not, but nothing is lost either way).
 */
interface StreamState {
  readonly range: KeyRange;
  readonly cursor: ListCursor | null;
  readonly held: EncodedEntry | null;
  readonly selector: unknown;
  /** Retention: the key in progress, when some of its deletions failed (its current delete marker must stay). */
  readonly taintedKey?: string | null;
}

/** The `streams` part of a resume token. */
interface PassState {
  readonly streams: StreamState[];
  /** Entries selected but not deleted when the last run stopped. */
  readonly pending: EncodedEntry[];
}

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
  if (o.resumeToken && (o.resumeToken.v !== 1 || o.resumeToken.bucket !== o.bucket || o.resumeToken.mode !== (o.mode ?? 'purge'))) {
    throw new RangeError(`the resume token belongs to another run (bucket ${o.resumeToken.bucket}, mode ${o.resumeToken.mode})`);
  }
}

class PurgeRun {
  private readonly client: S3Client;
  private readonly mode: 'purge' | 'retain';
  private readonly dryRun: boolean;
  private readonly selector: SelectorFactory;
  private readonly startedAt = Date.now();
  private readonly counts: PurgeCounts;
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
  private readonly stopListingAt: number;
  private readonly hardStopAt: number;

  constructor(private readonly o: PurgeOptions) {
    this.client = o.client;
    this.mode = o.mode ?? 'purge';
    this.dryRun = o.dryRun ?? false;
    this.selector = o.selector ?? selectAll;
    const t = o.resumeToken ?? undefined;
    this.counts = t ? { ...t.counts } : noCounts();
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

  async execute(): Promise<PurgeResult> {
    const facts = await inspectBucket(this.client, this.o.bucket);
    if (!facts.exists) return this.result(null, true);
    const bypass = (this.o.bypassGovernanceRetention ?? false) && facts.objectLockEnabled;
    let passState = (this.o.resumeToken?.streams as PassState | undefined) ?? null;
    const progress = this.o.onProgress ? setInterval(() => this.reportProgress(), PROGRESS_INTERVAL_MS) : undefined;
    try {
      for (;;) {
        passState ??= { streams: await this.planPass(), pending: [] };
        const outcome = await this.runPass(passState, bypass);
        if (outcome.stopped) {
          // At the cap the run is complete, unless a fault left selected entries unsent: those go in the token.
          if (this.capReached && this.fault === null) break;
          return await this.finish(facts.objectLockEnabled, bypass, outcome.state);
        }
        passState = null;
        if (!this.nextPassNeeded()) break;
        this.pass++;
        this.passStart = { listed: this.counts.listed, deleted: this.deletedTotal() };
        // Failures are counted per pass: what the last pass could not delete is what remains.
        this.counts.failed = 0;
        this.errors = [];
        this.explained = 0;
      }
      return await this.finish(facts.objectLockEnabled, bypass, null);
    } catch (err) {
      if (isNoSuchBucket(err)) return this.result(null, true);
      throw err;
    } finally {
      if (progress) clearInterval(progress);
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

  private scopes(): string[] {
    const given = [...new Set(this.o.prefixes ?? [])];
    if (given.length === 0 || given.includes('')) return [''];
    // A prefix inside another one would list its keys twice.
    return given.filter((p) => !given.some((q) => q !== p && p.startsWith(q))).sort();
  }

  /**
   * The first purge pass splits each scope into key ranges at its top-level
   * "folders" and lists them in parallel. Later passes, retention runs and
   * dry runs list each scope from its start in one stream: a range starts
   * with a bare KeyMarker, which some S3-compatible servers get wrong (moto
   * skips the first entry after it), and only a purge has a confirming pass
   * from the start to catch what such a server left out.
   */
  private async planPass(): Promise<StreamState[]> {
    const listConcurrency = this.o.listConcurrency ?? DEFAULT_LIST_CONCURRENCY;
    const sharded = this.mode === 'purge' && !this.dryRun && this.pass === 1 && listConcurrency > 1;
    const streams: StreamState[] = [];
    for (const prefix of this.scopes()) {
      const boundaries = sharded ? thinBoundaries(await discoverBoundaries(this.client, this.o.bucket, prefix), MAX_SHARDS - 1) : [];
      for (const range of rangesFromBoundaries(prefix, boundaries)) {
        streams.push({ range, cursor: null, held: null, selector: null });
      }
    }
    return streams;
  }

  private rateFor(range: KeyRange): RateController {
    const partition = range.after ?? range.prefix;
    let rate = this.rates.get(partition);
    if (!rate) {
      rate = new RateController();
      this.rates.set(partition, rate);
    }
    return rate;
  }

  private listingStopped(): boolean {
    return this.capReached || this.fault !== null || Date.now() >= this.stopListingAt || this.o.signal?.aborted === true;
  }

  private async runPass(state: PassState, bypass: boolean): Promise<{ stopped: boolean; state: PassState }> {
    const deleter = new BatchDeleter({
      client: this.client,
      bucket: this.o.bucket,
      concurrency: this.o.concurrency ?? DEFAULT_CONCURRENCY,
      bypassGovernanceRetention: bypass,
      hardStopAt: this.hardStopAt,
      signal: this.o.signal,
      onDeleted: (e) => this.countDeleted(e),
      onFailed: (f) => this.countFailed(f),
      onThrottled: () => this.throttled++,
      onFault: (f) => (this.fault ??= f),
    });
    const pendingRate = new RateController();
    const pending = state.pending.map(decodeEntry);
    for (let i = 0; i < pending.length; i += MAX_KEYS_PER_DELETE) {
      await deleter.submit(pending.slice(i, i + MAX_KEYS_PER_DELETE), pendingRate);
    }
    const queue = [...state.streams];
    const unfinished: StreamState[] = [];
    const workers = Math.max(1, Math.min(this.o.listConcurrency ?? DEFAULT_LIST_CONCURRENCY, queue.length));
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          const left = await this.runStream(s, deleter);
          if (left) unfinished.push(left);
        }
      }),
    );
    await deleter.drain();
    const stopped = unfinished.length > 0 || deleter.pending.length > 0 || this.capReached;
    return { stopped, state: { streams: unfinished, pending: deleter.pending.map(encodeEntry) } };
  }

  /** Lists one range to its end (or until the run stops); returns its state if unfinished. */
  private async runStream(state: StreamState, deleter: BatchDeleter): Promise<StreamState | null> {
    const selector = this.selector(state.selector ?? undefined);
    const rate = this.rateFor(state.range);
    let cursor = state.cursor;
    let held = state.held ? decodeEntry(state.held) : null;
    let batch: VersionEntry[] = [];
    // Retention may delete a current delete marker only once everything behind it is gone.
    const guard = this.mode === 'retain' && !this.dryRun ? new CurrentMarkerGuard() : undefined;
    const settled = guard ? (entry: VersionEntry, deleted: boolean) => guard.settle(entry, deleted) : undefined;
    if (state.taintedKey) guard?.restoreTaint(state.taintedKey);
    // A resumed stream may be in the middle of a key: watch it from its first entry.
    let watchFirst = state.selector !== null && state.selector !== undefined;
    const flush = async () => {
      const full = batch;
      batch = [];
      await deleter.submit(full, rate, settled);
    };
    const enqueue = async (entry: VersionEntry) => {
      guard?.track(entry);
      batch.push(entry);
      if (batch.length >= MAX_KEYS_PER_DELETE) await flush();
    };
    const take = async (chosen: VersionEntry[]) => {
      for (const marker of guard?.takeReleased() ?? []) await enqueue(marker);
      for (const entry of chosen) {
        if (this.o.maxDeletions !== undefined && this.counts.selected >= this.o.maxDeletions) {
          this.capReached = true;
          return;
        }
        this.counts.selected++;
        this.o.onSelected?.(entry);
        if (this.dryRun) continue;
        if (guard && CurrentMarkerGuard.applies(entry) && guard.admit(entry) !== 'delete-now') continue;
        await enqueue(entry);
      }
    };
    /** Sends what is batched, then the markers released as their keys' deletions settle. */
    const finish = async (stopping: boolean) => {
      for (;;) {
        await flush();
        const released = guard?.takeReleased() ?? [];
        if (released.length > 0) {
          for (const marker of released) await enqueue(marker);
          continue;
        }
        if (!guard?.hasWaiting) return;
        if (stopping) {
          guard.abandonWaiting();
          return;
        }
        await guard.changed();
      }
    };
    for (;;) {
      if (this.listingStopped()) {
        await finish(true);
        if (this.capReached) return null;
        return {
          range: state.range,
          cursor,
          held: held ? encodeEntry(held) : null,
          selector: selector.snapshot(),
          taintedKey: guard?.taintedWatchedKey() ?? null,
        };
      }
      const page = await this.listWithRetries(state.range, cursor ?? {});
      if (page === 'stopped') continue;
      if (page === null) {
        await finish(true);
        return null;
      }
      this.counts.listed += page.entries.length;
      const entries = [...page.entries];
      if (held) entries.unshift(held);
      if (page.next) {
        held = entries.pop() ?? null;
        cursor = page.next;
      } else {
        held = null;
      }
      for (const entry of entries) {
        if (watchFirst) {
          if (!state.taintedKey) guard?.watch(entry.key);
          watchFirst = false;
        }
        await take(selector.next(entry));
        if (this.capReached) break;
        if (guard && CurrentMarkerGuard.applies(entry)) guard.watch(entry.key);
      }
      if (!page.next && !this.capReached) {
        await take(selector.end());
        await finish(false);
        return null;
      }
    }
  }

  /**
   * Lists a page, retrying throttles until the run stops and other transient
   * errors as the retry policy allows. Null: the bucket is gone. 'stopped':
   * the run stopped while retrying, or the policy gave up (the run then stops
   * with the fault), so the stream keeps its position for the resume token.
   */
  private async listWithRetries(range: KeyRange, cursor: ListCursor): Promise<VersionPage | null | 'stopped'> {
    let transient = 0;
    let throttles = 0;
    for (;;) {
      try {
        return await listVersionPage(this.client, this.o.bucket, range, cursor);
      } catch (err) {
        if (isNoSuchBucket(err)) return null;
        const kind = faultKind(err);
        if (kind !== 'final' && this.listingStopped()) return 'stopped';
        if (kind === 'throttle') this.throttled++;
        const attempt = kind === 'throttle' ? ++throttles : ++transient;
        const next = decideRetry(kind, attempt, { deadline: this.stopListingAt, unboundedThrottles: true });
        if (next.retry) {
          await sleep(next.delayMs, this.o.signal);
          continue;
        }
        if (next.why === 'final') throw err;
        if (next.why === 'attempts') {
          this.fault ??= { operation: 'ListObjectVersions', code: errorCode(err), message: errorMessage(err) };
        } else {
          // No time for another attempt: wait for the stop rather than spin.
          await sleep(this.stopListingAt - Date.now(), this.o.signal);
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
      elapsedMs: Date.now() - this.startedAt,
      throttled: this.throttled,
    });
  }

  private async finish(objectLock: boolean, bypass: boolean, unfinished: PassState | null): Promise<PurgeResult> {
    if (objectLock && this.errors.length > this.explained) {
      const fresh = await explainLockFailures(this.client, this.o.bucket, this.errors.slice(this.explained), bypass);
      this.errors = [...this.errors.slice(0, this.explained), ...fresh];
      this.explained = this.errors.length;
    }
    this.reportProgress();
    const token: ResumeToken | null = unfinished
      ? {
          v: 1,
          bucket: this.o.bucket,
          mode: this.mode,
          pass: this.pass,
          counts: { ...this.counts },
          errors: this.errors,
          streams: unfinished,
          passStart: this.passStart,
        }
      : null;
    return this.result(token, false);
  }

  private result(resumeToken: ResumeToken | null, bucketMissing: boolean): PurgeResult {
    return {
      ...this.counts,
      bucket: this.o.bucket,
      mode: this.mode,
      dryRun: this.dryRun,
      errors: this.errors,
      durationMs: Date.now() - this.startedAt,
      resumeToken,
      bucketMissing,
      capReached: this.capReached,
      throttled: this.throttled,
      passes: this.pass,
      fault: this.fault,
    };
  }
}

import { DeleteObjectCommand, type S3Client, type _Error as S3KeyError } from '@aws-sdk/client-s3';
import { backoffMs, sleep } from '../s3/backoff';
import { MAX_KEYS_PER_DELETE } from '../constants';
import type { RateController, SendTicket } from './rate-controller';
import { decideRetry, faultKind, keyFaultKind, type RetryDecision } from '../s3/retry-policy';
import { errorCode, errorMessage, isNoSuchBucket, isThrottle } from '../s3/s3-errors';
import { retriedByCaller } from '../s3/s3-retries';
import { Semaphore } from './semaphore';
import { DeleteBodyPool, leanDeleteObjects } from './delete-body';
import type { DeleteFailure, TransientFault, VersionEntry } from '../types';
import { isXmlSafeKey } from './xml-safe';

/**
 * How one entry of a batch ended: deleted, failed for good, not sent because
 * the run stopped first, or not sent because the bucket is gone.
 */
export type SettledOutcome = 'deleted' | 'failed' | 'unsent' | 'gone';

/** Hears how each entry of one batch ended. */
export type SettledListener = (entry: VersionEntry, outcome: SettledOutcome) => void;

/** Where one batch reports each entry's outcome. */
interface BatchSink {
  deleted(entry: VersionEntry): void;
  failed(entry: VersionEntry, code: string, message: string): void;
  unsent(entries: readonly VersionEntry[]): void;
  gone(entries: readonly VersionEntry[]): void;
}

/** Settings and callbacks of a {@link BatchDeleter}. */
export interface BatchDeleterOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Most requests in flight. */
  readonly concurrency: number;
  /** Send BypassGovernanceRetention (only ever true for Object Lock buckets). */
  readonly bypassGovernanceRetention: boolean;
  /** Epoch ms after which no request starts; unsent entries become pending. */
  readonly hardStopAt: number;
  readonly signal?: AbortSignal;
  onDeleted(entry: VersionEntry): void;
  onFailed(failure: DeleteFailure): void;
  onThrottled(): void;
  /** Transient faults outlasted the retry policy: the entries concerned are left pending, and the run should stop. */
  onFault(fault: TransientFault): void;
}

/**
 * Deletes batches of entries with DeleteObjects, at most `concurrency`
 * requests at a time, each paced by its partition's rate controller.
 *
 * - Per-key errors inside a 200 are read, never assumed away: transient codes
 *   are retried by the retry policy (retry-policy.ts), others are final.
 * - A whole request that fails with a transient fault is retried the same way.
 *   Entries whose faults outlast the policy are left pending (not failed: a
 *   resumed run sends them again) and reported through `onFault`.
 * - SlowDown is retried until the hard stop, cutting the partition's rate.
 * - Keys XML cannot carry go one by one through DeleteObject.
 * - Entries not sent by the hard stop are reported as unsent (and listed in
 *   `pending`); the engine resumes its listing before them.
 */
export class BatchDeleter {
  private readonly slots: Semaphore;
  /** DeleteObjects bodies, reused: one buffer per request in flight. */
  private readonly bodies: DeleteBodyPool;
  private readonly running = new Set<Promise<void>>();
  /** Entries that were not sent because the run stopped first. */
  readonly pending: VersionEntry[] = [];

  constructor(private readonly options: BatchDeleterOptions) {
    this.slots = new Semaphore(options.concurrency);
    this.bodies = new DeleteBodyPool(options.concurrency);
  }

  /**
   * Waits for a free slot, then starts deleting `entries` in the background.
   * `onSettled`, when given, hears how each entry of this batch ended.
   */
  async submit(entries: readonly VersionEntry[], rate: RateController, onSettled?: SettledListener): Promise<void> {
    if (entries.length === 0) return;
    if (entries.length > MAX_KEYS_PER_DELETE) throw new RangeError(`a batch holds at most ${MAX_KEYS_PER_DELETE} keys`);
    await this.slots.acquire();
    const sink = this.sinkFor(onSettled);
    const task = this.deleteBatch(entries, rate, sink)
      .catch((err) => this.failAll(entries, err, sink))
      .finally(() => {
        this.slots.release();
        this.running.delete(task);
      });
    this.running.add(task);
  }

  /** Resolves when every submitted batch has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private stopped(): boolean {
    return Date.now() >= this.options.hardStopAt || this.options.signal?.aborted === true;
  }

  private sinkFor(onSettled: SettledListener | undefined): BatchSink {
    return {
      deleted: (entry) => {
        this.options.onDeleted(entry);
        onSettled?.(entry, 'deleted');
      },
      failed: (entry, code, message) => {
        this.options.onFailed({ key: entry.key, versionId: entry.versionId, code, message });
        onSettled?.(entry, 'failed');
      },
      unsent: (entries) => {
        this.pending.push(...entries);
        for (const e of entries) onSettled?.(e, 'unsent');
      },
      gone: (entries) => {
        for (const e of entries) onSettled?.(e, 'gone');
      },
    };
  }

  private async deleteBatch(entries: readonly VersionEntry[], rate: RateController, sink: BatchSink): Promise<void> {
    // Almost every batch is all XML-safe: then it is sent as it is, without copies.
    const allSafe = entries.every((e) => isXmlSafeKey(e.key));
    const xmlSafe = allSafe ? entries : entries.filter((e) => isXmlSafeKey(e.key));
    const xmlUnsafe = allSafe ? [] : entries.filter((e) => !isXmlSafeKey(e.key));
    if (xmlSafe.length > 0) await this.deleteMany(xmlSafe, rate, sink);
    for (const entry of xmlUnsafe) await this.deleteOne(entry, rate, sink);
  }

  private async deleteMany(batch: readonly VersionEntry[], rate: RateController, sink: BatchSink): Promise<void> {
    const rounds: BatchRounds = { remaining: batch, requestFaults: 0, keyRounds: 0, throttledAttempts: 0 };
    while (rounds.remaining.length > 0) {
      const ticket = await this.turnToSend(rounds.remaining, rate, sink);
      if (ticket === undefined) return;
      let keyErrors: S3KeyError[];
      try {
        keyErrors = await this.sendDeleteObjects(rounds.remaining);
      } catch (err) {
        if ((await this.afterRequestError(err, rounds, rate, ticket, sink)) === 'done') return;
        continue;
      }
      rounds.throttledAttempts = 0;
      if ((await this.afterAnswer(keyErrors, rounds, rate, ticket, sink)) === 'done') return;
    }
  }

  /** Waits for the partition's pacer; undefined (the entries reported unsent) when the run stops first. */
  private async turnToSend(entries: readonly VersionEntry[], rate: RateController, sink: BatchSink): Promise<SendTicket | undefined> {
    if (this.stopped()) {
      sink.unsent(entries);
      return undefined;
    }
    const ticket = await rate.acquire(entries.length, this.options.signal);
    if (this.stopped()) {
      sink.unsent(entries);
      return undefined;
    }
    return ticket;
  }

  /** One DeleteObjects (body built in one pass, delete-body.ts); returns the per-key errors of its 200. */
  private async sendDeleteObjects(entries: readonly VersionEntry[]): Promise<S3KeyError[]> {
    const { client, bucket, bypassGovernanceRetention } = this.options;
    const lease = this.bodies.lease();
    const out = await client.send(retriedByCaller(leanDeleteObjects(bucket, entries, bypassGovernanceRetention, lease)));
    lease.release();
    return out.Errors ?? [];
  }

  /** The whole request failed: `retry` to send the batch again, `done` once every entry is settled. */
  private async afterRequestError(err: unknown, rounds: BatchRounds, rate: RateController, ticket: SendTicket, sink: BatchSink): Promise<'retry' | 'done'> {
    const remaining = rounds.remaining;
    if (isNoSuchBucket(err)) {
      sink.gone(remaining);
      return 'done';
    }
    if (isThrottle(err)) {
      await this.backOffThrottled(rate, ticket, ++rounds.throttledAttempts);
      return 'retry';
    }
    if (errorCode(err) === 'MalformedXML') {
      for (const entry of remaining) await this.deleteOne(entry, rate, sink);
      return 'done';
    }
    const next = decideRetry(faultKind(err), ++rounds.requestFaults, { deadline: this.options.hardStopAt });
    if (next.retry) {
      await sleep(next.delayMs, this.options.signal);
      return 'retry';
    }
    if (next.why === 'final') this.failAll(remaining, err, sink);
    else this.leavePending(remaining, next, 'DeleteObjects', errorCode(err), errorMessage(err), sink);
    return 'done';
  }

  /** A 200: settles each entry; `retry` with the transiently failed keys left in `rounds`, `done` otherwise. */
  private async afterAnswer(keyErrors: readonly S3KeyError[], rounds: BatchRounds, rate: RateController, ticket: SendTicket, sink: BatchSink): Promise<'retry' | 'done'> {
    const { retry, throttledKeys, lastError } = this.settle(rounds.remaining, keyErrors, sink);
    if (throttledKeys > 0) this.noteThrottled(rate, ticket);
    rate.onSuccess(rounds.remaining.length - retry.length);
    rounds.remaining = retry;
    if (retry.length === 0 || !lastError) return 'done';
    // The keys to retry go together in one request; they share its attempt count.
    const next = decideRetry(keyFaultKind(lastError.code), ++rounds.keyRounds, { deadline: this.options.hardStopAt });
    if (!next.retry) {
      this.leavePending(retry, next, 'DeleteObjects (per key)', lastError.code, lastError.message, sink);
      return 'done';
    }
    await sleep(next.delayMs, this.options.signal);
    return 'retry';
  }

  /**
   * Transient faults outlasted the retry policy (or the run's time): the
   * entries stay pending for the resume token instead of being reported as
   * failed, since S3 never said they cannot be deleted.
   */
  private leavePending(
    entries: readonly VersionEntry[],
    decision: Extract<RetryDecision, { retry: false }>,
    operation: string,
    code: string,
    message: string,
    sink: BatchSink,
  ): void {
    sink.unsent(entries);
    if (decision.why === 'attempts') this.options.onFault({ operation, code, message });
  }

  /**
   * Matches a DeleteObjects answer to the batch. Entries without an error were
   * deleted (S3's Quiet mode lists only failures).
   */
  private settle(batch: readonly VersionEntry[], keyErrors: readonly S3KeyError[], sink: BatchSink) {
    const retry: VersionEntry[] = [];
    let throttledKeys = 0;
    let lastError: { code: string; message: string } | undefined;
    if (keyErrors.length === 0) {
      // The usual answer: nothing failed, so nothing to match.
      for (const entry of batch) sink.deleted(entry);
      return { retry, throttledKeys, lastError };
    }
    const failedAt = matchKeyErrors(batch, keyErrors);
    batch.forEach((entry, i) => {
      const keyError = failedAt.get(i);
      if (!keyError) {
        sink.deleted(entry);
        return;
      }
      const code = keyError.Code ?? 'UnknownError';
      const message = keyError.Message ?? code;
      const kind = keyFaultKind(code);
      if (kind === 'throttle') throttledKeys++;
      if (kind === 'final') {
        sink.failed(entry, code, message);
        return;
      }
      retry.push(entry);
      lastError ??= { code, message };
    });
    return { retry, throttledKeys, lastError };
  }

  private async deleteOne(entry: VersionEntry, rate: RateController, sink: BatchSink): Promise<void> {
    let faults = 0;
    let throttledAttempts = 0;
    for (;;) {
      if (this.stopped()) {
        sink.unsent([entry]);
        return;
      }
      const ticket = await rate.acquire(1, this.options.signal);
      if (this.stopped()) {
        sink.unsent([entry]);
        return;
      }
      try {
        await this.options.client.send(
          retriedByCaller(new DeleteObjectCommand({
            Bucket: this.options.bucket,
            Key: entry.key,
            VersionId: entry.versionId,
            BypassGovernanceRetention: this.options.bypassGovernanceRetention || undefined,
          })),
        );
        rate.onSuccess(1);
        sink.deleted(entry);
        return;
      } catch (err) {
        if (isNoSuchBucket(err)) {
          sink.gone([entry]);
          return;
        }
        if (isThrottle(err)) {
          await this.backOffThrottled(rate, ticket, ++throttledAttempts);
          continue;
        }
        const next = decideRetry(faultKind(err), ++faults, { deadline: this.options.hardStopAt });
        if (next.retry) {
          await sleep(next.delayMs, this.options.signal);
          continue;
        }
        if (next.why === 'final') this.failAll([entry], err, sink);
        else this.leavePending([entry], next, 'DeleteObject', errorCode(err), errorMessage(err), sink);
        return;
      }
    }
  }

  private noteThrottled(rate: RateController, ticket: SendTicket): void {
    rate.onThrottle(ticket);
    this.options.onThrottled();
  }

  /** A whole request was throttled: slow its partition down and wait a little before trying again. */
  private async backOffThrottled(rate: RateController, ticket: SendTicket, attempt: number): Promise<void> {
    this.noteThrottled(rate, ticket);
    await sleep(backoffMs(attempt, 200, 2_000), this.options.signal);
  }

  private failAll(entries: readonly VersionEntry[], err: unknown, sink: BatchSink): void {
    const code = errorCode(err);
    const message = errorMessage(err);
    for (const e of entries) sink.failed(e, code, message);
  }
}

/** One batch's remaining entries and attempt counts, across its rounds. */
interface BatchRounds {
  /** Never changed in place: each round replaces it with the entries to send again. */
  remaining: readonly VersionEntry[];
  requestFaults: number;
  keyRounds: number;
  throttledAttempts: number;
}

/**
 * Which entry each per-key error is about. moto leaves VersionId out of
 * errors, so an error without one matches the first unmatched entry of its key.
 */
function matchKeyErrors(batch: readonly VersionEntry[], keyErrors: readonly S3KeyError[]): Map<number, S3KeyError> {
  const failedAt = new Map<number, S3KeyError>();
  const byKey = new Map<string, number[]>();
  batch.forEach((e, i) => {
    const list = byKey.get(e.key);
    if (list) list.push(i);
    else byKey.set(e.key, [i]);
  });
  for (const keyError of keyErrors) {
    const candidates = byKey.get(keyError.Key ?? '') ?? [];
    const index = candidates.find(
      (i) => !failedAt.has(i) && (keyError.VersionId === undefined || batch[i].versionId === keyError.VersionId),
    );
    if (index !== undefined) failedAt.set(index, keyError);
  }
  return failedAt;
}

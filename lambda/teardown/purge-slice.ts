import type { CfnAnswer, CfnDeleteEvent } from './cfn-response';
import { describeError } from '../engine/describe-error';
import { PurgeConfigError } from '../engine/errors';
import type { PurgeProgress, PurgeResult, ResumeToken } from '../engine/purge-types';
import { estimateRemaining, isEmpty } from './remaining-versions';
import type { TeardownDeps } from './deps';
import {
  failedPurgeReason,
  failedUploadsReason,
  invocationCapReason,
  outOfTimeReason,
  purgedFoundEmptyReason,
  purgedReason,
  purgeStoppedReason,
  serviceTimeoutSpentCause,
  stillHoldsVersionsReason,
  type Tally,
} from './reasons';
import type { TeardownSettings } from './settings';
import { progressOf, type TeardownMetrics, type TeardownProgress } from './metrics';

/** A continuation is not started when less than this is left of the budget (ms). */
export const MIN_SLICE_MS = 1_000;
/** Runaway guard: most invocations one request may use. */
export const MAX_INVOCATIONS = 500;
/** How often progress is logged, at most (ms). */
const PROGRESS_LOG_INTERVAL_MS = 15_000;
/** Longest time spent estimating what remains when the budget runs out (ms). */
const MAX_ESTIMATE_MS = 5_000;

/**
 * What one invocation hands to the next. JSON-serialisable; travels in the
 * continuation payload.
 */
export interface TeardownState {
  /** Epoch ms when the first invocation for this request started: the budget counts from here. */
  readonly startedAt: number;
  /** 1 for the invocation that received CloudFormation's event. */
  readonly invocation: number;
  /** The engine's token; it holds the counts and errors so far. */
  readonly resumeToken: ResumeToken | null;
  /** True when the deny-PutObject statement is in place. */
  readonly fenced: boolean;
}

/** The time this invocation may use. */
export interface TeardownTiming {
  /** Epoch ms by which this invocation must have stopped the engine. */
  readonly invocationDeadline: number;
  /** Part of the serviceTimeout budget kept for the final estimate and the answer (ms). */
  readonly answerReserveMs: number;
}

/** The handler's next step: answer CloudFormation, or continue in a new invocation. */
export type TeardownOutcome =
  | {
      readonly kind: 'answer';
      readonly answer: CfnAnswer;
      /** The teardown's totals, to emit with the answer; absent when nothing was attempted (a refusal). */
      readonly metrics?: TeardownMetrics;
    }
  | {
      readonly kind: 'continue';
      readonly state: TeardownState;
      /** The answer to give instead when the continuation cannot be started. */
      readonly fallback: CfnAnswer;
      /** The totals to emit with the fallback answer. */
      readonly fallbackMetrics?: TeardownMetrics;
    };

/**
 * Runs one slice of a purge that every check allowed: the engine runs until
 * it finishes or this invocation's time is up, then the slice decides to
 * answer (done, failed, or budget spent) or to continue.
 */
async function purgeSlice(
  event: CfnDeleteEvent,
  settings: TeardownSettings,
  state: TeardownState,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<TeardownOutcome> {
  return new PurgeSlice(event, settings, state, deps, timing).run();
}

/** One slice, as a sequence of named steps, within the serviceTimeout budget. */
class PurgeSlice {
  private readonly now: () => number;
  private readonly bucket: string;
  /** When CloudFormation stops waiting: serviceTimeout after the first invocation started. */
  private readonly budgetEnd: number;
  /** Kept for the final estimate and the answer; at most a quarter of the budget, so short serviceTimeouts still purge. */
  private readonly reserve: number;
  private readonly budgetDeadline: number;
  /** When this slice stops the engine: the budget's deadline or the invocation's, whichever comes first. */
  private readonly deadline: number;
  /** What the teardown did so far: the token's totals, then the engine's. */
  private progress: TeardownProgress;

  constructor(
    private readonly event: CfnDeleteEvent,
    private readonly settings: TeardownSettings,
    private readonly state: TeardownState,
    private readonly deps: TeardownDeps,
    private readonly timing: TeardownTiming,
  ) {
    this.now = deps.now ?? Date.now;
    this.bucket = settings.bucket;
    this.budgetEnd = state.startedAt + settings.serviceTimeoutSeconds * 1000;
    this.reserve = Math.min(timing.answerReserveMs, settings.serviceTimeoutSeconds * 250);
    this.budgetDeadline = this.budgetEnd - this.reserve;
    this.deadline = Math.min(this.budgetDeadline, timing.invocationDeadline);
    this.progress = progressOf(state.resumeToken);
  }

  async run(): Promise<TeardownOutcome> {
    if (this.state.invocation > MAX_INVOCATIONS) {
      return this.answer('FAILED', invocationCapReason(this.bucket, MAX_INVOCATIONS));
    }
    if (this.now() >= this.budgetDeadline) return this.outOfTime(tallyOf(this.state.resumeToken));
    const result = await this.runEngine();
    if ('kind' in result) return result;
    this.progress = progressOf(result);
    this.logSummary(result);
    if (result.bucketMissing) return this.answer('SUCCESS', `Bucket ${this.bucket} does not exist; nothing to purge.`);
    if (result.resumeToken === null) return this.finished(result);
    const budgetLimited = this.budgetDeadline <= this.timing.invocationDeadline;
    if (budgetLimited || this.budgetDeadline - this.now() < MIN_SLICE_MS) return this.outOfTime(result);
    return this.continueWith(result);
  }

  private answer(Status: 'SUCCESS' | 'FAILED', Reason: string): TeardownOutcome {
    return { kind: 'answer', answer: { Status, Reason, PhysicalResourceId: this.event.PhysicalResourceId }, metrics: this.metrics(Status === 'FAILED') };
  }

  /** The totals so far, as the metrics of an answer given now. */
  private metrics(failed: boolean): TeardownMetrics {
    return {
      ...this.progress,
      bucket: this.bucket,
      requestId: this.event.RequestId,
      invocations: this.state.invocation,
      durationMs: this.now() - this.state.startedAt,
      failed,
    };
  }

  /** Runs the engine until it finishes or the deadline; an engine error becomes the FAILED answer. */
  private async runEngine(): Promise<PurgeResult | TeardownOutcome> {
    const { deps, state, bucket } = this;
    let lastLog = 0;
    const onProgress = (p: PurgeProgress) => {
      if (this.now() - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
      lastLog = this.now();
      deps.logger.info('Purge progress', { ...p, invocation: state.invocation });
    };
    // The signal wakes the engine from back-off sleeps at the deadline; the
    // deadline alone is only checked between requests.
    const stop = new AbortController();
    const stopTimer = setTimeout(() => stop.abort(), Math.max(0, this.deadline - this.now()));
    try {
      return await deps.purge({
        client: deps.s3,
        bucket,
        bypassGovernanceRetention: this.settings.bypassGovernanceRetention,
        deadline: this.deadline,
        signal: stop.signal,
        resumeToken: state.resumeToken,
        onProgress,
      });
    } catch (err) {
      if (err instanceof PurgeConfigError) {
        deps.logger.error('Bucket cannot be purged', { bucket, error: err.message });
        return this.answer('FAILED', err.message);
      }
      deps.logger.error('Purge stopped with an error', { bucket, error: describeError(err) });
      return this.answer('FAILED', purgeStoppedReason(bucket, describeError(err), tallyOf(state.resumeToken)));
    } finally {
      clearTimeout(stopTimer);
    }
  }

  private logSummary(result: PurgeResult): void {
    this.deps.logger.info('Purge slice finished', {
      bucket: this.bucket,
      invocation: this.state.invocation,
      deleted: result.deleted,
      deleteMarkersDeleted: result.deleteMarkersDeleted,
      failed: result.failed,
      listed: result.listed,
      passes: result.passes,
      throttled: result.throttled,
      durationMs: result.durationMs,
      uploadsAborted: result.uploadsAborted,
      uploadsFailed: result.uploadsFailed,
      complete: result.resumeToken === null,
      fault: result.fault,
    });
  }

  /** The engine finished: failures, a bucket that still holds versions, or success. */
  private async finished(result: PurgeResult): Promise<TeardownOutcome> {
    const { bucket, deps, state } = this;
    if (result.failed > 0) {
      deps.logger.error('Versions could not be deleted', { bucket, failed: result.failed, errors: result.errors });
      return this.answer('FAILED', failedPurgeReason(bucket, result, deps.logLocation));
    }
    if (result.uploadsFailed > 0) {
      deps.logger.error('Incomplete multipart uploads could not be aborted', { bucket, failed: result.uploadsFailed, errors: result.uploadErrors });
      return this.answer('FAILED', failedUploadsReason(bucket, result, deps.logLocation));
    }
    if ((await isEmpty(deps, bucket)) === false) {
      return this.answer('FAILED', stillHoldsVersionsReason(bucket, result, result.passes, state.fenced));
    }
    const uploads = result.uploadsAborted > 0 ? ` Aborted ${result.uploadsAborted} incomplete multipart upload(s).` : '';
    return this.answer('SUCCESS', `${purgedReason(bucket, result, result.passes, state.invocation)}${uploads}`);
  }

  /** The budget is spent: SUCCESS if a quick listing finds the bucket empty, else FAILED saying how far it got. */
  private async outOfTime(t: Tally): Promise<TeardownOutcome> {
    const { bucket, deps, state, reserve } = this;
    // Half the reserve is for the answer; the estimate gets the rest (at least a quarter of it).
    const estimateUntil = Math.min(this.now() + MAX_ESTIMATE_MS, Math.max(this.now() + reserve / 4, this.budgetEnd - reserve / 2));
    const estimate = await estimateRemaining(deps, bucket, estimateUntil);
    if (estimate?.complete && estimate.count === 0 && t.failed === 0) {
      // The last slice emptied the bucket; only the confirming pass was cut short.
      return this.answer('SUCCESS', purgedFoundEmptyReason(bucket, t, state.invocation));
    }
    deps.logger.warn('Purge ran out of the serviceTimeout budget', { bucket, ...t, errors: t.errors, estimate });
    const why = serviceTimeoutSpentCause(this.settings.serviceTimeoutSeconds);
    return this.answer('FAILED', outOfTimeReason(why, this.settings, t, state.invocation, estimate, state.fenced, deps.logLocation));
  }

  /** Hands over to a new invocation, with the answer to give if that cannot start. */
  private continueWith(result: PurgeResult): TeardownOutcome {
    const { state } = this;
    const next: TeardownState = {
      startedAt: state.startedAt,
      invocation: state.invocation + 1,
      resumeToken: result.resumeToken,
      fenced: state.fenced,
    };
    const why = 'could not continue in a new invocation';
    const fallback: CfnAnswer = {
      Status: 'FAILED',
      PhysicalResourceId: this.event.PhysicalResourceId,
      Reason: outOfTimeReason(why, this.settings, result, state.invocation, undefined, state.fenced, this.deps.logLocation),
    };
    return { kind: 'continue', state: next, fallback, fallbackMetrics: this.metrics(true) };
  }
}

/** The counts and errors a resume token carries, or none for a first slice. */
function tallyOf(token: ResumeToken | null): Tally {
  return token ? { ...token.counts, errors: token.errors } : { deleted: 0, deleteMarkersDeleted: 0, failed: 0, errors: [] };
}

export { purgeSlice };

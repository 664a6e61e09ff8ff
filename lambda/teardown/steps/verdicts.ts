import type { TeardownExecutionInput, TeardownTotals, TeardownVerdict } from '../../workflow/contract';
import type { TeardownDeps } from '../deps';
import {
  failedPurgeReason,
  failedUploadsReason,
  outOfTimeReason,
  purgedFoundEmptyReason,
  purgedReason,
  serviceTimeoutSpentCause,
  stillHoldsVersionsReason,
} from '../reasons';
import { estimateRemaining, isEmpty } from '../remaining-versions';
import type { TeardownSettings } from '../settings';
import type { TeardownBudget } from './budget';

/** Longest time spent estimating what remains when the budget runs out (ms). */
const MAX_ESTIMATE_MS = 5_000;

export const success = (reason: string): TeardownVerdict => ({ status: 'SUCCESS', reason, attempted: true });
export const failure = (reason: string): TeardownVerdict => ({ status: 'FAILED', reason, attempted: true });

/** The counts as the reasons read them. */
const tallyOf = (t: TeardownTotals) => ({ deleted: t.deleted, deleteMarkersDeleted: t.deleteMarkersDeleted, failed: t.failed, errors: t.errors });

/**
 * The budget is spent: SUCCESS if a quick listing finds the bucket empty,
 * else FAILED saying how far it got (the same reasons as a single function
 * gave before the workflow).
 */
export async function outOfTimeVerdict(
  run: TeardownExecutionInput,
  settings: TeardownSettings,
  totals: TeardownTotals,
  budget: TeardownBudget,
  deps: TeardownDeps,
): Promise<TeardownVerdict> {
  const now = deps.now ?? Date.now;
  const { bucket } = settings;
  // Half the reserve is for the answer; the estimate gets the rest (at least a quarter of it).
  const until = Math.min(now() + MAX_ESTIMATE_MS, Math.max(now() + budget.reserve / 4, budget.end - budget.reserve / 2));
  const estimate = await estimateRemaining(deps, bucket, until);
  if (estimate?.complete && estimate.count === 0 && totals.failed === 0) {
    return success(purgedFoundEmptyReason(bucket, tallyOf(totals), totals.slices));
  }
  deps.logger.warn('Purge ran out of the serviceTimeout budget', { bucket, ...tallyOf(totals), estimate });
  const why = serviceTimeoutSpentCause(settings.serviceTimeoutSeconds);
  return failure(outOfTimeReason(why, settings, tallyOf(totals), totals.slices, estimate, run.fenced, deps.logLocation));
}

/**
 * A pass ended with every range done: failures, a bucket that still holds
 * versions (undefined: worth another pass), or success.
 */
export async function finishedVerdict(
  run: TeardownExecutionInput,
  settings: TeardownSettings,
  totals: TeardownTotals,
  pass: number,
  mayPassAgain: boolean,
  deps: TeardownDeps,
): Promise<TeardownVerdict | undefined> {
  const { bucket } = settings;
  if (totals.failed > 0) {
    deps.logger.error('Versions could not be deleted', { bucket, failed: totals.failed, errors: totals.errors });
    return failure(failedPurgeReason(bucket, tallyOf(totals), deps.logLocation));
  }
  if (totals.uploadsFailed > 0) {
    deps.logger.error('Incomplete multipart uploads could not be aborted', { bucket, failed: totals.uploadsFailed, errors: totals.uploadErrors });
    return failure(failedUploadsReason(bucket, totals, deps.logLocation));
  }
  // A listing from the start: ranges listed from a KeyMarker, and writers may have slipped in.
  if ((await isEmpty(deps, bucket)) !== true) {
    if (mayPassAgain) return undefined;
    return failure(stillHoldsVersionsReason(bucket, tallyOf(totals), pass, run.fenced));
  }
  const uploads = totals.uploadsAborted > 0 ? ` Aborted ${totals.uploadsAborted} incomplete multipart upload(s).` : '';
  return success(`${purgedReason(bucket, tallyOf(totals), pass, totals.slices)}${uploads}`);
}

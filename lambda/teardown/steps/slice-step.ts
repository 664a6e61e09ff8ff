import { describeError } from '../../engine/describe-error';
import { PurgeConfigError } from '../../engine/errors';
import type { PurgeProgress, PurgeResult } from '../../engine/purge-types';
import type { TeardownExecutionInput, TeardownRangeResult, TeardownSliceState } from '../../workflow/contract';
import { recheckDelete } from '../custom-resource';
import type { TeardownDeps } from '../deps';
import { TeardownBudget, type TeardownTiming } from './budget';
import { NO_TOTALS, rangeResultOf } from './totals';

/** How often progress is logged, at most (ms). */
const PROGRESS_LOG_INTERVAL_MS = 15_000;
/** Runaway guard: most slices one range may use in a pass. */
export const MAX_SLICES_PER_RANGE = 500;

/**
 * Slice: purges one key range until it is done, or until the run's deadline
 * or this invocation's time (less its margin), whichever comes first. The
 * checks run again first: the payload says where to resume, never whether
 * to delete. Returns the range's new loop state; `done` with a `result`
 * ends the range's child execution.
 */
export async function sliceTeardown(
  run: TeardownExecutionInput,
  slice: TeardownSliceState,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<TeardownSliceState> {
  const slices = (slice.slices ?? 0) + 1;
  const end = (result: TeardownRangeResult): TeardownSliceState => ({ ...slice, token: null, slices, done: true, result });
  const empty = (extra: Partial<TeardownRangeResult>): TeardownRangeResult => ({
    ...NO_TOTALS,
    index: slice.index,
    slices,
    deadlinePassed: false,
    errors: [],
    uploadErrors: [],
    ...extra,
  });

  const check = await recheckDelete(run.event, deps);
  if (check.kind === 'refused') {
    return end(empty({ refusal: { status: check.status, reason: check.reason, attempted: check.status === 'FAILED' } }));
  }
  const { settings } = check;
  const budget = new TeardownBudget(run.startedAt, settings, timing);
  const now = deps.now ?? Date.now;
  if (slices > MAX_SLICES_PER_RANGE) {
    return end(empty({ stoppedBy: `the key range used ${MAX_SLICES_PER_RANGE} slices without finishing` }));
  }
  if (now() >= budget.deadline) return end(empty({ deadlinePassed: true }));

  const deadline = budget.sliceDeadline(timing);
  let lastLog = now();
  const onProgress = (p: PurgeProgress) => {
    if (now() - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
    lastLog = now();
    deps.logger.info('Purge progress', { ...p, range: slice.range, pass: slice.pass, slice: slices });
  };
  // The signal wakes the engine from back-off sleeps at the deadline; the
  // deadline alone is only checked between requests.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, deadline - now()));
  let result: PurgeResult;
  try {
    result = await deps.purge({
      client: deps.s3,
      bucket: settings.bucket,
      range: slice.range,
      bypassGovernanceRetention: settings.bypassGovernanceRetention,
      deadline,
      signal: stop.signal,
      resumeToken: slice.token ?? null,
      onProgress,
    });
  } catch (err) {
    const why = err instanceof PurgeConfigError ? err.message : describeError(err);
    deps.logger.error('Purge of a key range stopped with an error', { bucket: settings.bucket, range: slice.range, error: why });
    return end(empty({ stoppedBy: why }));
  } finally {
    clearTimeout(timer);
  }
  deps.logger.info('Purge slice finished', {
    bucket: settings.bucket,
    range: slice.range,
    pass: slice.pass,
    slice: slices,
    deleted: result.deleted,
    deleteMarkersDeleted: result.deleteMarkersDeleted,
    failed: result.failed,
    listed: result.listed,
    throttled: result.throttled,
    complete: result.resumeToken === null,
    fault: result.fault,
    errors: result.errors.slice(0, 100),
  });
  if (result.bucketMissing || result.resumeToken === null) return end(rangeResultOf(slice.index, result, slices, false));
  // Cut short: by the run's deadline (the range ends, Confirm answers), or by this invocation's time (loop).
  if (budget.deadline <= timing.invocationDeadline || now() >= budget.deadline) {
    return end(rangeResultOf(slice.index, result, slices, true));
  }
  return { ...slice, token: result.resumeToken, slices, done: false };
}

import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { describeError } from '../../engine/describe-error';
import { PurgeConfigError } from '../../engine/errors';
import { rangesFromBoundaries, splitPoints, thinBoundaries } from '../../engine/listing/key-ranges';
import type { KeyRange, PurgeResult } from '../../engine/purge-types';
import { isNoSuchBucket } from '../../engine/s3/s3-errors';
import type {
  TeardownExecutionInput,
  TeardownPlanResult,
  TeardownPlanState,
  TeardownSliceState,
  TeardownTotals,
  TeardownVerdict,
} from '../../workflow/contract';
import { recheckDelete } from '../custom-resource';
import type { TeardownDeps } from '../deps';
import { purgeStoppedReason } from '../reasons';
import type { TeardownSettings } from '../settings';
import { TeardownBudget, type TeardownTiming } from './budget';
import { addPass, NO_TOTALS, rangeResultOf } from './totals';
import { failure, finishedVerdict, outOfTimeVerdict, success } from './verdicts';

/**
 * Most key ranges of a pass. The Map gathers one result per range into one
 * state (Step Functions caps states at 256 KiB), and S3 gives each prefix
 * partition at least 3,500 deletions/s: 64 ranges in flight already ask for
 * 224,000/s, more than a bucket's partitions usually give at once.
 */
export const MAX_TEARDOWN_RANGES = 64;
/** Bytes the ranges of a pass may take as JSON (keys can be 1 KiB each): the rest of the 256 KiB state is for the results. */
export const MAX_RANGES_BYTES = 32 * 1024;
/** Passes at most: each pass after the first lists from the start to find what is left. */
export const MAX_TEARDOWN_PASSES = 5;

/**
 * Plan: the checks again (every step re-checks), then the pass's key ranges.
 *
 * - A refusal or a failed check goes straight to Answer.
 * - Small buckets stay fast: when the first listing page (1,000 entries) is
 *   the last one, the first pass purges inline and answers, without the Map.
 * - The first pass of a larger bucket splits it at its folders, or at keys
 *   sampled across its key space when it has none
 *   (engine/listing/key-ranges.ts: disjoint ranges covering every key).
 * - Later passes list the whole bucket from its start in one range: they
 *   mop up what the first pass missed (writers that slipped in, and S3
 *   implementations that mishandle a bare KeyMarker), which is little.
 */
export async function planTeardown(
  run: TeardownExecutionInput,
  state: TeardownPlanState,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<TeardownPlanResult> {
  const pass = Number.isSafeInteger(state.pass) && state.pass >= 1 ? state.pass : 1;
  const totals = state.totals ?? NO_TOTALS;
  const answer = (verdict: TeardownVerdict): TeardownPlanResult => ({ next: 'answer', pass, totals, ranges: [], verdict });
  const check = await recheckDelete(run.event, deps);
  if (check.kind === 'refused') return answer({ status: check.status, reason: check.reason, attempted: check.status === 'FAILED' });
  const { settings } = check;
  const budget = new TeardownBudget(run.startedAt, settings, timing);
  const now = deps.now ?? Date.now;
  if (now() >= budget.deadline) return answer(await outOfTimeVerdict(run, settings, totals, budget, deps));

  let ranges: KeyRange[];
  if (pass === 1) {
    const size = await firstPage(deps, settings.bucket);
    if (size === 'missing') return answer(success(`Bucket ${settings.bucket} does not exist; nothing to purge.`));
    if (size === 'small') {
      const inline = await purgeInline(run, settings, totals, budget, deps, timing);
      if (inline.verdict) return { ...answer(inline.verdict), totals: inline.totals };
      // Out of this invocation's time before the end: the Map goes on with the whole bucket as one range.
      return { next: 'ranges', pass, totals: inline.totals, ranges: [item(0, pass, { prefix: '' })] };
    }
    ranges = await splitBucket(deps, settings.bucket);
  } else {
    ranges = [{ prefix: '' }];
  }
  deps.logger.info('Teardown pass planned', { bucket: settings.bucket, pass, ranges: ranges.length });
  return { next: 'ranges', pass, totals, ranges: ranges.map((r, i) => item(i, pass, r)) };
}

function item(index: number, pass: number, range: KeyRange): TeardownSliceState {
  return { index, pass, range, token: null, slices: 0, done: false };
}

/** 'small' when the bucket's first listing page is its last. */
async function firstPage(deps: TeardownDeps, bucket: string): Promise<'small' | 'large' | 'missing'> {
  try {
    const page = await deps.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000 }));
    return page.IsTruncated ? 'large' : 'small';
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    throw err;
  }
}

/** Disjoint key ranges covering the bucket, split at its folders (or sampled keys), within the count and byte limits. */
async function splitBucket(deps: TeardownDeps, bucket: string): Promise<KeyRange[]> {
  const boundaries = await splitPoints(deps.s3, bucket, '');
  for (let max = MAX_TEARDOWN_RANGES - 1; ; max = Math.floor(max / 2)) {
    const ranges = rangesFromBoundaries('', thinBoundaries(boundaries, max));
    if (max === 0 || Buffer.byteLength(JSON.stringify(ranges), 'utf8') <= MAX_RANGES_BYTES) return ranges;
  }
}

/**
 * A small bucket's first pass, in this invocation: the whole bucket, until
 * done or the deadline. Returns the verdict, or (without one) the totals
 * to go on with in the Map when this invocation's time ran out first.
 */
async function purgeInline(
  run: TeardownExecutionInput,
  settings: TeardownSettings,
  before: TeardownTotals,
  budget: TeardownBudget,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<{ verdict?: TeardownVerdict; totals: TeardownTotals }> {
  const deadline = budget.sliceDeadline(timing);
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, deadline - (deps.now ?? Date.now)()));
  let result: PurgeResult;
  try {
    result = await deps.purge({
      client: deps.s3,
      bucket: settings.bucket,
      bypassGovernanceRetention: settings.bypassGovernanceRetention,
      deadline,
      signal: stop.signal,
    });
  } catch (err) {
    if (err instanceof PurgeConfigError) return { verdict: failure(err.message), totals: before };
    deps.logger.error('Purge stopped with an error', { bucket: settings.bucket, error: describeError(err) });
    return { verdict: failure(purgeStoppedReason(settings.bucket, describeError(err), { ...before })), totals: before };
  } finally {
    clearTimeout(timer);
  }
  if (result.bucketMissing) return { verdict: success(`Bucket ${settings.bucket} does not exist; nothing to purge.`), totals: before };
  const deadlinePassed = result.resumeToken !== null;
  const totals = addPass(before, [rangeResultOf(0, result, 1, deadlinePassed)]);
  if (deadlinePassed) {
    if ((deps.now ?? Date.now)() >= budget.deadline) return { verdict: await outOfTimeVerdict(run, settings, totals, budget, deps), totals };
    return { totals };
  }
  const verdict = await finishedVerdict(run, settings, totals, result.passes, false, deps);
  return { verdict, totals };
}

import type { PurgeResult } from '../../engine/purge-types';
import type { TeardownRangeResult, TeardownTotals } from '../../workflow/contract';
import type { TeardownProgress } from '../metrics';

/**
 * Failures a range result carries, keys and messages cut: the Map gathers
 * every range's result into one state, which Step Functions caps at 256 KiB
 * (64 ranges × 2 failures × 1.3 KB at most). The Reason names at most five;
 * every failure is in the slice's logs.
 */
export const MAX_RANGE_ERRORS = 2;
/** Characters of a failure's key and message kept in a range result. */
const MAX_FAILURE_CHARS = 300;

const cut = (s: string) => (s.length > MAX_FAILURE_CHARS ? `${s.slice(0, MAX_FAILURE_CHARS - 1)}…` : s);
const fitted = <T extends { key: string; message: string }>(failures: readonly T[]): T[] =>
  failures.slice(0, MAX_RANGE_ERRORS).map((f) => ({ ...f, key: cut(f.key), message: cut(f.message) }));

/** Failures kept in the totals (the Reason names five). */
const MAX_TOTAL_ERRORS = 10;

/** A teardown that has done nothing yet. */
export const NO_TOTALS: TeardownTotals = {
  deleted: 0,
  deleteMarkersDeleted: 0,
  bytesDeleted: 0,
  listed: 0,
  failed: 0,
  uploadsAborted: 0,
  uploadsFailed: 0,
  slices: 0,
  errors: [],
  uploadErrors: [],
};

/** A range's result from the engine's result (cumulative over the range's slices). */
export function rangeResultOf(index: number, r: PurgeResult, slices: number, deadlinePassed: boolean): TeardownRangeResult {
  return {
    index,
    deleted: r.deleted,
    deleteMarkersDeleted: r.deleteMarkersDeleted,
    bytesDeleted: r.bytesDeleted,
    listed: r.listed,
    failed: r.failed,
    uploadsAborted: r.uploadsAborted,
    uploadsFailed: r.uploadsFailed,
    slices,
    deadlinePassed,
    ...(r.bucketMissing && { bucketMissing: true }),
    errors: fitted(r.errors),
    uploadErrors: fitted(r.uploadErrors),
  };
}

/**
 * Adds a pass's range results to the totals of earlier passes. Deletions add
 * up; failures are those of this pass only (a later pass retries what an
 * earlier one could not delete).
 */
export function addPass(before: TeardownTotals, results: readonly TeardownRangeResult[]): TeardownTotals {
  const sum = (f: (r: TeardownRangeResult) => number) => results.reduce((n, r) => n + (f(r) || 0), 0);
  return {
    deleted: before.deleted + sum((r) => r.deleted),
    deleteMarkersDeleted: before.deleteMarkersDeleted + sum((r) => r.deleteMarkersDeleted),
    bytesDeleted: before.bytesDeleted + sum((r) => r.bytesDeleted),
    listed: before.listed + sum((r) => r.listed),
    failed: sum((r) => r.failed),
    uploadsAborted: before.uploadsAborted + sum((r) => r.uploadsAborted),
    uploadsFailed: sum((r) => r.uploadsFailed),
    slices: before.slices + sum((r) => r.slices),
    errors: results.flatMap((r) => r.errors ?? []).slice(0, MAX_TOTAL_ERRORS),
    uploadErrors: results.flatMap((r) => r.uploadErrors ?? []).slice(0, MAX_TOTAL_ERRORS),
  };
}

/** The totals as the teardown metrics count them. */
export function progressOfTotals(t: TeardownTotals, passes: number): TeardownProgress {
  return {
    versionsDeleted: t.deleted,
    deleteMarkersDeleted: t.deleteMarkersDeleted,
    bytesDeleted: t.bytesDeleted,
    uploadsAborted: t.uploadsAborted,
    errors: t.failed + t.uploadsFailed,
    passes,
  };
}

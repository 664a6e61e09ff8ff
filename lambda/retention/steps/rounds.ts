import type {
  RetentionRangeResult,
  RetentionRangeState,
  RetentionRoundState,
  RetentionRunState,
  RetentionSliceState,
  RetentionTotals,
  WorkflowTally,
} from '../../workflow/contract';
import { MAX_REPORT_ENTRIES, RetentionTally } from '../report';

/** Runaway guard: most rounds one run may use. Every round finishes a range or uses up some of the cap. */
export const MAX_RETENTION_ROUNDS = 100;
/** Failures kept in the run's totals. */
const MAX_TOTAL_ERRORS = 100;

export const NO_RETENTION_TOTALS: RetentionTotals = {
  listed: 0,
  selected: 0,
  deleted: 0,
  deleteMarkersDeleted: 0,
  bytesDeleted: 0,
  failed: 0,
  uploadsSelected: 0,
  uploadsAborted: 0,
  uploadsFailed: 0,
  errors: [],
  uploadErrors: [],
};

/**
 * The quotas of a round: `remaining` shared among the unfinished ranges,
 * at least 1 each, and only `remaining` of them get one when fewer are left
 * than ranges. The quotas never add up to more than `remaining`, so however
 * many ranges run at once, the run never selects more than its cap; and when
 * enough is selectable, it stops exactly at it.
 */
export function quotasFor(remaining: number, unfinished: number): number[] {
  if (unfinished <= 0 || remaining <= 0) return [];
  if (remaining < unfinished) return Array.from({ length: remaining }, () => 1);
  const each = Math.floor(remaining / unfinished);
  const extra = remaining % unfinished;
  return Array.from({ length: unfinished }, (_, i) => each + (i < extra ? 1 : 0));
}

/** Adds a round's results to the run's totals. */
function addRound(before: RetentionTotals, results: readonly RetentionRangeResult[]): RetentionTotals {
  const sum = (f: (r: RetentionRangeResult) => number) => results.reduce((n, r) => n + (f(r) || 0), 0);
  return {
    listed: before.listed + sum((r) => r.listed),
    selected: before.selected + sum((r) => r.selected),
    deleted: before.deleted + sum((r) => r.deleted),
    deleteMarkersDeleted: before.deleteMarkersDeleted + sum((r) => r.deleteMarkersDeleted),
    bytesDeleted: before.bytesDeleted + sum((r) => r.bytesDeleted),
    failed: before.failed + sum((r) => r.failed),
    uploadsSelected: before.uploadsSelected + sum((r) => r.uploadsSelected),
    uploadsAborted: before.uploadsAborted + sum((r) => r.uploadsAborted),
    uploadsFailed: before.uploadsFailed + sum((r) => r.uploadsFailed),
    errors: [...before.errors, ...results.flatMap((r) => r.errors ?? [])].slice(0, MAX_TOTAL_ERRORS),
    uploadErrors: [...before.uploadErrors, ...results.flatMap((r) => r.uploadErrors ?? [])].slice(0, MAX_TOTAL_ERRORS),
  };
}

/** The run's tally with a round's range tallies added. */
export function mergeTallies(into: WorkflowTally, parts: readonly WorkflowTally[]): WorkflowTally {
  const byPrefix: Record<string, { versions: number; deleteMarkers: number; bytes: number }> = {};
  const total = { ...into.total };
  for (const [prefix, t] of Object.entries(into.byPrefix)) byPrefix[prefix] = { ...t };
  const sample = [...into.sample];
  for (const part of parts) {
    for (const [prefix, t] of Object.entries(part?.byPrefix ?? {})) {
      const acc = (byPrefix[prefix] ??= { versions: 0, deleteMarkers: 0, bytes: 0 });
      acc.versions += t.versions;
      acc.deleteMarkers += t.deleteMarkers;
      acc.bytes += t.bytes;
    }
    if (part?.total) {
      total.versions += part.total.versions;
      total.deleteMarkers += part.total.deleteMarkers;
      total.bytes += part.total.bytes;
    }
    for (const s of part?.sample ?? []) if (sample.length < 20) sample.push(s);
  }
  return { byPrefix, total, sample };
}

export const EMPTY_TALLY: WorkflowTally = new RetentionTally().snapshot();

/**
 * Round: adds up the last round (if any), then plans the next one, or ends
 * the run (`next: 'finish'`): every range finished, the cap reached, a range
 * failed, or the round guard. Pure: deletes nothing, reads nothing.
 */
export function nextRound(state: RetentionRoundState): RetentionRunState {
  const results = Array.isArray(state.results) ? state.results : [];
  const byIndex = new Map(results.map((r) => [r.index, r]));
  const ranges: RetentionRangeState[] = state.ranges.map((r) => {
    const result = byIndex.get(r.index);
    return result && !result.error && !result.failure ? { ...r, token: result.token, done: result.done } : r;
  });
  const totals = addRound(state.totals, results);
  const selected = results.reduce((n, r) => n + (r.selected || 0), 0);
  const remaining = state.remaining === null ? null : Math.max(0, state.remaining - selected);
  const report = state.report
    ? {
        entriesWritten: state.report.entriesWritten + results.reduce((n, r) => n + (r.reportEntries || 0), 0),
        files: [...state.report.files, ...results.flatMap((r) => r.reportFiles ?? [])],
      }
    : null;
  const failed = results.find((r) => r.error || r.failure);
  const failure =
    state.failure ??
    (failed
      ? `key range ${failed.index} stopped: ${failed.failure ?? `${failed.error!.Error}${failed.error!.Cause ? `: ${failed.error!.Cause}` : ''}`}`
      : undefined);
  const unfinished = ranges.filter((r) => !r.done);
  const base = {
    ...state,
    ranges,
    totals,
    remaining,
    report,
    tally: mergeTallies(state.tally, results.map((r) => r.tally)),
    // Rounds run so far; a new round below counts itself.
    round: state.round,
    capReached: remaining === 0 && unfinished.length > 0,
    items: [] as RetentionSliceState[],
  };
  delete (base as { results?: unknown }).results;
  if (failure) return { ...base, next: 'finish', failure };
  if (unfinished.length === 0 || remaining === 0) return { ...base, next: 'finish' };
  if (base.round >= MAX_RETENTION_ROUNDS) return { ...base, next: 'finish', failure: `it did not finish within ${MAX_RETENTION_ROUNDS} rounds.` };
  const round = base.round + 1;
  const quotas = remaining === null ? unfinished.map(() => null) : quotasFor(remaining, unfinished.length);
  const reportLeft = report ? Math.max(0, MAX_REPORT_ENTRIES - report.entriesWritten) : 0;
  const items = quotas.map(
    (quota, i): RetentionSliceState => ({
      index: unfinished[i].index,
      round,
      runId: state.runId,
      asOf: state.asOf,
      range: unfinished[i].range,
      token: unfinished[i].token,
      quota,
      reportRoom: Math.floor(reportLeft / quotas.length),
      slices: 0,
      done: false,
    }),
  );
  // A range's token travels in its item this round (and comes back in its result): not twice in the state.
  const inFlight = new Set(items.map((i) => i.index));
  return { ...base, round, next: 'ranges', items, ranges: base.ranges.map((r) => (inFlight.has(r.index) ? { ...r, token: null } : r)) };
}

import type { S3Client } from '@aws-sdk/client-s3';
import { describeError } from '../../engine/describe-error';
import type { PurgeCounts, PurgeOptions, PurgeProgress, PurgeResult, ResumeToken, UploadCounts } from '../../engine/purge-types';
import type { RetentionChildInput, RetentionRangeResult, RetentionSliceState, WorkflowTally } from '../../workflow/contract';
import { ReportEntryCollector, reportStem, RetentionTally } from '../report';
import { retentionSelector } from '../selector';
import { retentionUploadSelector } from '../upload-selector';
import { type ConfiguredRunSource, readConfiguredRun } from './configured-run';
import { mergeTallies, NO_RETENTION_TOTALS } from './rounds';

/** How often progress is logged, at most (ms). */
const PROGRESS_LOG_INTERVAL_MS = 15_000;
/** Runaway guard: most slices one range may use in a round. */
export const MAX_RETENTION_SLICES = 100;
/** Top-level prefixes and sample entries a range's result carries (the run's tally keeps more). */
const RESULT_TALLY_PREFIXES = 20;
const RESULT_TALLY_SAMPLE = 3;
/** Failures a range result carries. */
const RESULT_ERRORS = 5;

/** What a retention slice needs. */
export interface RetentionSliceDeps extends ConfiguredRunSource {
  readonly s3: S3Client;
  readonly purge: (options: PurgeOptions) => Promise<PurgeResult>;
  readonly logger: {
    info(message: string, attributes?: Record<string, unknown>): void;
    error(message: string, attributes?: Record<string, unknown>): void;
  };
}

type Counts = PurgeCounts & UploadCounts;
const COUNT_NAMES = ['listed', 'selected', 'deleted', 'deleteMarkersDeleted', 'bytesDeleted', 'failed', 'uploadsSelected', 'uploadsAborted', 'uploadsFailed'] as const;

/** The totals a token carries (zeros for none). */
function countsOfToken(token: ResumeToken | null): Counts {
  return {
    listed: token?.counts.listed ?? 0,
    selected: token?.counts.selected ?? 0,
    deleted: token?.counts.deleted ?? 0,
    deleteMarkersDeleted: token?.counts.deleteMarkersDeleted ?? 0,
    bytesDeleted: token?.counts.bytesDeleted ?? 0,
    failed: token?.counts.failed ?? 0,
    uploadsSelected: token?.uploads?.uploadsSelected ?? 0,
    uploadsAborted: token?.uploads?.uploadsAborted ?? 0,
    uploadsFailed: token?.uploads?.uploadsFailed ?? 0,
  };
}

/**
 * Slice: runs retention on one key range until the range is done, its
 * quota of the cap for this round is used up, or this invocation's time is
 * up. Reads the configured run from the stack again first: the step state
 * says where to resume and how much is left, never what to delete. A quota
 * in the state can only narrow: it is cut to the configured cap.
 */
export async function sliceRetention(child: RetentionChildInput, deps: RetentionSliceDeps, invocationDeadline: number): Promise<RetentionSliceState> {
  const { run, slice } = child;
  const slices = (slice.slices ?? 0) + 1;
  const sofar = slice.result ?? emptyResult(slice.index, slice.token);
  const event = await readConfiguredRun(run, slice.asOf, deps);
  const cap = event.maxDeletionsPerRun;
  const quota = cap === undefined ? null : Math.max(0, Math.min(slice.quota ?? cap, cap));
  const end = (result: RetentionRangeResult): RetentionSliceState => ({ ...slice, slices, done: true, result });
  if (slices > MAX_RETENTION_SLICES) return end({ ...sofar, failure: `the key range used ${MAX_RETENTION_SLICES} slices in one round without finishing` });
  if (quota === 0) return end(sofar);

  const asOf = new Date(slice.asOf);
  const tally = new RetentionTally();
  const target = event.dryRun ? event.report : undefined;
  const collector = target ? new ReportEntryCollector(Math.max(0, slice.reportRoom)) : undefined;
  const before = countsOfToken(slice.token);
  const context = { bucket: event.bucketName, runId: slice.runId, range: slice.range, round: slice.round, slice: slices, dryRun: event.dryRun };
  let lastLog = deps.now();
  const onProgress = (p: PurgeProgress) => {
    if (deps.now() - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
    lastLog = deps.now();
    deps.logger.info('Retention progress', { ...context, ...p });
  };
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, invocationDeadline - deps.now()));
  let result: PurgeResult;
  try {
    result = await deps.purge({
      client: deps.s3,
      bucket: event.bucketName,
      mode: 'retain',
      selector: retentionSelector(event.policy, asOf),
      abortUploads: retentionUploadSelector(event.policy, asOf),
      policy: event.policy,
      prefixes: event.policy.prefixes,
      range: slice.range,
      ...(quota !== null && { maxDeletions: before.selected + quota, resumableAtCap: true }),
      dryRun: event.dryRun,
      deadline: invocationDeadline,
      signal: stop.signal,
      resumeToken: slice.token,
      // The token came in a step payload: its selector snapshots are not trusted (see PurgeOptions).
      trustSelectorState: false,
      onProgress,
      onSelected: (entry) => {
        tally.add(entry);
        collector?.add(entry);
      },
    });
  } catch (err) {
    deps.logger.error('Retention of a key range stopped with an error', { ...context, error: describeError(err) });
    return end({ ...sofar, failure: `the engine stopped with an error: ${describeError(err)}` });
  } finally {
    clearTimeout(timer);
  }

  // What this slice added: the next token's totals (or the result's, at the end) less the token it started from.
  const after: Counts = result.resumeToken ? countsOfToken(result.resumeToken) : result;
  const added = Object.fromEntries(COUNT_NAMES.map((n) => [n, after[n] - before[n]])) as unknown as Counts;
  let reportFiles = sofar.reportFiles;
  let reportEntries = sofar.reportEntries;
  if (target && collector && collector.count > 0) {
    const stem = reportStem(target, event.bucketName, slice.asOf, slice.runId);
    try {
      const written = await collector.flush(deps.s3, target, stem, `r${slice.round}-k${slice.index}-s${slices}`, { entriesWritten: 0, files: [] });
      reportFiles = [...reportFiles, ...written.files];
      reportEntries += written.entriesWritten;
    } catch (err) {
      return end({ ...sofar, failure: `the dry-run report could not be written to s3://${target.bucketName}/${stem}: ${describeError(err)}` });
    }
  }
  const token = lean(result.resumeToken);
  const next: RetentionRangeResult = {
    ...sofar,
    ...Object.fromEntries(COUNT_NAMES.map((n) => [n, sofar[n] + added[n]])),
    token,
    done: result.resumeToken === null,
    errors: [...sofar.errors, ...result.errors].slice(0, RESULT_ERRORS),
    uploadErrors: [...sofar.uploadErrors, ...result.uploadErrors].slice(0, RESULT_ERRORS),
    tally: compact(mergeTallies(sofar.tally, [tally.snapshot()])),
    reportFiles,
    reportEntries,
    ...(result.bucketMissing && { failure: 'the bucket does not exist.' }),
  };
  deps.logger.info('Retention slice finished', { ...context, ...added, complete: next.done, capReached: result.capReached, fault: result.fault });
  const quotaLeft = quota === null ? null : quota - added.selected;
  if (next.done || result.bucketMissing || (quotaLeft !== null && quotaLeft <= 0) || result.capReached) return end(next);
  // Out of this invocation's time: loop with what is left of the quota.
  return { ...slice, token, quota: quotaLeft, reportRoom: Math.max(0, slice.reportRoom - (reportEntries - sofar.reportEntries)), slices, done: false, result: next };
}

/**
 * The token without its failures: the run's state carries every range's
 * token between rounds, within Step Functions' 256 KiB, and a token full of
 * failures takes 8 KiB. The failures travel in the range's result instead
 * (each slice reports its own), and the counts stay in the token.
 */
function lean(token: ResumeToken | null): ResumeToken | null {
  if (!token) return null;
  return { ...token, errors: [], ...(token.uploadErrors !== undefined && { uploadErrors: [] }) };
}

function emptyResult(index: number, token: ResumeToken | null): RetentionRangeResult {
  return {
    ...NO_RETENTION_TOTALS,
    index,
    token,
    done: false,
    errors: [],
    uploadErrors: [],
    tally: { byPrefix: {}, total: { versions: 0, deleteMarkers: 0, bytes: 0 }, sample: [] },
    reportFiles: [],
    reportEntries: 0,
  };
}

/** A range's tally cut to what a Map result may carry: the largest prefixes, the rest folded, a few samples. */
function compact(t: WorkflowTally): WorkflowTally {
  const entries = Object.entries(t.byPrefix).sort((a, b) => b[1].versions + b[1].deleteMarkers - (a[1].versions + a[1].deleteMarkers));
  if (entries.length <= RESULT_TALLY_PREFIXES && t.sample.length <= RESULT_TALLY_SAMPLE) return t;
  const byPrefix: WorkflowTally['byPrefix'] = {};
  for (const [prefix, totals] of entries.slice(0, RESULT_TALLY_PREFIXES - 1)) byPrefix[prefix] = totals;
  for (const [, totals] of entries.slice(RESULT_TALLY_PREFIXES - 1)) {
    const other = (byPrefix['(other prefixes)'] ??= { versions: 0, deleteMarkers: 0, bytes: 0 });
    other.versions += totals.versions;
    other.deleteMarkers += totals.deleteMarkers;
    other.bytes += totals.bytes;
  }
  return { byPrefix, total: t.total, sample: t.sample.slice(0, RESULT_TALLY_SAMPLE) };
}

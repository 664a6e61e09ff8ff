import type { S3Client } from '@aws-sdk/client-s3';
import { RetentionRunError } from '../../engine/errors';
import { describeError } from '../../engine/describe-error';
import { describeFailure, fmt, plural } from '../../engine/failure-text';
import type { RetentionExecutionInput, RetentionFinishState, RetentionRunState, RetentionTotals } from '../../workflow/contract';
import type { RetentionEvent } from '../contract';
import type { PublishRetentionMetrics } from '../metrics';
import { putReportObject, reportStem } from '../report';
import { type ConfiguredRunSource, readConfiguredRun } from './configured-run';

/** Failures named in the error a failed run throws; all are in the logs. */
const MAX_FAILURES_IN_MESSAGE = 5;

/** What Finish needs. */
export interface RetentionFinishDeps extends ConfiguredRunSource {
  readonly s3: S3Client;
  readonly publishMetrics: PublishRetentionMetrics;
  readonly logger: {
    info(message: string, attributes?: Record<string, unknown>): void;
    warn(message: string, attributes?: Record<string, unknown>): void;
    error(message: string, attributes?: Record<string, unknown>): void;
  };
}

/** What a finished run did (also logged). */
export interface RetentionSummary extends Omit<RetentionTotals, 'errors' | 'uploadErrors'> {
  readonly bucket: string;
  readonly runId: string;
  readonly asOf: string;
  readonly dryRun: boolean;
  readonly rounds: number;
  readonly ranges: number;
  readonly capReached: boolean;
  readonly runDurationMs: number;
  readonly reportKey?: string;
}

/**
 * Finish: the run's end. Writes the dry-run report's summary object, logs
 * the summary and emits the run's metrics once. A run that failed (a
 * range's error, entries not deleted, a missing bucket, an unwritable
 * report, a step the workflow caught) throws {@link RetentionRunError} after
 * its metrics: the Task fails and the execution ends in a Fail state, which
 * the failed-executions alarm sees. Reaching `maxDeletionsPerRun` is not a
 * failure; the `CapReached` metric reports it.
 */
export async function finishRetention(run: RetentionExecutionInput, state: RetentionFinishState, deps: RetentionFinishDeps): Promise<RetentionSummary> {
  const caught = state.error ? `step failed: ${state.error.Error}${state.error.Cause ? `: ${state.error.Cause}` : ''}` : undefined;
  if (!isRunState(state)) {
    // Plan itself failed: no run state; the configured bucket names the metrics if it can be read.
    const reason = caught ?? 'the run has no state.';
    let event: RetentionEvent | undefined;
    try {
      event = await readConfiguredRun(run, undefined, deps);
    } catch {
      // The request itself cannot run (the reason says why): no bucket to report on.
    }
    deps.logger.error('Retention run failed', { purger: run.purger, reason });
    if (event) {
      deps.publishMetrics({
        bucket: event.bucketName,
        runId: state.runId ?? '(unknown)',
        dryRun: event.dryRun,
        invocations: 0,
        versionsDeleted: 0,
        deleteMarkersDeleted: 0,
        bytesDeleted: 0,
        deleteErrors: 0,
        runDurationMs: 0,
        capReached: false,
        runFailed: true,
      });
    }
    throw new RetentionRunError(event?.bucketName ?? run.purger, `Retention run of purger ${run.purger} failed: ${reason}`);
  }
  const t = state.totals;
  let failure = caught ?? state.failure;
  let reportKey: string | undefined;
  if (!failure && state.report) {
    try {
      reportKey = await writeReportSummary(run, state, deps);
    } catch (err) {
      failure = `the dry-run report could not be written: ${describeError(err)}`;
    }
  }
  failure ??= t.failed > 0 ? failedEntriesReason(t) : t.uploadsFailed > 0 ? failedUploadsReason(t) : undefined;
  const runDurationMs = deps.now() - state.startedAt;
  const summary: RetentionSummary = {
    bucket: state.bucket,
    runId: state.runId,
    asOf: new Date(state.asOf).toISOString(),
    dryRun: state.dryRun,
    rounds: state.round,
    ranges: state.ranges.length,
    listed: t.listed,
    selected: t.selected,
    deleted: t.deleted,
    deleteMarkersDeleted: t.deleteMarkersDeleted,
    bytesDeleted: t.bytesDeleted,
    failed: t.failed,
    uploadsSelected: t.uploadsSelected,
    uploadsAborted: t.uploadsAborted,
    uploadsFailed: t.uploadsFailed,
    capReached: state.capReached,
    runDurationMs,
    ...(reportKey && { reportKey }),
  };
  const slices = state.round;
  deps.publishMetrics({
    bucket: state.bucket,
    runId: state.runId,
    dryRun: state.dryRun,
    invocations: slices,
    versionsDeleted: t.deleted,
    deleteMarkersDeleted: t.deleteMarkersDeleted,
    bytesDeleted: t.bytesDeleted,
    deleteErrors: t.failed,
    runDurationMs,
    capReached: state.capReached,
    runFailed: failure !== undefined,
  });
  if (failure) {
    deps.logger.error('Retention run failed', { ...summary, reason: failure, selectedEntries: state.tally, errors: t.errors, uploadErrors: t.uploadErrors });
    throw new RetentionRunError(state.bucket, `Retention run ${state.runId} of bucket ${state.bucket} failed: ${failure}`);
  }
  const message = state.dryRun ? 'Retention dry run finished; nothing was deleted' : 'Retention run finished';
  if (state.capReached) deps.logger.warn(`${message}; it stopped at maxDeletionsPerRun`, { ...summary, selectedEntries: state.tally });
  else deps.logger.info(message, { ...summary, selectedEntries: state.tally });
  return summary;
}

function isRunState(state: RetentionFinishState): state is RetentionRunState & RetentionFinishState {
  return typeof state.bucket === 'string' && typeof state.runId === 'string' && Array.isArray(state.ranges) && typeof state.totals === 'object';
}

/** Writes the dry-run report's summary object; returns its location. */
async function writeReportSummary(run: RetentionExecutionInput, state: RetentionRunState, deps: RetentionFinishDeps): Promise<string | undefined> {
  const event = await readConfiguredRun(run, state.asOf, deps);
  const target = event.dryRun ? event.report : undefined;
  if (!target || !state.report) return undefined;
  const stem = reportStem(target, state.bucket, state.asOf, state.runId);
  const key = `${stem}.json`;
  const t = state.totals;
  const body = {
    bucket: state.bucket,
    runId: state.runId,
    asOf: new Date(state.asOf).toISOString(),
    startedAt: new Date(state.startedAt).toISOString(),
    finishedAt: new Date(deps.now()).toISOString(),
    dryRun: true,
    policy: event.policy,
    maxDeletionsPerRun: event.maxDeletionsPerRun ?? null,
    rounds: state.round,
    ranges: state.ranges.length,
    complete: !state.capReached,
    capReached: state.capReached,
    listed: t.listed,
    selected: t.selected,
    wouldDelete: state.tally.total,
    wouldAbortUploads: t.uploadsSelected,
    byPrefix: state.tally.byPrefix,
    entries: { count: state.report.entriesWritten, truncated: t.selected > state.report.entriesWritten, files: state.report.files },
  };
  await putReportObject(deps.s3, target.bucketName, key, `${JSON.stringify(body, null, 2)}\n`, 'application/json');
  return `s3://${target.bucketName}/${key}`;
}

/** Why a run whose entries could not all be deleted failed: counts and the first failures. */
function failedEntriesReason(t: RetentionTotals): string {
  const shown = t.errors.slice(0, MAX_FAILURES_IN_MESSAGE).map(describeFailure);
  const more = t.failed > shown.length ? `; and ${fmt(t.failed - shown.length)} more` : '';
  return (
    `${plural(t.failed, 'entry', 'entries')} could not be deleted (${plural(t.deleted, 'version')} and ` +
    `${plural(t.deleteMarkersDeleted, 'delete marker')} deleted). First failures: ${shown.join('; ')}${more}.`
  );
}

/** Why a run whose incomplete uploads could not all be aborted failed: counts and the first failures. */
function failedUploadsReason(t: RetentionTotals): string {
  const shown = t.uploadErrors.slice(0, MAX_FAILURES_IN_MESSAGE).map((f) => `${JSON.stringify(f.key)} (upload ${f.uploadId}): ${f.code}`);
  const more = t.uploadsFailed > shown.length ? `; and ${fmt(t.uploadsFailed - shown.length)} more` : '';
  return (
    `${plural(t.uploadsFailed, 'incomplete multipart upload')} could not be aborted (${plural(t.uploadsAborted, 'upload')} ` +
    `aborted). First failures: ${shown.join('; ')}${more}.`
  );
}

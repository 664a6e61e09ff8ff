import type { S3Client } from '@aws-sdk/client-s3';
import { RetentionEventError, RetentionRunError } from '../engine/errors';
import type { PurgeCounts, PurgeOptions, PurgeProgress, PurgeResult } from '../engine/purge-types';
import {
  RETENTION_CONTINUATION_KIND,
  RETENTION_EVENT_KIND,
  type RetentionContinuation,
  type RetentionEvent,
  type RetentionReportProgress,
  type RetentionReportTarget,
  type RetentionRunState,
  type RetentionTallySnapshot,
} from './contract';
import type { PublishRetentionMetrics } from './metrics';
import { validateRetentionPolicy } from '../engine/retention-policy';
import {
  MAX_REPORT_ENTRIES,
  putReportObject,
  ReportEntryCollector,
  reportStem,
  RetentionTally,
} from './report';
import { retentionSelector } from './selector';
import { describeError } from '../engine/describe-error';
import { describeFailure, fmt, plural } from '../engine/failure-text';
import { errorMessage } from '../engine/s3/s3-errors';
import type { DeleteFailure } from '../engine/types';

/** Runaway guard: most invocations one retention run may use. */
export const MAX_RETENTION_INVOCATIONS = 100;
/** How often progress is logged, at most (ms). */
const PROGRESS_LOG_INTERVAL_MS = 15_000;
/** Failures named in the error a failed run throws; all are in the logs. */
const MAX_FAILURES_IN_MESSAGE = 5;
/** Failures logged at the end of a run (the engine keeps the first 100). */
const MAX_FAILURES_LOGGED = 100;

/** The logger subset retention uses (Powertools Logger fits it). */
export interface RetentionLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** What a retention run needs from the outside world. */
export interface RetentionDeps {
  readonly s3: S3Client;
  /** The purge engine's entry point. */
  readonly purge: (options: PurgeOptions) => Promise<PurgeResult>;
  /** Starts the next invocation of a run (asynchronously). */
  readonly invokeSelf: (continuation: RetentionContinuation) => Promise<void>;
  readonly logger: RetentionLogger;
  /** Emits the run's metrics once, when the run ends. */
  readonly publishMetrics: PublishRetentionMetrics;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The time this invocation may use. */
export interface RetentionTiming {
  /** Epoch ms by which this invocation must have stopped the engine. */
  readonly invocationDeadline: number;
}

/** How an invocation of a retention run ended, when it did not throw. */
export type RetentionOutcome =
  | { readonly kind: 'finished'; readonly summary: RetentionSummary }
  | { readonly kind: 'continued'; readonly invocation: number }
  | { readonly kind: 'duplicate' };

/** What a finished run did (also logged). */
export interface RetentionSummary extends PurgeCounts {
  readonly bucket: string;
  readonly runId: string;
  readonly asOf: string;
  readonly dryRun: boolean;
  readonly invocations: number;
  readonly capReached: boolean;
  readonly runDurationMs: number;
  /** Selected entries (deleted, or to be deleted in a dry run) by top-level prefix, with totals and a sample. */
  readonly selectedEntries: RetentionTallySnapshot;
  /** Key of the dry-run report's summary object, when one was written. */
  readonly reportKey?: string;
  /** The first failures. */
  readonly errors: readonly DeleteFailure[];
}

/**
 * Runs, identified `runId#invocation`, this execution environment has
 * finished or handed over. A duplicate delivery of a continuation that lands
 * here is dropped; elsewhere it would list from the same position again,
 * which deletes nothing twice (see README.md, "Runs, continuations and overlapping runs").
 */
const completed = new Set<string>();
/** Keeps {@link completed} bounded in a long-lived environment. */
const MAX_REMEMBERED = 1_000;

const EVENT_PROPERTIES: readonly string[] = ['kind', 'v', 'bucketName', 'policy', 'maxDeletionsPerRun', 'dryRun', 'report', 'asOf'];

function invalid(reason: string): never {
  throw new RetentionEventError(`Invalid retention event: ${reason}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the event the schedule sent. Strict: an unknown property is refused
 * (a misspelt setting would otherwise be silently ignored).
 * @throws RetentionEventError naming the first problem.
 */
function parseRetentionEvent(value: unknown): RetentionEvent {
  if (!isObject(value) || value.kind !== RETENTION_EVENT_KIND) invalid(`expected an object with kind "${RETENTION_EVENT_KIND}".`);
  if (value.v !== 1) invalid(`unsupported version ${JSON.stringify(value.v)}; this handler reads version 1.`);
  const unknown = Object.keys(value).filter((k) => !EVENT_PROPERTIES.includes(k));
  if (unknown.length > 0) invalid(`unknown propert${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}.`);
  const { bucketName, policy, maxDeletionsPerRun, dryRun, report, asOf } = value;
  if (typeof bucketName !== 'string' || bucketName.length === 0) invalid('bucketName must be a non-empty string.');
  try {
    validateRetentionPolicy(policy);
  } catch (err) {
    invalid(errorMessage(err));
  }
  if (maxDeletionsPerRun !== undefined && (!Number.isSafeInteger(maxDeletionsPerRun) || (maxDeletionsPerRun as number) < 1)) {
    invalid(`maxDeletionsPerRun must be a whole number >= 1, got ${JSON.stringify(maxDeletionsPerRun)}.`);
  }
  if (dryRun !== undefined && typeof dryRun !== 'boolean') invalid(`dryRun must be a boolean, got ${JSON.stringify(dryRun)}.`);
  if (report !== undefined) {
    if (!isObject(report) || typeof report.bucketName !== 'string' || report.bucketName.length === 0 || typeof report.prefix !== 'string') {
      invalid('report must be an object with a non-empty bucketName and a string prefix.');
    }
  }
  if (asOf !== undefined && (typeof asOf !== 'string' || Number.isNaN(Date.parse(asOf)))) {
    invalid(`asOf must be an ISO-8601 instant, got ${JSON.stringify(asOf)}.`);
  }
  return {
    kind: RETENTION_EVENT_KIND,
    v: 1,
    bucketName,
    policy,
    dryRun: dryRun === true,
    ...(maxDeletionsPerRun !== undefined ? { maxDeletionsPerRun: maxDeletionsPerRun as number } : {}),
    ...(report !== undefined ? { report: report as unknown as RetentionReportTarget } : {}),
    ...(asOf !== undefined ? { asOf: asOf as string } : {}),
  };
}

/** Checks a continuation's shape (it was written by this handler). */
function parseContinuation(value: Record<string, unknown>): { run: RetentionEvent; state: RetentionRunState } {
  if (value.v !== 1) invalid(`unsupported continuation version ${JSON.stringify(value.v)}.`);
  const run = parseRetentionEvent(value.run);
  const state = value.state;
  if (
    !isObject(state) ||
    typeof state.runId !== 'string' ||
    !Number.isFinite(state.startedAt) ||
    !Number.isFinite(state.asOf) ||
    !Number.isSafeInteger(state.invocation) ||
    (state.invocation as number) < 2 ||
    !(state.resumeToken === null || isObject(state.resumeToken)) ||
    !isObject(state.tally) ||
    !(state.report === null || isObject(state.report))
  ) {
    invalid('malformed continuation state.');
  }
  return { run, state: state as unknown as RetentionRunState };
}

/** The run and, for a continuation, where it stands. */
function parseRetentionRequest(value: unknown): { run: RetentionEvent; state: RetentionRunState | null } {
  if (isObject(value) && value.kind === RETENTION_CONTINUATION_KIND) return parseContinuation(value);
  return { run: parseRetentionEvent(value), state: null };
}

/** The state of a run's first invocation. */
function initialState(run: RetentionEvent, runId: string, startedAt: number): RetentionRunState {
  return {
    runId,
    startedAt,
    asOf: run.asOf !== undefined ? Date.parse(run.asOf) : startedAt,
    invocation: 1,
    resumeToken: null,
    tally: new RetentionTally().snapshot(),
    report: run.dryRun && run.report ? { entriesWritten: 0, files: [] } : null,
  };
}

/** Records a handled `runId#invocation` (bounded). */
function remember(id: string): void {
  if (completed.size >= MAX_REMEMBERED) completed.clear();
  completed.add(id);
}

const zeroCounts = (): PurgeCounts => ({ listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 });

/**
 * Runs one invocation of a scheduled retention run: the first, started by
 * the schedule's event, or a continuation the run sent to itself.
 *
 * 1. Validates the event (a {@link RetentionEventError} for a bad one).
 * 2. Runs the engine in `retain` mode with the policy as of the run's start
 *    (`asOf`, the same for every invocation of the run) until it finishes or
 *    this invocation's deadline.
 * 3. Out of time: sends a continuation carrying the engine's resume token and
 *    the tallies, and returns.
 * 4. Finished: writes the dry-run report if asked, logs the summary and
 *    emits the run's metrics once.
 *
 * A run that failed (entries not deleted, an engine error, a missing bucket,
 * an unwritable report, a continuation that could not be sent) emits its
 * metrics, then throws {@link RetentionRunError}: the invocation fails, is
 * not retried (the construct sets retryAttempts 0) and lands in the
 * on-failure destination. Reaching `maxDeletionsPerRun` is not a failure; it
 * is reported by the `CapReached` metric.
 *
 * @param request the event or continuation, as received
 * @param requestId this invocation's request id; names the run when it starts here
 */
async function runRetention(
  request: unknown,
  requestId: string,
  deps: RetentionDeps,
  timing: RetentionTiming,
): Promise<RetentionOutcome> {
  const now = deps.now ?? Date.now;
  const { run, state: given } = parseRetentionRequest(request);
  const state = given ?? initialState(run, requestId, now());
  const bucket = run.bucketName;
  const id = `${state.runId}#${state.invocation}`;
  const context = { bucket, runId: state.runId, invocation: state.invocation, dryRun: run.dryRun };
  if (completed.has(id)) {
    deps.logger.warn('Duplicate delivery of a retention invocation already handled here; ignoring it', context);
    return { kind: 'duplicate' };
  }
  deps.logger.info(state.invocation === 1 ? 'Retention run started' : 'Retention run continues', {
    ...context,
    asOf: new Date(state.asOf).toISOString(),
    policy: run.policy,
    maxDeletionsPerRun: run.maxDeletionsPerRun,
  });

  const tally = new RetentionTally(state.tally);
  /** Ends the run in failure: metrics, log, then the error that fails the invocation. */
  const fail = (counts: PurgeCounts, errors: readonly DeleteFailure[], capReached: boolean, reason: string): never => {
    remember(id);
    const runDurationMs = now() - state.startedAt;
    deps.logger.error('Retention run failed', {
      ...context,
      reason,
      ...counts,
      capReached,
      runDurationMs,
      selectedEntries: tally.snapshot(),
      errors: errors.slice(0, MAX_FAILURES_LOGGED),
    });
    deps.publishMetrics(metricsOf(run, state, counts, capReached, runDurationMs, true));
    throw new RetentionRunError(bucket, `Retention run ${state.runId} of bucket ${bucket} failed: ${reason}`);
  };

  const before = state.resumeToken;
  const countsBefore = before ? { ...before.counts } : zeroCounts();
  if (state.invocation > MAX_RETENTION_INVOCATIONS) {
    return fail(countsBefore, before?.errors ?? [], false, `it did not finish within ${fmt(MAX_RETENTION_INVOCATIONS)} invocations.`);
  }

  const target = run.dryRun ? run.report : undefined;
  const progress = state.report ?? { entriesWritten: 0, files: [] };
  const collector = target ? new ReportEntryCollector(Math.max(0, MAX_REPORT_ENTRIES - progress.entriesWritten)) : undefined;
  let lastLog = now();
  const onProgress = (p: PurgeProgress) => {
    if (now() - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
    lastLog = now();
    deps.logger.info('Retention progress', { ...context, ...p });
  };

  // The signal wakes the engine from back-off sleeps at the deadline; the
  // deadline alone is only checked between requests.
  const stop = new AbortController();
  const stopTimer = setTimeout(() => stop.abort(), Math.max(0, timing.invocationDeadline - now()));
  let result: PurgeResult;
  try {
    result = await deps.purge({
      client: deps.s3,
      bucket,
      mode: 'retain',
      selector: retentionSelector(run.policy, new Date(state.asOf)),
      policy: run.policy,
      prefixes: run.policy.prefixes,
      maxDeletions: run.maxDeletionsPerRun,
      dryRun: run.dryRun,
      deadline: timing.invocationDeadline,
      signal: stop.signal,
      resumeToken: before,
      onProgress,
      onSelected: (entry) => {
        tally.add(entry);
        collector?.add(entry);
      },
    });
  } catch (err) {
    return fail(countsBefore, before?.errors ?? [], false, `the engine stopped with an error: ${describeError(err)}`);
  } finally {
    clearTimeout(stopTimer);
  }

  let report: RetentionReportProgress | null = state.report;
  const stem = target ? reportStem(target, bucket, state.asOf, state.runId) : '';
  if (target && collector) {
    try {
      report = await collector.flush(deps.s3, target, stem, state.invocation, progress);
    } catch (err) {
      return fail(result, result.errors, result.capReached, `the dry-run report could not be written to s3://${target.bucketName}/${stem}: ${describeError(err)}`);
    }
  }

  if (result.resumeToken !== null) {
    const next: RetentionContinuation = {
      kind: RETENTION_CONTINUATION_KIND,
      v: 1,
      run,
      state: {
        runId: state.runId,
        startedAt: state.startedAt,
        asOf: state.asOf,
        invocation: state.invocation + 1,
        resumeToken: result.resumeToken,
        tally: tally.snapshot(),
        report,
      },
    };
    try {
      await deps.invokeSelf(next);
    } catch (err) {
      return fail(result, result.errors, result.capReached, `it could not continue in a new invocation: ${describeError(err)}`);
    }
    remember(id);
    deps.logger.info('Retention run handed over to a new invocation', {
      ...context,
      next: next.state.invocation,
      listed: result.listed,
      selected: result.selected,
      deleted: result.deleted,
      deleteMarkersDeleted: result.deleteMarkersDeleted,
      failed: result.failed,
      fault: result.fault,
    });
    return { kind: 'continued', invocation: next.state.invocation };
  }

  const selectedEntries = tally.snapshot();
  let reportKey: string | undefined;
  if (target && report) {
    reportKey = `${stem}.json`;
    const body = {
      bucket,
      runId: state.runId,
      asOf: new Date(state.asOf).toISOString(),
      startedAt: new Date(state.startedAt).toISOString(),
      finishedAt: new Date(now()).toISOString(),
      dryRun: true,
      policy: run.policy,
      maxDeletionsPerRun: run.maxDeletionsPerRun ?? null,
      invocations: state.invocation,
      complete: !result.capReached && !result.bucketMissing,
      capReached: result.capReached,
      listed: result.listed,
      selected: result.selected,
      wouldDelete: selectedEntries.total,
      byPrefix: selectedEntries.byPrefix,
      entries: { count: report.entriesWritten, truncated: result.selected > report.entriesWritten, files: report.files },
    };
    try {
      await putReportObject(deps.s3, target.bucketName, reportKey, `${JSON.stringify(body, null, 2)}\n`, 'application/json');
    } catch (err) {
      return fail(result, result.errors, result.capReached, `the dry-run report could not be written to s3://${target.bucketName}/${reportKey}: ${describeError(err)}`);
    }
  }

  const runDurationMs = now() - state.startedAt;
  const summary: RetentionSummary = {
    bucket,
    runId: state.runId,
    asOf: new Date(state.asOf).toISOString(),
    dryRun: run.dryRun,
    invocations: state.invocation,
    listed: result.listed,
    selected: result.selected,
    deleted: result.deleted,
    deleteMarkersDeleted: result.deleteMarkersDeleted,
    bytesDeleted: result.bytesDeleted,
    failed: result.failed,
    capReached: result.capReached,
    runDurationMs,
    selectedEntries,
    ...(reportKey ? { reportKey: `s3://${target!.bucketName}/${reportKey}` } : {}),
    errors: result.errors.slice(0, MAX_FAILURES_LOGGED),
  };

  if (result.bucketMissing) {
    return fail(result, [], false, 'the bucket does not exist.');
  }
  if (result.failed > 0) {
    const shown = result.errors.slice(0, MAX_FAILURES_IN_MESSAGE).map(describeFailure);
    const more = result.failed > shown.length ? `; and ${fmt(result.failed - shown.length)} more` : '';
    return fail(
      result,
      result.errors,
      result.capReached,
      `${plural(result.failed, 'entry', 'entries')} could not be deleted (${plural(result.deleted, 'version')} and ` +
        `${plural(result.deleteMarkersDeleted, 'delete marker')} deleted). First failures: ${shown.join('; ')}${more}.`,
    );
  }

  remember(id);
  const message = run.dryRun ? 'Retention dry run finished; nothing was deleted' : 'Retention run finished';
  if (result.capReached) {
    deps.logger.warn(`${message}; it stopped at maxDeletionsPerRun (${fmt(run.maxDeletionsPerRun ?? 0)})`, { ...context, ...summary });
  } else {
    deps.logger.info(message, { ...context, ...summary });
  }
  deps.publishMetrics(metricsOf(run, state, result, result.capReached, runDurationMs, false));
  return { kind: 'finished', summary };
}

/** The metrics of a run that ends now. */
function metricsOf(
  run: RetentionEvent,
  state: RetentionRunState,
  counts: PurgeCounts,
  capReached: boolean,
  runDurationMs: number,
  runFailed: boolean,
) {
  return {
    bucket: run.bucketName,
    runId: state.runId,
    dryRun: run.dryRun,
    invocations: state.invocation,
    versionsDeleted: counts.deleted,
    deleteMarkersDeleted: counts.deleteMarkersDeleted,
    bytesDeleted: counts.bytesDeleted,
    deleteErrors: counts.failed,
    runDurationMs,
    capReached,
    runFailed,
  };
}

export { runRetention, parseRetentionRequest, parseRetentionEvent };

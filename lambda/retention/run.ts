import type { S3Client } from '@aws-sdk/client-s3';
import { RetentionEventError, RetentionRunError } from '../engine/errors';
import type { AbortFailure, PurgeCounts, PurgeOptions, PurgeProgress, PurgeResult, UploadCounts } from '../engine/purge-types';
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
import { retentionUploadSelector } from './upload-selector';
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
export interface RetentionSummary extends PurgeCounts, UploadCounts {
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
  /** The first uploads that could not be aborted. */
  readonly uploadErrors: readonly AbortFailure[];
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
  const { run, state } = parseRetentionRequest(request);
  return new RetentionInvocation(run, state ?? initialState(run, requestId, now()), deps, timing).run();
}

/** One invocation of a retention run, as a sequence of named steps. */
class RetentionInvocation {
  private readonly now: () => number;
  private readonly id: string;
  private readonly context: Record<string, unknown>;
  private readonly tally: RetentionTally;
  /** Where a dry run writes its report; undefined for a real run or without a location. */
  private readonly target: RetentionReportTarget | undefined;
  private readonly stem: string;

  constructor(
    private readonly event: RetentionEvent,
    private readonly state: RetentionRunState,
    private readonly deps: RetentionDeps,
    private readonly timing: RetentionTiming,
  ) {
    this.now = deps.now ?? Date.now;
    this.id = `${state.runId}#${state.invocation}`;
    this.context = { bucket: event.bucketName, runId: state.runId, invocation: state.invocation, dryRun: event.dryRun };
    this.tally = new RetentionTally(state.tally);
    this.target = event.dryRun ? event.report : undefined;
    this.stem = this.target ? reportStem(this.target, event.bucketName, state.asOf, state.runId) : '';
  }

  async run(): Promise<RetentionOutcome> {
    if (completed.has(this.id)) {
      this.deps.logger.warn('Duplicate delivery of a retention invocation already handled here; ignoring it', this.context);
      return { kind: 'duplicate' };
    }
    this.logStart();
    const before = this.state.resumeToken;
    if (this.state.invocation > MAX_RETENTION_INVOCATIONS) {
      return this.fail(countsOf(before), before?.errors ?? [], false, `it did not finish within ${fmt(MAX_RETENTION_INVOCATIONS)} invocations.`);
    }
    const collector = this.target
      ? new ReportEntryCollector(Math.max(0, MAX_REPORT_ENTRIES - (this.state.report?.entriesWritten ?? 0)))
      : undefined;
    const result = await this.runEngine(collector);
    const report = await this.writeReportEntries(result, collector);
    if (result.resumeToken !== null) return this.handOver(result, report);
    return this.finish(result, report);
  }

  private logStart(): void {
    this.deps.logger.info(this.state.invocation === 1 ? 'Retention run started' : 'Retention run continues', {
      ...this.context,
      asOf: new Date(this.state.asOf).toISOString(),
      policy: this.event.policy,
      maxDeletionsPerRun: this.event.maxDeletionsPerRun,
    });
  }

  /** Runs the engine in retain mode until it finishes or this invocation's deadline. */
  private async runEngine(collector: ReportEntryCollector | undefined): Promise<PurgeResult> {
    const { event, state, deps } = this;
    let lastLog = this.now();
    const onProgress = (p: PurgeProgress) => {
      if (this.now() - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
      lastLog = this.now();
      deps.logger.info('Retention progress', { ...this.context, ...p });
    };
    // The signal wakes the engine from back-off sleeps at the deadline; the
    // deadline alone is only checked between requests.
    const stop = new AbortController();
    const stopTimer = setTimeout(() => stop.abort(), Math.max(0, this.timing.invocationDeadline - this.now()));
    try {
      return await deps.purge({
        client: deps.s3,
        bucket: event.bucketName,
        mode: 'retain',
        selector: retentionSelector(event.policy, new Date(state.asOf)),
        abortUploads: retentionUploadSelector(event.policy, new Date(state.asOf)),
        policy: event.policy,
        prefixes: event.policy.prefixes,
        maxDeletions: event.maxDeletionsPerRun,
        dryRun: event.dryRun,
        deadline: this.timing.invocationDeadline,
        signal: stop.signal,
        resumeToken: state.resumeToken,
        // The token came in a Lambda payload: its selector snapshots are not trusted (see PurgeOptions).
        trustSelectorState: false,
        onProgress,
        onSelected: (entry) => {
          this.tally.add(entry);
          collector?.add(entry);
        },
      });
    } catch (err) {
      const before = state.resumeToken;
      return this.fail(countsOf(before), before?.errors ?? [], false, `the engine stopped with an error: ${describeError(err)}`);
    } finally {
      clearTimeout(stopTimer);
    }
  }

  /** A dry run with a report location writes this invocation's selected entries. */
  private async writeReportEntries(result: PurgeResult, collector: ReportEntryCollector | undefined): Promise<RetentionReportProgress | null> {
    if (!this.target || !collector) return this.state.report;
    const progress = this.state.report ?? { entriesWritten: 0, files: [] };
    try {
      return await collector.flush(this.deps.s3, this.target, this.stem, this.state.invocation, progress);
    } catch (err) {
      return this.fail(
        result,
        result.errors,
        result.capReached,
        `the dry-run report could not be written to s3://${this.target.bucketName}/${this.stem}: ${describeError(err)}`,
      );
    }
  }

  /** Out of time: sends the continuation (resume token and tallies) and returns. */
  private async handOver(result: PurgeResult, report: RetentionReportProgress | null): Promise<RetentionOutcome> {
    const { state } = this;
    const next: RetentionContinuation = {
      kind: RETENTION_CONTINUATION_KIND,
      v: 1,
      run: this.event,
      state: {
        runId: state.runId,
        startedAt: state.startedAt,
        asOf: state.asOf,
        invocation: state.invocation + 1,
        resumeToken: result.resumeToken,
        tally: this.tally.snapshot(),
        report,
      },
    };
    try {
      await this.deps.invokeSelf(next);
    } catch (err) {
      return this.fail(result, result.errors, result.capReached, `it could not continue in a new invocation: ${describeError(err)}`);
    }
    remember(this.id);
    this.deps.logger.info('Retention run handed over to a new invocation', {
      ...this.context,
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

  /** The run is over: the dry-run summary object, then failure or success with its log and metrics. */
  private async finish(result: PurgeResult, report: RetentionReportProgress | null): Promise<RetentionOutcome> {
    const reportKey = await this.writeReportSummary(result, report);
    const summary = this.summaryOf(result, reportKey);
    if (result.bucketMissing) return this.fail(result, [], false, 'the bucket does not exist.');
    if (result.failed > 0) return this.fail(result, result.errors, result.capReached, failedEntriesReason(result));
    if (result.uploadsFailed > 0) return this.fail(result, result.errors, result.capReached, failedUploadsReason(result));
    remember(this.id);
    const message = this.event.dryRun ? 'Retention dry run finished; nothing was deleted' : 'Retention run finished';
    if (result.capReached) {
      const cap = fmt(this.event.maxDeletionsPerRun ?? 0);
      this.deps.logger.warn(`${message}; it stopped at maxDeletionsPerRun (${cap})`, { ...this.context, ...summary });
    } else {
      this.deps.logger.info(message, { ...this.context, ...summary });
    }
    this.deps.publishMetrics(metricsOf(this.event, this.state, result, result.capReached, summary.runDurationMs, false));
    return { kind: 'finished', summary };
  }

  /** Writes the dry-run report's summary object; returns its key, or undefined without a report. */
  private async writeReportSummary(result: PurgeResult, report: RetentionReportProgress | null): Promise<string | undefined> {
    const { target, event, state } = this;
    if (!target || !report) return undefined;
    const reportKey = `${this.stem}.json`;
    const selectedEntries = this.tally.snapshot();
    const body = {
      bucket: event.bucketName,
      runId: state.runId,
      asOf: new Date(state.asOf).toISOString(),
      startedAt: new Date(state.startedAt).toISOString(),
      finishedAt: new Date(this.now()).toISOString(),
      dryRun: true,
      policy: event.policy,
      maxDeletionsPerRun: event.maxDeletionsPerRun ?? null,
      invocations: state.invocation,
      complete: !result.capReached && !result.bucketMissing,
      capReached: result.capReached,
      listed: result.listed,
      selected: result.selected,
      wouldDelete: selectedEntries.total,
      wouldAbortUploads: result.uploadsSelected,
      byPrefix: selectedEntries.byPrefix,
      entries: { count: report.entriesWritten, truncated: result.selected > report.entriesWritten, files: report.files },
    };
    try {
      await putReportObject(this.deps.s3, target.bucketName, reportKey, `${JSON.stringify(body, null, 2)}\n`, 'application/json');
    } catch (err) {
      return this.fail(
        result,
        result.errors,
        result.capReached,
        `the dry-run report could not be written to s3://${target.bucketName}/${reportKey}: ${describeError(err)}`,
      );
    }
    return reportKey;
  }

  private summaryOf(result: PurgeResult, reportKey: string | undefined): RetentionSummary {
    const { event, state } = this;
    return {
      bucket: event.bucketName,
      runId: state.runId,
      asOf: new Date(state.asOf).toISOString(),
      dryRun: event.dryRun,
      invocations: state.invocation,
      listed: result.listed,
      selected: result.selected,
      deleted: result.deleted,
      deleteMarkersDeleted: result.deleteMarkersDeleted,
      bytesDeleted: result.bytesDeleted,
      failed: result.failed,
      uploadsSelected: result.uploadsSelected,
      uploadsAborted: result.uploadsAborted,
      uploadsFailed: result.uploadsFailed,
      capReached: result.capReached,
      runDurationMs: this.now() - state.startedAt,
      selectedEntries: this.tally.snapshot(),
      ...(reportKey ? { reportKey: `s3://${this.target!.bucketName}/${reportKey}` } : {}),
      errors: result.errors.slice(0, MAX_FAILURES_LOGGED),
      uploadErrors: result.uploadErrors.slice(0, MAX_FAILURES_LOGGED),
    };
  }

  /** Ends the run in failure: metrics, log, then the error that fails the invocation. */
  private fail(counts: PurgeCounts, errors: readonly DeleteFailure[], capReached: boolean, reason: string): never {
    remember(this.id);
    const runDurationMs = this.now() - this.state.startedAt;
    this.deps.logger.error('Retention run failed', {
      ...this.context,
      reason,
      ...counts,
      capReached,
      runDurationMs,
      selectedEntries: this.tally.snapshot(),
      errors: errors.slice(0, MAX_FAILURES_LOGGED),
    });
    this.deps.publishMetrics(metricsOf(this.event, this.state, counts, capReached, runDurationMs, true));
    const bucket = this.event.bucketName;
    throw new RetentionRunError(bucket, `Retention run ${this.state.runId} of bucket ${bucket} failed: ${reason}`);
  }
}

/** The counts a resume token carries, or zeros for a run's first invocation. */
function countsOf(token: RetentionRunState['resumeToken']): PurgeCounts {
  return token ? { ...token.counts } : zeroCounts();
}

/** Why a run whose entries could not all be deleted failed: counts and the first failures. */
function failedEntriesReason(result: PurgeResult): string {
  const shown = result.errors.slice(0, MAX_FAILURES_IN_MESSAGE).map(describeFailure);
  const more = result.failed > shown.length ? `; and ${fmt(result.failed - shown.length)} more` : '';
  return (
    `${plural(result.failed, 'entry', 'entries')} could not be deleted (${plural(result.deleted, 'version')} and ` +
    `${plural(result.deleteMarkersDeleted, 'delete marker')} deleted). First failures: ${shown.join('; ')}${more}.`
  );
}

/** Why a run whose incomplete uploads could not all be aborted failed: counts and the first failures. */
function failedUploadsReason(result: PurgeResult): string {
  const shown = result.uploadErrors.slice(0, MAX_FAILURES_IN_MESSAGE).map((f) => `${JSON.stringify(f.key)} (upload ${f.uploadId}): ${f.code}`);
  const more = result.uploadsFailed > shown.length ? `; and ${fmt(result.uploadsFailed - shown.length)} more` : '';
  return (
    `${plural(result.uploadsFailed, 'incomplete multipart upload')} could not be aborted (${plural(result.uploadsAborted, 'upload')} ` +
    `aborted). First failures: ${shown.join('; ')}${more}.`
  );
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

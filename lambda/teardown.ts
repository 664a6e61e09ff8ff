import {
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { CfnAnswer, CfnCreateEvent, CfnDeleteEvent, CfnUpdateEvent } from './cfn-response';
import { PurgeConfigError } from './errors';
import type { PurgeOptions, PurgeProgress, PurgeResult, ResumeToken } from './purge-types';
import {
  CREATE_FAILED_PHYSICAL_ID,
  FENCE_STATEMENT_SID,
  PHYSICAL_ID_PREFIX,
  PROPERTY,
  PURGE_TAG_KEY,
  PURGE_TAG_VALUE,
} from './resource-contract';
import { errorCode, errorMessage, isNoSuchBucket } from './s3-errors';
import type { DeleteFailure } from './types';

/** CloudFormation's default and largest custom-resource ServiceTimeout (s). */
export const MAX_SERVICE_TIMEOUT_SECONDS = 3600;
/** A continuation is not started when less than this is left of the budget (ms). */
export const MIN_SLICE_MS = 1_000;
/** Runaway guard: most invocations one request may use. */
export const MAX_INVOCATIONS = 500;
/** Most failures named in a Reason; the rest are counted. */
export const MAX_REASON_FAILURES = 5;
/** Byte budget of a composed Reason (the response body limit is 4,096 for everything). */
export const REASON_BUDGET_BYTES = 3_000;
/** Longest key shown in a Reason; longer keys are shortened in the middle. */
const MAX_REASON_KEY_CHARS = 120;
/** Longest error message shown per failure in a Reason. */
const MAX_REASON_MESSAGE_CHARS = 160;
/** How often progress is logged, at most (ms). */
const PROGRESS_LOG_INTERVAL_MS = 15_000;
/** Longest time spent estimating what remains when the budget runs out (ms). */
const MAX_ESTIMATE_MS = 5_000;

/** The custom resource's settings, parsed from `ResourceProperties`. */
export interface TeardownSettings {
  readonly bucket: string;
  readonly purgeOnDelete: boolean;
  readonly fenceWrites: boolean;
  readonly bypassGovernanceRetention: boolean;
  /** The custom resource's ServiceTimeout, seconds. */
  readonly serviceTimeoutSeconds: number;
}

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

/** The logger subset teardown uses (Powertools Logger fits it). */
export interface TeardownLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** What teardown needs from the outside world. */
export interface TeardownDeps {
  readonly s3: S3Client;
  /** The purge engine's entry point. */
  readonly purge: (options: PurgeOptions) => Promise<PurgeResult>;
  readonly logger: TeardownLogger;
  /** AWS partition for ARNs (`aws`, `aws-cn`, `aws-us-gov`). */
  readonly partition: string;
  /** Where the logs go; named in failure reasons. */
  readonly logLocation?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The handler's next step: answer CloudFormation, or continue in a new invocation. */
export type TeardownOutcome =
  | { readonly kind: 'answer'; readonly answer: CfnAnswer }
  | {
      readonly kind: 'continue';
      readonly state: TeardownState;
      /** The answer to give instead when the continuation cannot be started. */
      readonly fallback: CfnAnswer;
    };

/** Reads a boolean property; CloudFormation passes booleans as strings. */
function readBool(value: unknown, fallback: boolean): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fallback;
}

/**
 * Parses the custom resource's properties.
 * @throws Error when `BucketName` is missing.
 */
function readSettings(props: Record<string, unknown> | undefined): TeardownSettings {
  const p = props ?? {};
  const bucket = p[PROPERTY.bucketName];
  if (typeof bucket !== 'string' || bucket.length === 0) {
    throw new Error(`The custom resource has no ${PROPERTY.bucketName} property.`);
  }
  const timeout = Number(p[PROPERTY.serviceTimeout]);
  return {
    bucket,
    purgeOnDelete: readBool(p[PROPERTY.purgeOnDelete], true),
    fenceWrites: readBool(p[PROPERTY.fenceWrites], true),
    bypassGovernanceRetention: readBool(p[PROPERTY.bypassGovernanceRetention], false),
    serviceTimeoutSeconds:
      Number.isFinite(timeout) && timeout >= 1 ? Math.min(timeout, MAX_SERVICE_TIMEOUT_SECONDS) : MAX_SERVICE_TIMEOUT_SECONDS,
  };
}

/** Physical id of a new resource: stable, derived from the bucket name. */
function physicalIdFor(bucket: string): string {
  return `${PHYSICAL_ID_PREFIX}${bucket}`;
}

/** Create: registers nothing and deletes nothing; answers with a physical id derived from the bucket. */
function onCreate(event: CfnCreateEvent): CfnAnswer {
  try {
    const settings = readSettings(event.ResourceProperties);
    return {
      Status: 'SUCCESS',
      PhysicalResourceId: physicalIdFor(settings.bucket),
      Reason: settings.purgeOnDelete
        ? `Bucket ${settings.bucket} will be purged when this resource is deleted.`
        : `Bucket ${settings.bucket} will not be purged (purgeOnDelete is false).`,
    };
  } catch (err) {
    return { Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_PHYSICAL_ID, Reason: errorMessage(err) };
  }
}

/** Update: deletes nothing and keeps the physical id, so CloudFormation never sends a replacement Delete. */
function onUpdate(event: CfnUpdateEvent): CfnAnswer {
  return { Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId, Reason: 'Nothing to do on update.' };
}

/** Whether the bucket carries the ownership tag. */
type TagCheck = 'tagged' | 'untagged' | 'missing';

/** Reads the bucket's tags: purge only a bucket tagged by a live `VersionPurger`. */
async function checkPurgeTag(s3: S3Client, bucket: string): Promise<TagCheck> {
  try {
    const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    const tagged = (out.TagSet ?? []).some((t) => t.Key === PURGE_TAG_KEY && t.Value === PURGE_TAG_VALUE);
    return tagged ? 'tagged' : 'untagged';
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    if (errorCode(err) === 'NoSuchTagSet') return 'untagged';
    throw err;
  }
}

/** The deny-PutObject statement that keeps late writers from refilling the bucket. */
function fenceStatement(bucket: string, partition: string): Record<string, unknown> {
  return {
    Sid: FENCE_STATEMENT_SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:PutObject',
    Resource: `arn:${partition}:s3:::${bucket}/*`,
  };
}

/**
 * Adds the fence statement to a bucket policy document, keeping every other
 * statement. Returns `undefined` when the statement is already there.
 * @throws Error when `policy` is not a JSON policy document.
 */
function withFenceStatement(policy: string | undefined, bucket: string, partition: string): string | undefined {
  const doc = policy ? (JSON.parse(policy) as Record<string, unknown>) : { Version: '2012-10-17' };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('bucket policy is not a JSON object');
  const raw = doc.Statement;
  const statements: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? [...raw] : [raw];
  const present = statements.some(
    (s) => typeof s === 'object' && s !== null && (s as Record<string, unknown>).Sid === FENCE_STATEMENT_SID,
  );
  if (present) return undefined;
  statements.push(fenceStatement(bucket, partition));
  return JSON.stringify({ ...doc, Statement: statements });
}

/** Result of {@link fenceWrites}. */
type FenceResult = 'fenced' | 'missing' | 'failed';

/**
 * Denies s3:PutObject to everyone on the bucket, merged into its policy.
 * Best effort: a failure is logged and the purge goes on (the engine's
 * confirmation passes still catch late writes); a missing bucket is reported.
 */
async function fenceWrites(deps: TeardownDeps, bucket: string): Promise<FenceResult> {
  let current: string | undefined;
  try {
    current = (await deps.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    if (errorCode(err) !== 'NoSuchBucketPolicy') {
      deps.logger.warn('Could not read the bucket policy; writes are not fenced', { bucket, error: describeError(err) });
      return 'failed';
    }
  }
  try {
    const next = withFenceStatement(current, bucket, deps.partition);
    if (next === undefined) return 'fenced';
    await deps.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: next }));
    deps.logger.info('Fenced the bucket against new writes', { bucket, sid: FENCE_STATEMENT_SID });
    return 'fenced';
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    deps.logger.warn('Could not fence the bucket against new writes', { bucket, error: describeError(err) });
    return 'failed';
  }
}

/** `Code: message` of any error, for logs and reasons. */
function describeError(err: unknown): string {
  const code = errorCode(err);
  const message = errorMessage(err);
  return message && message !== code ? `${code}: ${message}` : code;
}

/** A number with thousands separators. */
function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** `n thing` or `n things`. */
function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

/** Shortens `text` to `max` characters, cutting out the middle. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}

/**
 * Joins `head`, as many `items` as fit, and `tail` into at most `maxBytes`
 * UTF-8 bytes. Items not shown are counted ("and 3 more"), out of `total`
 * when more failures exist than were passed.
 */
function composeReason(
  head: string,
  items: readonly string[],
  tail: string,
  maxBytes = REASON_BUDGET_BYTES,
  total = items.length,
): string {
  const render = (shown: readonly string[]) => {
    const left = total - shown.length;
    const more = left > 0 ? `${shown.length > 0 ? ';' : ''} and ${fmt(left)} more` : '';
    return `${head}${shown.length > 0 ? ' ' : ''}${shown.join('; ')}${more}.${tail ? ` ${tail}` : ''}`;
  };
  const shown: string[] = [];
  for (const item of items) {
    if (Buffer.byteLength(render([...shown, item]), 'utf8') > maxBytes) break;
    shown.push(item);
  }
  return render(shown);
}

/** One failure as shown in a Reason: key, version, code and a short message. */
function describeFailure(f: DeleteFailure): string {
  const version = f.versionId ? ` (version ${shorten(f.versionId, 40)})` : '';
  const message = f.message && f.message !== f.code ? ` - ${shorten(f.message, MAX_REASON_MESSAGE_CHARS)}` : '';
  return `${JSON.stringify(shorten(f.key, MAX_REASON_KEY_CHARS))}${version}: ${f.code}${message}`;
}

/** Advice matching the failures' codes. */
function failureHint(errors: readonly DeleteFailure[]): string {
  const locked = errors.some((e) => /COMPLIANCE|legal hold|object lock/i.test(`${e.message}`));
  if (locked) {
    return 'COMPLIANCE retention and legal holds cannot be bypassed: wait for the retention date or remove the legal hold, then retry the stack deletion.';
  }
  if (errors.some((e) => e.code === 'AccessDenied')) {
    return 'Check the bucket policy and Object Lock settings (GOVERNANCE retention needs bypassGovernanceRetention), then retry the stack deletion.';
  }
  return 'Retry the stack deletion to try again.';
}

/** Counts of a result or token, and the failures it lists. */
interface Tally {
  readonly deleted: number;
  readonly deleteMarkersDeleted: number;
  readonly failed: number;
  readonly errors: readonly DeleteFailure[];
  readonly passes?: number;
}

/** Versions and delete markers deleted. */
function total(t: Tally): number {
  return t.deleted + t.deleteMarkersDeleted;
}

/** Reason of a purge that finished with versions it could not delete. */
function failedPurgeReason(bucket: string, t: Tally, logLocation?: string): string {
  const head =
    `Could not empty bucket ${bucket}: ${plural(t.failed, 'version')} could not be deleted ` +
    `(${fmt(total(t))} versions and delete markers deleted). First failures:`;
  const items = t.errors.slice(0, MAX_REASON_FAILURES).map(describeFailure);
  const tail = `${failureHint(t.errors)}${logLocation ? ` Full list in CloudWatch Logs: ${logLocation}.` : ''}`;
  return composeReason(head, items, tail, REASON_BUDGET_BYTES, Math.max(t.failed, items.length));
}

/** Estimate of what is left in the bucket. */
interface RemainingEstimate {
  readonly count: number;
  /** True when the listing reached the end: `count` is exact (at that moment). */
  readonly complete: boolean;
}

/** Counts the entries left by listing from the start until `until` (epoch ms). Never throws. */
async function estimateRemaining(
  deps: TeardownDeps,
  bucket: string,
  until: number,
): Promise<RemainingEstimate | undefined> {
  const now = deps.now ?? Date.now;
  let count = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  try {
    do {
      const page = await deps.s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }),
        { abortSignal: AbortSignal.timeout(Math.max(1, Math.ceil(until - now()))) },
      );
      count += (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
      if (!page.IsTruncated) return { count, complete: true };
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    } while (now() < until);
    return { count, complete: false };
  } catch (err) {
    if (isNoSuchBucket(err)) return { count: 0, complete: true };
    deps.logger.warn('Could not finish estimating what remains', { bucket, counted: count, error: describeError(err) });
    return count > 0 ? { count, complete: false } : undefined;
  }
}

/** True when a listing from the start finds nothing; undefined when the listing failed. */
async function isEmpty(deps: TeardownDeps, bucket: string): Promise<boolean | undefined> {
  try {
    const page = await deps.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1 }));
    return (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0) === 0;
  } catch (err) {
    if (isNoSuchBucket(err)) return true;
    deps.logger.warn('Could not confirm the bucket is empty', { bucket, error: describeError(err) });
    return undefined;
  }
}

/** Reason of a purge stopped by the serviceTimeout budget: how far it got, and how to go on. */
function outOfTimeReason(
  why: string,
  settings: TeardownSettings,
  t: Tally,
  invocations: number,
  estimate: RemainingEstimate | undefined,
  fenced: boolean,
  logLocation?: string,
): string {
  const remaining =
    estimate === undefined
      ? 'how many remain is unknown'
      : estimate.complete
        ? estimate.count === 1
          ? 'about 1 version or delete marker remains'
          : `about ${fmt(estimate.count)} versions and delete markers remain`
        : `at least ${fmt(estimate.count)} versions and delete markers remain (estimate cut short)`;
  const head =
    `Purge of bucket ${settings.bucket} ${why}. Deleted ${fmt(total(t))} versions and delete markers ` +
    `so far in ${plural(invocations, 'invocation')}; ${remaining}.` +
    (fenced ? ' New writes stay denied by the bucket policy.' : '') +
    ' Retrying the stack deletion continues the purge.';
  if (t.failed === 0) return `${head}${logLocation ? ` Logs: ${logLocation}.` : ''}`;
  const items = t.errors.slice(0, MAX_REASON_FAILURES).map(describeFailure);
  return composeReason(
    `${head} ${plural(t.failed, 'version')} could not be deleted so far:`,
    items,
    logLocation ? `Logs: ${logLocation}.` : '',
    REASON_BUDGET_BYTES,
    Math.max(t.failed, items.length),
  );
}

/** Decides the answer after a Delete's checks; runs the first purge slice. */
async function onDelete(event: CfnDeleteEvent, deps: TeardownDeps, timing: TeardownTiming): Promise<TeardownOutcome> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const answer = (Status: 'SUCCESS' | 'FAILED', Reason: string): TeardownOutcome => ({
    kind: 'answer',
    answer: { Status, Reason, PhysicalResourceId: event.PhysicalResourceId },
  });
  if (event.PhysicalResourceId === CREATE_FAILED_PHYSICAL_ID) {
    return answer('SUCCESS', 'Create had failed; nothing to delete.');
  }
  let settings: TeardownSettings;
  try {
    settings = readSettings(event.ResourceProperties);
  } catch (err) {
    return answer('FAILED', errorMessage(err));
  }
  const { bucket } = settings;
  if (!settings.purgeOnDelete) {
    deps.logger.info('purgeOnDelete is false; leaving the bucket as it is', { bucket });
    return answer('SUCCESS', `purgeOnDelete is false; bucket ${bucket} was left as it is.`);
  }
  let tag: TagCheck;
  try {
    tag = await checkPurgeTag(deps.s3, bucket);
  } catch (err) {
    deps.logger.error('Could not read the bucket tags', { bucket, error: describeError(err) });
    return answer(
      'FAILED',
      `Could not read the tags of bucket ${bucket} to confirm it is to be purged (${describeError(err)}). Nothing was deleted.`,
    );
  }
  if (tag === 'missing') return answer('SUCCESS', `Bucket ${bucket} does not exist; nothing to purge.`);
  if (tag === 'untagged') {
    deps.logger.info('Bucket is not tagged for purging; leaving it as it is', { bucket, tag: PURGE_TAG_KEY });
    return answer('SUCCESS', `Bucket ${bucket} no longer carries the ${PURGE_TAG_KEY} tag; nothing was deleted.`);
  }
  let fenced = false;
  if (settings.fenceWrites) {
    const fence = await fenceWrites(deps, bucket);
    if (fence === 'missing') return answer('SUCCESS', `Bucket ${bucket} does not exist; nothing to purge.`);
    fenced = fence === 'fenced';
  }
  return purgeSlice(event, settings, { startedAt, invocation: 1, resumeToken: null, fenced }, deps, timing);
}

/** Runs the next purge slice of a continued Delete. */
async function onContinuation(
  event: CfnDeleteEvent,
  state: TeardownState,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<TeardownOutcome> {
  let settings: TeardownSettings;
  try {
    settings = readSettings(event.ResourceProperties);
  } catch (err) {
    return { kind: 'answer', answer: { Status: 'FAILED', Reason: errorMessage(err), PhysicalResourceId: event.PhysicalResourceId } };
  }
  return purgeSlice(event, settings, state, deps, timing);
}

/**
 * Runs the engine until it finishes or this invocation's time is up, then
 * decides: answer (done, failed, or budget spent) or continue.
 */
async function purgeSlice(
  event: CfnDeleteEvent,
  settings: TeardownSettings,
  state: TeardownState,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<TeardownOutcome> {
  const now = deps.now ?? Date.now;
  const { bucket } = settings;
  const answer = (Status: 'SUCCESS' | 'FAILED', Reason: string): TeardownOutcome => ({
    kind: 'answer',
    answer: { Status, Reason, PhysicalResourceId: event.PhysicalResourceId },
  });
  const budgetEnd = state.startedAt + settings.serviceTimeoutSeconds * 1000;
  // The reserve is capped at a quarter of the budget, so that short serviceTimeouts still purge.
  const reserve = Math.min(timing.answerReserveMs, settings.serviceTimeoutSeconds * 250);
  const budgetDeadline = budgetEnd - reserve;
  const deadline = Math.min(budgetDeadline, timing.invocationDeadline);
  const budgetLimited = budgetDeadline <= timing.invocationDeadline;
  const tokenTally = (token: ResumeToken | null): Tally =>
    token ? { ...token.counts, errors: token.errors } : { deleted: 0, deleteMarkersDeleted: 0, failed: 0, errors: [] };

  const outOfTime = async (t: Tally): Promise<TeardownOutcome> => {
    // Half the reserve is for the answer; the estimate gets the rest (at least a quarter of it).
    const estimateUntil = Math.min(now() + MAX_ESTIMATE_MS, Math.max(now() + reserve / 4, budgetEnd - reserve / 2));
    const estimate = await estimateRemaining(deps, bucket, estimateUntil);
    if (estimate?.complete && estimate.count === 0 && t.failed === 0) {
      // The last slice emptied the bucket; only the confirming pass was cut short.
      return answer(
        'SUCCESS',
        `Purged bucket ${bucket}: deleted ${plural(t.deleted, 'version')} and ${plural(t.deleteMarkersDeleted, 'delete marker')} ` +
          `in ${plural(state.invocation, 'invocation')}; a final listing found it empty.`,
      );
    }
    deps.logger.warn('Purge ran out of the serviceTimeout budget', { bucket, ...t, errors: t.errors, estimate });
    const why = `ran out of time: the custom resource's serviceTimeout (${fmt(settings.serviceTimeoutSeconds)} s) is nearly spent`;
    return answer('FAILED', outOfTimeReason(why, settings, t, state.invocation, estimate, state.fenced, deps.logLocation));
  };

  if (state.invocation > MAX_INVOCATIONS) {
    return answer(
      'FAILED',
      `Purge of bucket ${bucket} stopped after ${fmt(MAX_INVOCATIONS)} invocations without finishing. Retrying the stack deletion continues the purge.`,
    );
  }
  if (now() >= budgetDeadline) return outOfTime(tokenTally(state.resumeToken));

  let lastLog = 0;
  const onProgress = (p: PurgeProgress) => {
    if (now() - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
    lastLog = now();
    deps.logger.info('Purge progress', { ...p, invocation: state.invocation });
  };

  // The signal wakes the engine from back-off sleeps at the deadline; the
  // deadline alone is only checked between requests.
  const stop = new AbortController();
  const stopTimer = setTimeout(() => stop.abort(), Math.max(0, deadline - now()));
  let result: PurgeResult;
  try {
    result = await deps.purge({
      client: deps.s3,
      bucket,
      bypassGovernanceRetention: settings.bypassGovernanceRetention,
      deadline,
      signal: stop.signal,
      resumeToken: state.resumeToken,
      onProgress,
    });
  } catch (err) {
    const t = tokenTally(state.resumeToken);
    if (err instanceof PurgeConfigError) {
      deps.logger.error('Bucket cannot be purged', { bucket, error: err.message });
      return answer('FAILED', err.message);
    }
    deps.logger.error('Purge stopped with an error', { bucket, error: describeError(err) });
    return answer(
      'FAILED',
      `Purge of bucket ${bucket} stopped: ${shorten(describeError(err), 500)}. ${fmt(total(t))} versions and delete markers ` +
        'were deleted before this invocation. Retrying the stack deletion continues the purge.',
    );
  } finally {
    clearTimeout(stopTimer);
  }

  const summary = {
    bucket,
    invocation: state.invocation,
    deleted: result.deleted,
    deleteMarkersDeleted: result.deleteMarkersDeleted,
    failed: result.failed,
    listed: result.listed,
    passes: result.passes,
    throttled: result.throttled,
    durationMs: result.durationMs,
    complete: result.resumeToken === null,
  };
  deps.logger.info('Purge slice finished', summary);

  if (result.bucketMissing) return answer('SUCCESS', `Bucket ${bucket} does not exist; nothing to purge.`);

  if (result.resumeToken === null) {
    if (result.failed > 0) {
      deps.logger.error('Versions could not be deleted', { bucket, failed: result.failed, errors: result.errors });
      return answer('FAILED', failedPurgeReason(bucket, result, deps.logLocation));
    }
    const empty = await isEmpty(deps, bucket);
    if (empty === false) {
      return answer(
        'FAILED',
        `Bucket ${bucket} still holds versions after ${plural(result.passes, 'purge pass', 'purge passes')} ` +
          `(${fmt(total(result))} deleted): something keeps writing to it` +
          (state.fenced ? '.' : ' and writes are not fenced (fenceWrites is false or the fence failed).') +
          ' Stop the writers, then retry the stack deletion.',
      );
    }
    return answer(
      'SUCCESS',
      `Purged bucket ${bucket}: deleted ${plural(result.deleted, 'version')} and ${plural(result.deleteMarkersDeleted, 'delete marker')} ` +
        `in ${plural(result.passes, 'pass', 'passes')} and ${plural(state.invocation, 'invocation')}.`,
    );
  }

  if (budgetLimited || budgetDeadline - now() < MIN_SLICE_MS) return outOfTime(result);

  const next: TeardownState = {
    startedAt: state.startedAt,
    invocation: state.invocation + 1,
    resumeToken: result.resumeToken,
    fenced: state.fenced,
  };
  const fallback: CfnAnswer = {
    Status: 'FAILED',
    PhysicalResourceId: event.PhysicalResourceId,
    Reason: outOfTimeReason(
      'could not continue in a new invocation',
      settings,
      result,
      state.invocation,
      undefined,
      state.fenced,
      deps.logLocation,
    ),
  };
  return { kind: 'continue', state: next, fallback };
}

export {
  readSettings,
  physicalIdFor,
  onCreate,
  onUpdate,
  onDelete,
  onContinuation,
  checkPurgeTag,
  fenceWrites,
  withFenceStatement,
  composeReason,
  failedPurgeReason,
  outOfTimeReason,
  estimateRemaining,
};

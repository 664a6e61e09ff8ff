import type { RemainingEstimate } from './remaining-versions';
import type { TeardownSettings } from './settings';
import { describeFailure, fmt, plural, shorten } from '../engine/failure-text';
import type { DeleteFailure } from '../engine/types';
import type { AbortFailure } from '../engine/uploads/upload-sweep';

/** Most failures named in a Reason; the rest are counted. */
export const MAX_REASON_FAILURES = 5;
/** Byte budget of a composed Reason (the response body limit is 4,096 for everything). */
export const REASON_BUDGET_BYTES = 3_000;

/**
 * Joins `head`, as many `items` as fit, and `tail` into at most `maxBytes`
 * UTF-8 bytes. Items not shown are counted ("and 3 more"), out of `total`
 * when more failures exist than were passed.
 */
export function composeReason(
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
export interface Tally {
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

/** Reason of a purge that emptied the bucket. */
export function purgedReason(bucket: string, t: Tally, passes: number, invocations: number): string {
  return (
    `Purged bucket ${bucket}: deleted ${plural(t.deleted, 'version')} and ${plural(t.deleteMarkersDeleted, 'delete marker')} ` +
    `in ${plural(passes, 'pass', 'passes')} and ${plural(invocations, 'invocation')}.`
  );
}

/** Reason of a purge whose confirming pass ran out of time, but whose final listing found the bucket empty. */
export function purgedFoundEmptyReason(bucket: string, t: Tally, invocations: number): string {
  return (
    `Purged bucket ${bucket}: deleted ${plural(t.deleted, 'version')} and ${plural(t.deleteMarkersDeleted, 'delete marker')} ` +
    `in ${plural(invocations, 'invocation')}; a final listing found it empty.`
  );
}

/** Reason of a purge that finished, yet found versions in the bucket afterwards. */
export function stillHoldsVersionsReason(bucket: string, t: Tally, passes: number, fenced: boolean): string {
  return (
    `Bucket ${bucket} still holds versions after ${plural(passes, 'purge pass', 'purge passes')} ` +
    `(${fmt(total(t))} deleted): something keeps writing to it` +
    (fenced ? '.' : ' and writes are not fenced (fenceWrites is false or the fence failed).') +
    ' Stop the writers, then retry the stack deletion.'
  );
}

/** Reason of a purge the engine stopped with an error; `t` counts what earlier invocations deleted. */
export function purgeStoppedReason(bucket: string, error: string, t: Tally): string {
  return (
    `Purge of bucket ${bucket} stopped: ${shorten(error, 500)}. ${fmt(total(t))} versions and delete markers ` +
    'were deleted before this invocation. Retrying the stack deletion continues the purge.'
  );
}

/** Reason of a purge that used every invocation it may. */
export function invocationCapReason(bucket: string, maxInvocations: number): string {
  return `Purge of bucket ${bucket} stopped after ${fmt(maxInvocations)} invocations without finishing. Retrying the stack deletion continues the purge.`;
}

/** The `why` of {@link outOfTimeReason} when the serviceTimeout budget is spent. */
export function serviceTimeoutSpentCause(serviceTimeoutSeconds: number): string {
  return `ran out of time: the custom resource's serviceTimeout (${fmt(serviceTimeoutSeconds)} s) is nearly spent`;
}

/** Reason of a purge that finished with versions it could not delete. */
export function failedPurgeReason(bucket: string, t: Tally, logLocation?: string): string {
  const head =
    `Could not empty bucket ${bucket}: ${plural(t.failed, 'version')} could not be deleted ` +
    `(${fmt(total(t))} versions and delete markers deleted). First failures:`;
  const items = t.errors.slice(0, MAX_REASON_FAILURES).map(describeFailure);
  const tail = `${failureHint(t.errors)}${logLocation ? ` Full list in CloudWatch Logs: ${logLocation}.` : ''}`;
  return composeReason(head, items, tail, REASON_BUDGET_BYTES, Math.max(t.failed, items.length));
}

/** Reason of a purge that deleted every version but could not abort some incomplete multipart uploads. */
export function failedUploadsReason(
  bucket: string,
  r: { uploadsFailed: number; uploadsAborted: number; uploadErrors: readonly AbortFailure[] },
  logLocation?: string,
): string {
  const head =
    `Could not empty bucket ${bucket}: ${plural(r.uploadsFailed, 'incomplete multipart upload')} could not be aborted ` +
    `(${plural(r.uploadsAborted, 'upload')} aborted). First failures:`;
  const items = r.uploadErrors
    .slice(0, MAX_REASON_FAILURES)
    .map((f) => `${JSON.stringify(shorten(f.key, 120))} (upload ${shorten(f.uploadId, 40)}): ${f.code}`);
  const tail = `${failureHint(r.uploadErrors.map((f) => ({ ...f, versionId: '' })))}${logLocation ? ` Full list in CloudWatch Logs: ${logLocation}.` : ''}`;
  return composeReason(head, items, tail, REASON_BUDGET_BYTES, Math.max(r.uploadsFailed, items.length));
}

/** Reason of a purge stopped by the serviceTimeout budget: how far it got, and how to go on. */
export function outOfTimeReason(
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

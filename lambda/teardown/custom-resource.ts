import { type BucketOwnership, checkOwnership } from './bucket-ownership';
import type { CfnAnswer, CfnCreateEvent, CfnDeleteEvent, CfnUpdateEvent } from './cfn-response';
import { describeError } from '../engine/describe-error';
import { CREATE_FAILED_PHYSICAL_ID, PROPERTY, PURGE_TAG_KEY } from '../resource-contract';
import { physicalIdFor } from './physical-id';
import { NO_PROGRESS, type TeardownMetrics } from './metrics';
import { errorMessage } from '../engine/s3/s3-errors';
import type { TeardownDeps } from './deps';
import { checkStackDeletion, type StackDeletionCheck } from './stack-deletion-check';
import { readSettings, type TeardownSettings } from './settings';
import { fenceWrites } from './write-fence';
import { TEARDOWN_EXECUTION_KIND, type TeardownExecutionInput } from '../workflow/contract';


/** Create: registers nothing and deletes nothing; answers with a physical id derived from the bucket. */
function onCreate(event: CfnCreateEvent): CfnAnswer {
  try {
    const settings = readSettings(event.ResourceProperties);
    return {
      Status: 'SUCCESS',
      PhysicalResourceId: physicalIdFor(settings.bucket, settings.ownerId),
      Reason: settings.purgeOnDelete
        ? `Bucket ${settings.bucket} will be purged when this resource is deleted.`
        : `Bucket ${settings.bucket} will not be purged (purgeOnDelete is false).`,
    };
  } catch (err) {
    return { Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_PHYSICAL_ID, Reason: errorMessage(err) };
  }
}

/**
 * Update: never deletes anything.
 * - When `BucketName` or `OwnerId` changed (the bucket was replaced, the
 *   purger points at another bucket, or its owner id changed), answers the
 *   new physical id. CloudFormation then sends Delete for the old id, with
 *   the old properties, in the cleanup phase: only after the whole update
 *   succeeded, so a rollback always finds the old bucket intact (aws-cdk
 *   #27199 emptied it during the Update, and lost it on rollback).
 * - Otherwise keeps the physical id CloudFormation sent, so that no Delete
 *   follows.
 */
function onUpdate(event: CfnUpdateEvent): CfnAnswer {
  const keep: CfnAnswer = { Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId, Reason: 'Nothing to do on update.' };
  let now: TeardownSettings;
  let before: TeardownSettings;
  try {
    now = readSettings(event.ResourceProperties);
    before = readSettings(event.OldResourceProperties);
  } catch {
    // Properties this library never sends: nothing to compare, nothing to replace.
    return keep;
  }
  const wanted = physicalIdFor(now.bucket, now.ownerId);
  if (wanted === event.PhysicalResourceId) return keep;
  const what = now.bucket === before.bucket ? `Owner of bucket ${now.bucket} changed` : `Bucket changed from ${before.bucket} to ${now.bucket}`;
  return {
    Status: 'SUCCESS',
    PhysicalResourceId: wanted,
    Reason:
      `${what}; nothing was deleted. CloudFormation deletes the old resource after the update succeeded, and that ` +
      'Delete empties the old bucket only if it still names the old owner and no live resource uses it.',
  };
}

/**
 * Refuses a Delete whose `BucketName` and `OwnerId` do not spell its physical
 * id (see physical-id.ts): CloudFormation's confirmation is about the
 * physical id, so the properties must be the ones that id stands for.
 */
function refuseUnlessBound(
  event: CfnDeleteEvent,
  settings: TeardownSettings,
  answer: (status: 'SUCCESS' | 'FAILED', reason: string) => TeardownOutcome,
): TeardownOutcome | undefined {
  if (event.PhysicalResourceId === physicalIdFor(settings.bucket, settings.ownerId)) return undefined;
  return answer(
    'SUCCESS',
    `The Delete's properties (bucket ${settings.bucket}, owner ${settings.ownerId ?? 'none'}) do not match its physical id ` +
      `${event.PhysicalResourceId}. Nothing was deleted.`,
  );
}

/**
 * Every check a Delete slice passes before it may delete or fence, the first
 * and each continuation alike: properties bound to the physical id,
 * CloudFormation's confirmation, then the ownership tag. Returns the answer
 * to give instead, or undefined to go on.
 */
async function refusalOf(
  event: CfnDeleteEvent,
  settings: TeardownSettings,
  deps: TeardownDeps,
  answer: (status: 'SUCCESS' | 'FAILED', reason: string) => TeardownOutcome,
): Promise<TeardownOutcome | undefined> {
  return (
    refuseUnlessBound(event, settings, answer) ??
    (await refuseUnlessDeleting(event, settings, deps, answer)) ??
    (await refuseUnlessOwned(settings, deps, answer))
  );
}

/**
 * Decides whether CloudFormation itself is deleting this resource now (see
 * {@link checkStackDeletion}). Returns the answer to give instead, or
 * undefined to go on. Deletes nothing and fences nothing.
 */
async function refuseUnlessDeleting(
  event: CfnDeleteEvent,
  settings: TeardownSettings,
  deps: TeardownDeps,
  answer: (status: 'SUCCESS' | 'FAILED', reason: string) => TeardownOutcome,
): Promise<TeardownOutcome | undefined> {
  const { bucket } = settings;
  let check: StackDeletionCheck;
  try {
    check = await checkStackDeletion(deps.cloudFormation, event, bucket);
  } catch (err) {
    deps.logger.error('Could not ask CloudFormation whether the stack is deleting this resource', {
      bucket,
      stackId: event.StackId,
      error: describeError(err),
    });
    return answer(
      'FAILED',
      `Could not confirm with CloudFormation that stack ${event.StackId} is deleting ${event.LogicalResourceId} ` +
        `(${describeError(err)}). Nothing was deleted from bucket ${bucket}.`,
    );
  }
  if (check.confirmed) return undefined;
  // A stack that is not deleting anything (a forged event, a continuation
  // that outlived its stack deletion) gets SUCCESS: nothing to retry, the data
  // stays. A stack that is deleting gets FAILED: if this refusal was a genuine
  // deletion in a state nobody foresaw, SUCCESS would let CloudFormation drop
  // the purger and fail on the full bucket later, with nothing left to empty it.
  deps.logger.warn('Refused a Delete that CloudFormation does not confirm; nothing was deleted', {
    bucket,
    why: check.why,
    stackId: event.StackId,
    logicalResourceId: event.LogicalResourceId,
    physicalResourceId: event.PhysicalResourceId,
    requestId: event.RequestId,
  });
  return answer(
    check.stackDeleting ? 'FAILED' : 'SUCCESS',
    `CloudFormation does not confirm this deletion: ${check.why}. Nothing was deleted from bucket ${bucket}.`,
  );
}

/**
 * Decides whether this Delete may purge the bucket: only when the bucket's
 * ownership tag names the resource being deleted. Returns the answer to give
 * instead, or undefined to go on. Deletes nothing and fences nothing.
 */
async function refuseUnlessOwned(
  settings: TeardownSettings,
  deps: TeardownDeps,
  answer: (status: 'SUCCESS' | 'FAILED', reason: string) => TeardownOutcome,
): Promise<TeardownOutcome | undefined> {
  const { bucket } = settings;
  let ownership: BucketOwnership;
  try {
    ownership = await checkOwnership(deps.s3, bucket, settings.ownerId);
  } catch (err) {
    deps.logger.error('Could not read the bucket tags', { bucket, error: describeError(err) });
    return answer(
      'FAILED',
      `Could not read the tags of bucket ${bucket} to confirm it is to be purged (${describeError(err)}). Nothing was deleted.`,
    );
  }
  switch (ownership.kind) {
    case 'owned':
      return undefined;
    case 'missing':
      return answer('SUCCESS', `Bucket ${bucket} does not exist; nothing to purge.`);
    case 'untagged':
      deps.logger.info('Bucket is not tagged for purging; leaving it as it is', { bucket, tag: PURGE_TAG_KEY });
      return answer('SUCCESS', `Bucket ${bucket} no longer carries the ${PURGE_TAG_KEY} tag; nothing was deleted.`);
    case 'other-owner':
      deps.logger.info('Bucket belongs to another VersionPurger; leaving it as it is', {
        bucket,
        owner: ownership.owner,
        ownerId: settings.ownerId,
      });
      return answer(
        'SUCCESS',
        `Bucket ${bucket} is owned by another VersionPurger (its ${PURGE_TAG_KEY} tag is ${ownership.owner}, this ` +
          `resource is ${settings.ownerId ?? 'from a release without owner ids'}): the construct was renamed, moved or ` +
          'replaced, and the bucket lives on. Nothing was deleted.',
      );
  }
}

/**
 * How a Delete answers before its purge starts. A FAILED answer (a check
 * that could not be made, bad properties) is a failed teardown: it carries
 * metrics (nothing deleted yet). A refusal (SUCCESS, nothing deleted) carries
 * none: no teardown was attempted.
 */
function answerBeforePurge(event: CfnDeleteEvent, startedAt: number, now: () => number) {
  return (Status: 'SUCCESS' | 'FAILED', Reason: string): TeardownOutcome => {
    const answer: CfnAnswer = { Status, Reason, PhysicalResourceId: event.PhysicalResourceId };
    if (Status === 'SUCCESS') return { kind: 'answer', answer };
    const bucket = event.ResourceProperties?.[PROPERTY.bucketName];
    const metrics: TeardownMetrics = {
      ...NO_PROGRESS,
      bucket: typeof bucket === 'string' ? bucket : '(unknown)',
      requestId: event.RequestId,
      invocations: 1,
      durationMs: now() - startedAt,
      failed: true,
    };
    return { kind: 'answer', answer, metrics };
  };
}

/**
 * Decides the answer after a Delete's checks, fences writes, and hands the
 * purge to the Step Functions workflow (`kind: 'start'`): the handler starts
 * an execution and returns without answering; the workflow answers.
 */
async function onDelete(event: CfnDeleteEvent, deps: TeardownDeps): Promise<TeardownOutcome> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const answer = answerBeforePurge(event, startedAt, now);
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
  const refusal = await refusalOf(event, settings, deps, answer);
  if (refusal) return refusal;
  let fenced = false;
  if (settings.fenceWrites) {
    const fence = await fenceWrites(deps, bucket);
    if (fence === 'missing') return answer('SUCCESS', `Bucket ${bucket} does not exist; nothing to purge.`);
    fenced = fence === 'fenced';
  }
  return { kind: 'start', input: { kind: TEARDOWN_EXECUTION_KIND, v: 1, event, startedAt, fenced } };
}

/** What a workflow step may do after {@link recheckDelete}. */
export type DeleteCheck =
  | { readonly kind: 'allowed'; readonly settings: TeardownSettings }
  | { readonly kind: 'refused'; readonly status: 'SUCCESS' | 'FAILED'; readonly reason: string };

/**
 * The chain of checks every workflow step that may delete runs again,
 * whatever invoked it: properties readable, purgeOnDelete, properties bound
 * to the physical id, CloudFormation's confirmation that the stack is
 * deleting the resource now, the ownership tag. A step payload is where to
 * resume, never a permission to delete.
 */
async function recheckDelete(event: CfnDeleteEvent, deps: TeardownDeps): Promise<DeleteCheck> {
  const refused = (status: 'SUCCESS' | 'FAILED', reason: string): DeleteCheck => ({ kind: 'refused', status, reason });
  if (event.PhysicalResourceId === CREATE_FAILED_PHYSICAL_ID) return refused('SUCCESS', 'Create had failed; nothing to delete.');
  let settings: TeardownSettings;
  try {
    settings = readSettings(event.ResourceProperties);
  } catch (err) {
    return refused('FAILED', errorMessage(err));
  }
  if (!settings.purgeOnDelete) return refused('SUCCESS', `purgeOnDelete is false; bucket ${settings.bucket} was left as it is.`);
  const toOutcome = (Status: 'SUCCESS' | 'FAILED', Reason: string): TeardownOutcome => ({
    kind: 'answer',
    answer: { Status, Reason, PhysicalResourceId: event.PhysicalResourceId },
  });
  const refusal = await refusalOf(event, settings, deps, toOutcome);
  if (refusal?.kind === 'answer') return refused(refusal.answer.Status, refusal.answer.Reason ?? '');
  return { kind: 'allowed', settings };
}

/** The handler's next step for a CloudFormation request: answer it, or start the workflow (Delete). */
export type TeardownOutcome =
  | {
      readonly kind: 'answer';
      readonly answer: CfnAnswer;
      /** The teardown's totals, to emit with the answer; absent when nothing was attempted (a refusal). */
      readonly metrics?: TeardownMetrics;
    }
  | { readonly kind: 'start'; readonly input: TeardownExecutionInput };

export { physicalIdFor, onCreate, onUpdate, onDelete, recheckDelete };

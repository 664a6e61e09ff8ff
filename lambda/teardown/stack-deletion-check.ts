import {
  type CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
  type StackResourceDetail,
} from '@aws-sdk/client-cloudformation';
import type { CfnDeleteEvent } from './cfn-response';
import { PHYSICAL_ID_PREFIX } from '../resource-contract';
import { errorCode, errorMessage } from '../engine/s3/s3-errors';

/**
 * Stack statuses in which CloudFormation deletes resources:
 * - the stack is being deleted, or rolled back after a failed creation;
 * - the cleanup after an update, which deletes removed and replaced resources;
 * - the cleanup after a failed update's rollback, which deletes what the failed
 *   update had created.
 */
export const DELETING_STACK_STATUSES: ReadonlySet<string> = new Set([
  'DELETE_IN_PROGRESS',
  'ROLLBACK_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
]);

/** The phases in which CloudFormation deletes physical resources that were replaced. */
const CLEANUP_STATUSES: ReadonlySet<string> = new Set([
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
]);

/** CloudFormation's word on a Delete request. */
export type StackDeletionCheck =
  | { readonly confirmed: true; readonly stackStatus: string }
  | { readonly confirmed: false; readonly why: string };

/**
 * Asks CloudFormation whether the stack named by the event is deleting this
 * very resource now, so that a forged Delete event (anyone with
 * `lambda:InvokeFunction` can send one) cannot make the function delete:
 *
 * 1. `DescribeStacks` on the event's `StackId`: the stack must exist, have
 *    exactly that id, and be in one of {@link DELETING_STACK_STATUSES}.
 * 2. `DescribeStackResource` on the event's `LogicalResourceId`:
 *    - when the stack's resource has the event's physical id, it must be
 *      `DELETE_IN_PROGRESS`;
 *    - when it has another one, the event names a physical id that an update
 *      (or a rollback) replaced: that is only deleted in a cleanup phase, and
 *      never while the live resource still names the same bucket.
 *
 * Throws when CloudFormation cannot be asked (the caller answers FAILED and
 * deletes nothing).
 */
export async function checkStackDeletion(
  cfn: CloudFormationClient,
  event: CfnDeleteEvent,
  bucket: string,
): Promise<StackDeletionCheck> {
  const stackId = event.StackId;
  if (!/^arn:[^:]+:cloudformation:[^:]*:\d*:stack\/[^/]+\/.+$/.test(stackId)) {
    return { confirmed: false, why: `the event's StackId ${JSON.stringify(stackId)} is not a stack ARN` };
  }
  let stackStatus: string | undefined;
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackId }));
    const stack = out.Stacks?.find((s) => s.StackId === stackId);
    if (!stack) return { confirmed: false, why: `stack ${stackId} does not exist` };
    stackStatus = stack.StackStatus;
  } catch (err) {
    if (isDoesNotExist(err)) return { confirmed: false, why: `stack ${stackId} does not exist` };
    throw err;
  }
  if (!stackStatus || !DELETING_STACK_STATUSES.has(stackStatus)) {
    return { confirmed: false, why: `stack ${stackId} is ${stackStatus ?? 'in no known status'}, not deleting resources` };
  }

  let resource: StackResourceDetail | undefined;
  try {
    const out = await cfn.send(new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: event.LogicalResourceId }));
    resource = out.StackResourceDetail;
  } catch (err) {
    if (!isDoesNotExist(err)) throw err;
  }
  if (!resource) {
    return { confirmed: false, why: `stack ${stackId} has no resource ${event.LogicalResourceId}` };
  }
  if (resource.PhysicalResourceId === event.PhysicalResourceId) {
    if (resource.ResourceStatus === 'DELETE_IN_PROGRESS') return { confirmed: true, stackStatus };
    return {
      confirmed: false,
      why: `resource ${event.LogicalResourceId} of stack ${stackId} is ${resource.ResourceStatus ?? 'in no known status'}, not being deleted`,
    };
  }
  // The event names a physical id the stack's resource no longer has: a
  // bucket that an update replaced (or that a failed update created and its
  // rollback abandons).
  if (!CLEANUP_STATUSES.has(stackStatus)) {
    return {
      confirmed: false,
      why: `resource ${event.LogicalResourceId} of stack ${stackId} is ${resource.PhysicalResourceId}, not ${event.PhysicalResourceId}, and the stack is ${stackStatus}, not cleaning up replaced resources`,
    };
  }
  if (resource.PhysicalResourceId === `${PHYSICAL_ID_PREFIX}${bucket}`) {
    return {
      confirmed: false,
      why: `bucket ${bucket} is still in use by resource ${event.LogicalResourceId} of stack ${stackId}`,
    };
  }
  return { confirmed: true, stackStatus };
}

/** CloudFormation's way of saying a stack or resource does not exist. */
function isDoesNotExist(err: unknown): boolean {
  return errorCode(err) === 'ValidationError' && /does not exist/i.test(errorMessage(err));
}

import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
  type StackResourceDetail,
} from '@aws-sdk/client-cloudformation';
import type { CfnDeleteEvent } from './cfn-response';
import { RESOURCE_TYPE } from '../resource-contract';
import { errorCode, errorMessage } from '../engine/s3/s3-errors';
import { bucketOfPhysicalId } from './physical-id';

/** Pages of stack events read, at most, to find a replaced resource's deletion (100 events a page). */
const MAX_EVENT_PAGES = 10;

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
  | {
      readonly confirmed: false;
      readonly why: string;
      /** True when the stack is in a phase that deletes resources (the refusal may then be a genuine deletion). */
      readonly stackDeleting: boolean;
    };

/**
 * Asks CloudFormation whether the stack named by the event is deleting this
 * very resource now, so that a forged Delete event (anyone with
 * `lambda:InvokeFunction` can send one) cannot make the function delete:
 *
 * 1. `DescribeStacks` on the event's `StackId`: the stack must exist, have
 *    exactly that id, and be in one of {@link DELETING_STACK_STATUSES}.
 * 2. `DescribeStackResource` on the event's `LogicalResourceId`: it must be a
 *    `Custom::VersionPurger`, and
 *    - when it has the event's physical id, it must be `DELETE_IN_PROGRESS`;
 *    - when it has another one, the event names a physical id that an update
 *      (or a rollback) replaced. That is only deleted in a cleanup phase,
 *      never while the live resource names the same bucket, and only when the
 *      stack's events show CloudFormation deleting exactly that physical id
 *      of that resource now (`DescribeStackEvents`).
 *
 * The caller has checked that the event's properties spell its physical id
 * (physical-id.ts), so a confirmation covers the bucket and the owner too.
 * Throws when CloudFormation cannot be asked (the caller answers FAILED and
 * deletes nothing).
 */
export async function checkStackDeletion(
  cfn: CloudFormationClient,
  event: CfnDeleteEvent,
  bucket: string,
): Promise<StackDeletionCheck> {
  const stackId = event.StackId;
  const refuse = (why: string, stackDeleting = false): StackDeletionCheck => ({ confirmed: false, why, stackDeleting });
  if (!/^arn:[^:]+:cloudformation:[^:]*:\d*:stack\/[^/]+\/.+$/.test(stackId)) {
    return refuse(`the event's StackId ${JSON.stringify(stackId)} is not a stack ARN`);
  }
  const stackStatus = await describeStackStatus(cfn, stackId);
  if (stackStatus === undefined) return refuse(`stack ${stackId} does not exist`);
  if (!DELETING_STACK_STATUSES.has(stackStatus)) return refuse(`stack ${stackId} is ${stackStatus}, not deleting resources`);

  const resource = await describeResource(cfn, stackId, event.LogicalResourceId);
  if (!resource) return refuse(`stack ${stackId} has no resource ${event.LogicalResourceId}`, true);
  const name = `resource ${event.LogicalResourceId} of stack ${stackId}`;
  if (resource.ResourceType !== RESOURCE_TYPE) return refuse(`${name} is a ${resource.ResourceType ?? 'resource of no known type'}, not a ${RESOURCE_TYPE}`, true);
  if (resource.PhysicalResourceId === event.PhysicalResourceId) {
    if (resource.ResourceStatus === 'DELETE_IN_PROGRESS') return { confirmed: true, stackStatus };
    return refuse(`${name} is ${resource.ResourceStatus ?? 'in no known status'}, not being deleted`, true);
  }
  // The event names a physical id the stack's resource no longer has: a
  // bucket that an update replaced (or that a failed update created and its
  // rollback abandons).
  if (!CLEANUP_STATUSES.has(stackStatus)) {
    return refuse(`${name} is ${resource.PhysicalResourceId}, not ${event.PhysicalResourceId}, and the stack is ${stackStatus}, not cleaning up replaced resources`, true);
  }
  if (bucketOfPhysicalId(resource.PhysicalResourceId) === bucket) {
    return refuse(`bucket ${bucket} is still in use by ${name}`, true);
  }
  if (!(await isBeingDeleted(cfn, stackId, event.LogicalResourceId, event.PhysicalResourceId))) {
    return refuse(`the events of stack ${stackId} show no deletion in progress of ${event.PhysicalResourceId} (${event.LogicalResourceId})`, true);
  }
  return { confirmed: true, stackStatus };
}

/** The stack's status, or undefined when no stack has exactly this id. */
async function describeStackStatus(cfn: CloudFormationClient, stackId: string): Promise<string | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackId }));
    return out.Stacks?.find((s) => s.StackId === stackId)?.StackStatus ?? undefined;
  } catch (err) {
    if (isDoesNotExist(err)) return undefined;
    throw err;
  }
}

async function describeResource(cfn: CloudFormationClient, stackId: string, logicalId: string): Promise<StackResourceDetail | undefined> {
  try {
    return (await cfn.send(new DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }))).StackResourceDetail;
  } catch (err) {
    if (isDoesNotExist(err)) return undefined;
    throw err;
  }
}

/**
 * True when the stack's latest event for this physical id of this resource is
 * DELETE_IN_PROGRESS, within the current cleanup phase. Events come newest
 * first; the stack's own event that started the cleanup bounds the search.
 */
async function isBeingDeleted(cfn: CloudFormationClient, stackId: string, logicalId: string, physicalId: string): Promise<boolean> {
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const out = await cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken }));
    for (const e of out.StackEvents ?? []) {
      if (e.LogicalResourceId === logicalId && e.PhysicalResourceId === physicalId) return e.ResourceStatus === 'DELETE_IN_PROGRESS';
      const cleanupStarted = e.PhysicalResourceId === stackId && e.ResourceType === 'AWS::CloudFormation::Stack' && CLEANUP_STATUSES.has(e.ResourceStatus ?? '');
      if (cleanupStarted) return false;
    }
    nextToken = out.NextToken;
    if (!nextToken) return false;
  }
  return false;
}

/** CloudFormation's way of saying a stack or resource does not exist. */
function isDoesNotExist(err: unknown): boolean {
  return errorCode(err) === 'ValidationError' && /does not exist/i.test(errorMessage(err));
}

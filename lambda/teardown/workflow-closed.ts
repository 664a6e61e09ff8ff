import type { CfnAnswer, CfnDeleteEvent } from './cfn-response';
import { shorten } from '../engine/failure-text';
import { isCfnEvent } from './cfn-response';
import { TEARDOWN_EXECUTION_KIND, type TeardownExecutionInput } from '../workflow/contract';
import type { TeardownLogger } from './deps';

/** `detail-type` of the events Step Functions sends EventBridge when an execution changes status. */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

/** The statuses of an execution that ended without reaching its end state. */
export const UNFINISHED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** EventBridge's "Step Functions Execution Status Change" event, as far as it is read. */
export interface ExecutionStatusChangeEvent {
  readonly source: 'aws.states';
  readonly 'detail-type': typeof EXECUTION_STATUS_CHANGE;
  readonly detail: { readonly executionArn: string; readonly stateMachineArn: string; readonly status: string };
}

/** True when `value` is an {@link ExecutionStatusChangeEvent}. */
export function isExecutionStatusChange(value: unknown): value is ExecutionStatusChangeEvent {
  const v = value as Partial<ExecutionStatusChangeEvent> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.source === 'aws.states' &&
    v['detail-type'] === EXECUTION_STATUS_CHANGE &&
    typeof v.detail?.executionArn === 'string' &&
    typeof v.detail?.stateMachineArn === 'string'
  );
}

/** What DescribeExecution says of an execution. */
export interface DescribedExecution {
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: string;
  /** The execution input, JSON text. */
  readonly input: string;
  readonly error?: string;
  readonly cause?: string;
}

/** What {@link onWorkflowClosed} talks to. */
export interface WorkflowClosedDeps {
  /** The state machine of this function's stack. */
  readonly stateMachineArn: string;
  /** Step Functions' DescribeExecution. */
  readonly describeExecution: (executionArn: string) => Promise<DescribedExecution>;
  /** PUTs the answer to the ResponseURL. */
  readonly respond: (event: CfnDeleteEvent, answer: CfnAnswer) => Promise<void>;
  readonly logger: TeardownLogger;
}

/** What happened to a status change. */
export type WorkflowClosedOutcome = 'answered' | 'ignored';

/**
 * The backstop for a teardown execution that ended without answering
 * CloudFormation: it timed out (the state machine's own timeout), was
 * stopped by hand, or failed where no Catch could help (the Answer step
 * itself). The stack would otherwise wait out its serviceTimeout; this
 * answers FAILED at once, naming what happened.
 *
 * Deletes nothing. The event only says which execution to look at: the
 * status, the state machine and the input (CloudFormation's event) come from
 * DescribeExecution, so a forged event can at most make the function answer
 * FAILED for an execution of its own workflow that really ended unfinished.
 * Retention executions are left to the workflow alarm.
 */
export async function onWorkflowClosed(event: ExecutionStatusChangeEvent, deps: WorkflowClosedDeps): Promise<WorkflowClosedOutcome> {
  const { executionArn } = event.detail;
  const ignore = (why: string): WorkflowClosedOutcome => {
    deps.logger.info('Workflow status change ignored', { executionArn, why });
    return 'ignored';
  };
  if (event.detail.stateMachineArn !== deps.stateMachineArn) return ignore('not this stack\'s state machine');
  const execution = await deps.describeExecution(executionArn);
  if (execution.stateMachineArn !== deps.stateMachineArn) return ignore('not an execution of this stack\'s state machine');
  if (!(UNFINISHED_STATUSES as readonly string[]).includes(execution.status)) return ignore(`the execution is ${execution.status}`);
  const input = teardownInputOf(execution.input);
  if (!input) return ignore('not a teardown execution');
  const what =
    execution.status === 'TIMED_OUT'
      ? 'timed out (the state machine\'s own timeout)'
      : execution.status === 'ABORTED'
        ? 'was stopped'
        : 'failed';
  const detail = [execution.error, execution.cause].filter((s): s is string => typeof s === 'string' && s !== '').join(': ');
  const bucket = input.event.ResourceProperties?.BucketName;
  const answer: CfnAnswer = {
    Status: 'FAILED',
    PhysicalResourceId: input.event.PhysicalResourceId,
    Reason:
      `The purge workflow ${execution.name} ${what} before it answered${detail ? ` (${shorten(detail, 1000)})` : ''}. ` +
      `Bucket ${String(bucket)} may still hold versions${input.fenced ? ', and new writes stay denied by the bucket policy' : ''}. ` +
      'Retrying the stack deletion starts the purge again.',
  };
  deps.logger.error('A teardown workflow ended without answering; answering FAILED', { executionArn, status: execution.status, detail });
  await deps.respond(input.event, answer);
  return 'answered';
}

/** The teardown execution input in `text`, or undefined when it is not one. */
function teardownInputOf(text: string): TeardownExecutionInput | undefined {
  let input: Partial<TeardownExecutionInput> | null;
  try {
    input = JSON.parse(text) as Partial<TeardownExecutionInput> | null;
  } catch {
    return undefined;
  }
  if (!input || input.kind !== TEARDOWN_EXECUTION_KIND || !isCfnEvent(input.event) || input.event.RequestType !== 'Delete') return undefined;
  return input as TeardownExecutionInput;
}

/**
 * The contract between the Step Functions workflow the construct synthesizes
 * (lib/version-purger-provider.ts) and the handler's steps (lambda/): the
 * execution inputs, the payload every Task sends to the function, what each
 * step returns, the state names of the definition, and where the function
 * finds its state machine.
 *
 * Types and plain constants (and two pure string functions) only, so that
 * lib/ and tests can import it without pulling Lambda code into a CDK app.
 * It imports nothing but types of the engine, so that teardown, retention
 * and the handler can all build on it.
 *
 * How state flows (JSONPath):
 * - Every Task invokes the one provider function with
 *   `{ kind: 'workflow', v: 1, step, run, state }`: `run` is the execution's
 *   input (`$$.Execution.Input`; in a Map child the parent's input, carried
 *   in the item), `state` is what the step works on. The step's result
 *   replaces the state (`ResultPath: '$'`, except in Map children, below).
 * - The function never trusts `run` or `state` to decide WHETHER to delete:
 *   every step re-checks (teardown: CloudFormation and the ownership tag;
 *   retention: reads the configured run from the stack). They only say where
 *   to resume and how much is left.
 */
import type { ResumeToken } from '../engine/resume-token';
import type { DeleteFailure } from '../engine/types';
import type { AbortFailure } from '../engine/uploads/upload-sweep';

/** `kind` of every Task payload the workflow sends to the function. */
export const WORKFLOW_KIND = 'workflow';
/** Version of the step payloads; a handler refuses others. */
export const WORKFLOW_VERSION = 1;

/** `kind` of a teardown execution's input. */
export const TEARDOWN_EXECUTION_KIND = 'teardown';
/** `kind` of a retention execution's input (the rule's input, the same as the retention request's kind). */
export const RETENTION_EXECUTION_KIND = 'retention';

/** The steps the function runs, by the `step` field of the payload. */
export const STEP = {
  /** Checks, then splits the bucket into key ranges (or purges a small bucket at once). */
  teardownPlan: 'teardown-plan',
  /** Purges one key range until done or out of time. */
  teardownSlice: 'teardown-slice',
  /** Adds up the ranges, lists from the start: another pass, or the verdict. */
  teardownConfirm: 'teardown-confirm',
  /** The single response to CloudFormation, and the teardown metrics. */
  teardownAnswer: 'teardown-answer',
  /** Reads the configured run, splits its prefixes into key ranges. */
  retentionPlan: 'retention-plan',
  /** Adds up the last round, gives each unfinished range its quota of the cap. */
  retentionRound: 'retention-round',
  /** Runs retention on one key range until done, out of quota or out of time. */
  retentionSlice: 'retention-slice',
  /** Report, metrics; throws when the run failed so that the execution fails. */
  retentionFinish: 'retention-finish',
} as const;

/** One of {@link STEP}. */
export type StepName = (typeof STEP)[keyof typeof STEP];

/**
 * State names in the synthesized definition. Tests and the local Step
 * Functions harness find states by these names.
 */
export const STATE = {
  /** Choice on the execution input's `kind`. */
  route: 'Route',
  teardownStart: 'TeardownStart',
  teardownPlan: 'TeardownPlan',
  teardownPlanned: 'TeardownPlanned',
  teardownRanges: 'TeardownRanges',
  teardownSlice: 'TeardownSlice',
  teardownSliceDone: 'TeardownSliceDone',
  teardownRangeResult: 'TeardownRangeResult',
  teardownRangeFailed: 'TeardownRangeFailed',
  teardownConfirm: 'TeardownConfirm',
  teardownConfirmed: 'TeardownConfirmed',
  teardownAnswer: 'TeardownAnswer',
  teardownAnswered: 'TeardownAnswered',
  teardownAnswerFailed: 'TeardownAnswerFailed',
  retentionPlan: 'RetentionPlan',
  retentionRound: 'RetentionRound',
  retentionRoundPlanned: 'RetentionRoundPlanned',
  retentionRanges: 'RetentionRanges',
  retentionSlice: 'RetentionSlice',
  retentionSliceDone: 'RetentionSliceDone',
  retentionRangeResult: 'RetentionRangeResult',
  retentionRangeFailed: 'RetentionRangeFailed',
  retentionFinish: 'RetentionFinish',
  retentionFinished: 'RetentionFinished',
  retentionFailed: 'RetentionFailed',
  unknownInput: 'UnknownInput',
} as const;

/** Prefix of the state machine's name; the rest is the stack's UUID. */
export const STATE_MACHINE_NAME_PREFIX = 'VersionPurger-';

/** Step Functions' longest execution name. */
export const MAX_EXECUTION_NAME_LENGTH = 80;

/**
 * The state machine's name for a stack: `VersionPurger-<uuid>`, where the
 * UUID is the last part of the stack id
 * (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`). Unique per
 * stack (nested stacks too), and known to the function from its
 * `VERSION_PURGER_STACK_ID` without a reference to the state machine, which
 * would make a CloudFormation cycle (the state machine invokes the function).
 * The construct synthesizes the same with `Fn::Split('/', AWS::StackId)`.
 * @throws Error when `stackId` is not a CloudFormation stack ARN.
 */
export function stateMachineNameFor(stackId: string): string {
  return `${STATE_MACHINE_NAME_PREFIX}${parseStackId(stackId).uuid}`;
}

/**
 * The state machine's ARN for a stack (same partition, region and account).
 * @throws Error when `stackId` is not a CloudFormation stack ARN.
 */
export function stateMachineArnFor(stackId: string): string {
  const { partition, region, account } = parseStackId(stackId);
  return `arn:${partition}:states:${region}:${account}:stateMachine:${stateMachineNameFor(stackId)}`;
}

/**
 * The execution name for a CloudFormation request: its RequestId, with
 * anything Step Functions does not accept in a name replaced, at most 80
 * characters. A second delivery of the same request gets the same name, so
 * StartExecution does not start a second run.
 */
export function executionNameFor(prefix: string, requestId: string): string {
  const safe = `${prefix}${requestId}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return safe.slice(0, MAX_EXECUTION_NAME_LENGTH);
}

function parseStackId(stackId: string): { partition: string; region: string; account: string; uuid: string } {
  const m = /^arn:([^:]+):cloudformation:([^:]+):([^:]+):stack\/[^/]+\/([^/]+)$/.exec(stackId);
  if (!m) throw new Error(`not a CloudFormation stack ARN: ${JSON.stringify(stackId)}`);
  return { partition: m[1], region: m[2], account: m[3], uuid: m[4] };
}

// ---------------------------------------------------------------- payloads

/**
 * What every Task sends to the function.
 * @typeParam R the execution input (`run`)
 * @typeParam S the step's state
 */
export interface StepPayload<R, S> {
  readonly kind: typeof WORKFLOW_KIND;
  readonly v: typeof WORKFLOW_VERSION;
  readonly step: StepName;
  readonly run: R;
  readonly state: S;
}

/** The error a Catch puts at `$.error` (Step Functions' shape). */
export interface StepError {
  readonly Error: string;
  readonly Cause?: string;
}

/** A key range: keys under `prefix`, after `after` (exclusive), through `through` (inclusive). */
export interface WorkflowKeyRange {
  readonly prefix: string;
  readonly after?: string;
  readonly through?: string;
}

// ---------------------------------------------------------------- teardown

/** The Delete request, as CloudFormation sent it (lambda/teardown/cfn-response.ts has the same shape). */
export interface WorkflowDeleteEvent {
  readonly RequestType: 'Delete';
  readonly ServiceToken: string;
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly PhysicalResourceId: string;
  readonly ResourceProperties: Record<string, unknown>;
}

/** A teardown execution's input, from the custom-resource handler's StartExecution. */
export interface TeardownExecutionInput {
  readonly kind: typeof TEARDOWN_EXECUTION_KIND;
  readonly v: 1;
  readonly event: WorkflowDeleteEvent;
  /** Epoch ms when the handler received the Delete: the serviceTimeout budget counts from here. */
  readonly startedAt: number;
  /** True when the deny-PutObject statement is in place. */
  readonly fenced: boolean;
}

/** What a teardown did so far, over every range and pass. */
export interface TeardownTotals {
  readonly deleted: number;
  readonly deleteMarkersDeleted: number;
  readonly bytesDeleted: number;
  readonly listed: number;
  /** Failures in the last pass only (a later pass retries what an earlier one could not delete). */
  readonly failed: number;
  readonly uploadsAborted: number;
  readonly uploadsFailed: number;
  /** Slice invocations so far (Plan's inline purge counts as one). */
  readonly slices: number;
  /** The first failures of the last pass. */
  readonly errors: DeleteFailure[];
  readonly uploadErrors: AbortFailure[];
}

/** The answer Plan or Confirm decided on; Answer sends it. */
export interface TeardownVerdict {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly reason: string;
  /** False for a refusal (nothing was attempted): no teardown metrics. */
  readonly attempted: boolean;
}

/** Plan's state: `{ pass: 1 }` from TeardownStart, or what Confirm returned for another pass. */
export interface TeardownPlanState {
  readonly pass: number;
  readonly totals?: TeardownTotals;
}

/** What Plan returns. `next: 'answer'` skips the Map (a refusal, an error, or a small bucket purged inline). */
export interface TeardownPlanResult {
  readonly next: 'ranges' | 'answer';
  readonly pass: number;
  readonly totals: TeardownTotals;
  /** The Map's items: one per key range, disjoint and covering every key. */
  readonly ranges: TeardownSliceState[];
  readonly verdict?: TeardownVerdict;
}

/** One range's work item and loop state in a Map child (`$.slice` of the child). */
export interface TeardownSliceState {
  readonly index: number;
  readonly pass: number;
  readonly range: WorkflowKeyRange;
  /** Where the range resumes; null or absent for its start. At most 8 KiB. */
  readonly token?: ResumeToken | null;
  /** Invocations of this range's slice so far. */
  readonly slices?: number;
  /** True when the range is finished (or cannot go on: `result` says why). */
  readonly done?: boolean;
  /** Set when `done`: what the child returns. */
  readonly result?: TeardownRangeResult;
}

/** A Map child's input: the execution's input and the range's work item. */
export interface TeardownChildInput {
  readonly run: TeardownExecutionInput;
  readonly slice: TeardownSliceState;
}

/** What one range's child returns to the Map: counts only (and the first failures). */
export interface TeardownRangeResult {
  readonly index: number;
  readonly deleted: number;
  readonly deleteMarkersDeleted: number;
  readonly bytesDeleted: number;
  readonly listed: number;
  readonly failed: number;
  readonly uploadsAborted: number;
  readonly uploadsFailed: number;
  readonly slices: number;
  /** The run's deadline passed before the range was done. */
  readonly deadlinePassed: boolean;
  /** The bucket disappeared while purging. */
  readonly bucketMissing?: boolean;
  /** Why the range stopped, when it stopped on an error. */
  readonly stoppedBy?: string;
  /** The re-run checks refused the slice (the stack no longer deletes the resource, the tag changed, …): nothing was deleted. */
  readonly refusal?: TeardownVerdict;
  /** The first failures (at most a few). */
  readonly errors: DeleteFailure[];
  readonly uploadErrors: AbortFailure[];
  /** Set by the child's Catch: the slice itself failed. */
  readonly error?: StepError;
}

/** Confirm's state: Plan's result with the Map's results at `results`. */
export interface TeardownConfirmState extends TeardownPlanResult {
  readonly results: TeardownRangeResult[];
}

/** What Confirm returns: another pass (`next: 'plan'`), or the verdict. */
export interface TeardownConfirmResult {
  readonly next: 'plan' | 'answer';
  readonly pass: number;
  readonly totals: TeardownTotals;
  readonly verdict?: TeardownVerdict;
}

/** Answer's state: a verdict, or a Catch's `error` (then the answer is FAILED with its cause). */
export interface TeardownAnswerState {
  readonly pass?: number;
  readonly totals?: TeardownTotals;
  readonly verdict?: TeardownVerdict;
  readonly error?: StepError;
}

/** What Answer returns. */
export interface TeardownAnswerResult {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly reason: string;
}

// ---------------------------------------------------------------- retention

/** A retention execution's input: the rule's input (lambda/retention/contract.ts `RetentionRequest`). */
export interface RetentionExecutionInput {
  readonly kind: typeof RETENTION_EXECUTION_KIND;
  readonly v: 2;
  readonly purger: string;
  readonly dryRun?: boolean;
  readonly asOf?: string;
}

/** Counts of selected entries under one top-level prefix. */
export interface WorkflowPrefixTotals {
  versions: number;
  deleteMarkers: number;
  bytes: number;
}

/** Selected entries by top-level prefix (lambda/retention/contract.ts `RetentionTallySnapshot`). */
export interface WorkflowTally {
  readonly byPrefix: Record<string, WorkflowPrefixTotals>;
  readonly total: WorkflowPrefixTotals;
  readonly sample: ReadonlyArray<{
    readonly key: string;
    readonly versionId: string;
    readonly isDeleteMarker: boolean;
    readonly lastModified: string;
    readonly size: number;
  }>;
}

/** A retention run's totals. */
export interface RetentionTotals {
  readonly listed: number;
  readonly selected: number;
  readonly deleted: number;
  readonly deleteMarkersDeleted: number;
  readonly bytesDeleted: number;
  readonly failed: number;
  readonly uploadsSelected: number;
  readonly uploadsAborted: number;
  readonly uploadsFailed: number;
  readonly errors: DeleteFailure[];
  readonly uploadErrors: AbortFailure[];
}

/** One key range of a retention run, between rounds. */
export interface RetentionRangeState {
  readonly index: number;
  readonly range: WorkflowKeyRange;
  readonly token: ResumeToken | null;
  readonly done: boolean;
}

/** The run's state between rounds (Plan's and Round's result). */
export interface RetentionRunState {
  /** `'rounds'`: run the Map over `items`; `'finish'`: the run is over. */
  readonly next: 'ranges' | 'finish';
  /** The execution's name; names the run in logs and reports. */
  readonly runId: string;
  readonly bucket: string;
  readonly dryRun: boolean;
  /** Epoch ms the policy is evaluated at, the same for every slice. */
  readonly asOf: number;
  readonly startedAt: number;
  /** `maxDeletionsPerRun` less what was selected so far; null without a cap. */
  readonly remaining: number | null;
  readonly capReached: boolean;
  readonly round: number;
  readonly ranges: RetentionRangeState[];
  /** This round's work: the unfinished ranges, each with its quota. */
  readonly items: RetentionSliceState[];
  readonly totals: RetentionTotals;
  readonly tally: WorkflowTally;
  /** Dry runs with a report location: entry files written so far. */
  readonly report: { readonly entriesWritten: number; readonly files: string[] } | null;
  /** Why the run failed, once it has. */
  readonly failure?: string;
}

/** One range's work item and loop state in a retention Map child (`$.slice`). */
export interface RetentionSliceState {
  readonly index: number;
  readonly round: number;
  readonly runId: string;
  readonly asOf: number;
  readonly range: WorkflowKeyRange;
  readonly token: ResumeToken | null;
  /** Entries this range may still select in this round; null without a cap. */
  readonly quota: number | null;
  /** Report entries this range may still write in this round. */
  readonly reportRoom: number;
  readonly slices?: number;
  readonly done?: boolean;
  readonly result?: RetentionRangeResult;
}

/** A retention Map child's input. */
export interface RetentionChildInput {
  readonly run: RetentionExecutionInput;
  readonly slice: RetentionSliceState;
}

/** What one retention range returns for a round. */
export interface RetentionRangeResult extends RetentionTotals {
  readonly index: number;
  /** Where the range resumes next round; null when it is finished. The totals are what this round added (not cumulative). */
  readonly token: ResumeToken | null;
  readonly done: boolean;
  readonly tally: WorkflowTally;
  readonly reportFiles: string[];
  readonly reportEntries: number;
  /** Why the range stopped on an error. */
  readonly failure?: string;
  /** Set by the child's Catch. */
  readonly error?: StepError;
}

/** Round's state: the run state, with the Map's results after a round. */
export interface RetentionRoundState extends RetentionRunState {
  readonly results?: RetentionRangeResult[];
}

/** Finish's state: the run state, or only a Catch's error when Plan failed. */
export interface RetentionFinishState extends Partial<RetentionRunState> {
  readonly error?: StepError;
}

/** Teardown payloads, by step. */
export type TeardownStepPayload =
  | StepPayload<TeardownExecutionInput, TeardownPlanState>
  | StepPayload<TeardownExecutionInput, TeardownSliceState>
  | StepPayload<TeardownExecutionInput, TeardownConfirmState>
  | StepPayload<TeardownExecutionInput, TeardownAnswerState>;

/** True when `value` is a workflow step payload (its content is validated by the step). */
export function isStepPayload(value: unknown): value is StepPayload<unknown, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.kind === WORKFLOW_KIND && typeof v.step === 'string';
}

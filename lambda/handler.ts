import { Logger } from '@aws-lambda-powertools/logger';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type CfnAnswer,
  type CfnDeleteEvent,
  type CfnEvent,
  isCfnEvent,
  redactEvent,
  sendResponse,
} from './teardown/cfn-response';
import { type HandlerEnv, readHandlerEnv } from './runtime/env';
import { purgeBucket } from './engine/purge-engine';
import type { PurgeOptions, PurgeResult } from './engine/purge-types';
import { CREATE_FAILED_PHYSICAL_ID } from './resource-contract';
import { isRetentionRequest } from './retention/contract';
import { type PublishRetentionMetrics, publishRetentionMetrics } from './retention/metrics';
import { parseRequest, resolveRetentionRequest } from './retention/request';
import { createS3Client } from './engine/s3/s3-client';
import { createExecutionStarter, type StartExecution } from './runtime/start-execution';
import { onCreate, onDelete, onUpdate, type TeardownOutcome } from './teardown/custom-resource';
import type { TeardownDeps } from './teardown/deps';
import { type PublishTeardownMetrics, publishTeardownMetrics, type TeardownMetrics } from './teardown/metrics';
import type { TeardownTiming } from './teardown/steps/budget';
import { planTeardown } from './teardown/steps/plan-step';
import { sliceTeardown } from './teardown/steps/slice-step';
import { confirmTeardown } from './teardown/steps/confirm-step';
import { answerTeardown } from './teardown/steps/answer-step';
import { planRetention } from './retention/steps/plan-step';
import { nextRound } from './retention/steps/rounds';
import { sliceRetention } from './retention/steps/slice-step';
import { finishRetention } from './retention/steps/finish-step';
import {
  executionNameFor,
  isStepPayload,
  type RetentionChildInput,
  type RetentionExecutionInput,
  type RetentionFinishState,
  type RetentionRoundState,
  STEP,
  stateMachineArnFor,
  type StepPayload,
  type TeardownAnswerState,
  type TeardownConfirmState,
  type TeardownExecutionInput,
  type TeardownPlanState,
  type TeardownSliceState,
  WORKFLOW_VERSION,
} from './workflow/contract';

/** The part of Lambda's context object the handler uses. */
export interface LambdaContext {
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly awsRequestId: string;
  readonly logGroupName?: string;
  readonly logStreamName?: string;
  getRemainingTimeInMillis(): number;
}

/** Everything the handler talks to; tests replace parts of it. */
export interface HandlerDeps {
  readonly s3: S3Client;
  /** Asks CloudFormation whether a Delete is real (honours `AWS_ENDPOINT_URL_CLOUDFORMATION`). */
  readonly cloudFormation: CloudFormationClient;
  readonly purge: (options: PurgeOptions) => Promise<PurgeResult>;
  /** Starts an execution of the stack's workflow (honours `AWS_ENDPOINT_URL_SFN`). */
  readonly startExecution: StartExecution;
  readonly respond: (event: CfnEvent, answer: CfnAnswer) => Promise<void>;
  readonly logger: Logger;
  readonly env: HandlerEnv;
  readonly now: () => number;
  /**
   * Emits a retention run's metrics.
   * @default - CloudWatch EMF through Powertools Metrics
   */
  readonly publishRetentionMetrics?: PublishRetentionMetrics;
  /**
   * Emits a teardown's metrics, once, with the answer to CloudFormation.
   * @default - CloudWatch EMF through Powertools Metrics
   */
  readonly publishTeardownMetrics?: PublishTeardownMetrics;
}

const logger = new Logger({ serviceName: 'cdk-version-purger' });

let defaultDeps: HandlerDeps | undefined;

/**
 * Starts executions of the stack's state machine, whose ARN follows from the
 * stack id (lambda/workflow/contract.ts): no reference to the state machine,
 * which would make a CloudFormation cycle.
 */
function executionStarter(env: HandlerEnv): StartExecution {
  let start: StartExecution | undefined;
  return (name, input) => {
    if (!env.stackId) return Promise.reject(new Error('the function has no VERSION_PURGER_STACK_ID, so it cannot find its state machine'));
    start ??= createExecutionStarter(stateMachineArnFor(env.stackId));
    return start(name, input);
  };
}

/** Builds the production dependencies once per execution environment. */
function productionDeps(): HandlerDeps {
  const env = readHandlerEnv();
  defaultDeps ??= {
    s3: createS3Client(),
    // CloudFormation's read API has low request rates: retry throttling a few times.
    cloudFormation: new CloudFormationClient({ maxAttempts: 5 }),
    purge: purgeBucket,
    startExecution: executionStarter(env),
    respond: (event, answer) => sendResponse(event, answer),
    logger,
    env,
    now: Date.now,
  };
  // The environment is read on every invocation: cheap, and tests change it.
  return { ...defaultDeps, env: readHandlerEnv() };
}

/**
 * Lambda entry point. Three kinds of events:
 *
 * - CloudFormation's requests (never throws: a thrown error would make
 *   Lambda retry the invocation, so the handler answers instead). A Delete
 *   that passes the checks starts the workflow and returns without
 *   answering: the workflow answers.
 * - Step payloads from the workflow's Tasks (`kind: 'workflow'`): returns
 *   the step's result; throws when the step failed, so that the Task's
 *   retries and Catch take over.
 * - A retention request sent by hand (`kind: 'retention'`): starts a
 *   retention execution of the workflow, as the schedule does.
 */
async function handler(event: unknown, context: LambdaContext): Promise<unknown> {
  let deps: HandlerDeps;
  try {
    deps = productionDeps();
  } catch (err) {
    // Without dependencies there is nobody to answer with; log and end.
    logger.critical('Handler could not start', { error: String(err) });
    if (!isCfnEvent(event)) throw err;
    return undefined;
  }
  return handleEvent(event, context, deps);
}

/** Dispatches one event. Exported for tests. */
async function handleEvent(event: unknown, context: LambdaContext, deps: HandlerDeps): Promise<unknown> {
  deps.logger.addContext(context as Parameters<Logger['addContext']>[0]);
  if (isStepPayload(event)) return handleStep(event, context, deps);
  if (isRetentionRequest(event)) return startRetention(event, context, deps);
  try {
    if (isCfnEvent(event)) await handleCfnEvent(event, context, deps);
    else deps.logger.error('Unrecognised event; ignoring it', { event });
  } catch (err) {
    // Last resort: handleCfnEvent answers on its own.
    deps.logger.critical('Unexpected error in the handler', { error: err instanceof Error ? err.stack : String(err) });
  }
  return undefined;
}

/** A step payload that cannot be a workflow's. */
class StepPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepPayloadError';
  }
}

/** The teardown execution input a step payload carries, checked. */
function teardownRunOf(run: unknown): TeardownExecutionInput {
  const r = run as Partial<TeardownExecutionInput> | null;
  if (
    !r ||
    r.kind !== 'teardown' ||
    r.v !== 1 ||
    !isCfnEvent(r.event) ||
    r.event.RequestType !== 'Delete' ||
    typeof r.startedAt !== 'number' ||
    !Number.isFinite(r.startedAt) ||
    typeof r.fenced !== 'boolean'
  ) {
    throw new StepPayloadError('the step payload does not carry a teardown execution input (a CloudFormation Delete).');
  }
  return r as TeardownExecutionInput;
}

/** The retention execution input a step payload carries, checked as strictly as a request. */
function retentionRunOf(run: unknown): RetentionExecutionInput {
  return parseRequest(run) as RetentionExecutionInput;
}

/**
 * Runs one workflow step (lambda/teardown/steps/, lambda/retention/steps/).
 * The payload's `run` and `state` only say where to resume: every step that
 * may delete re-checks with CloudFormation (teardown) or reads the
 * configured run from the stack (retention).
 */
async function handleStep(payload: StepPayload<unknown, unknown>, context: LambdaContext, deps: HandlerDeps): Promise<unknown> {
  if (payload.v !== WORKFLOW_VERSION) throw new StepPayloadError(`unsupported step payload version ${JSON.stringify(payload.v)}.`);
  const state = (payload.state ?? {}) as Record<string, unknown>;
  deps.logger.info('Workflow step', { step: payload.step });
  const t = timing(context, deps);
  const retention = {
    s3: deps.s3,
    purge: deps.purge,
    cloudFormation: deps.cloudFormation,
    stackId: deps.env.stackId,
    now: deps.now,
    logger: loggerOf(deps),
    publishMetrics: deps.publishRetentionMetrics ?? publishRetentionMetrics,
  };
  switch (payload.step) {
    case STEP.teardownPlan:
      return planTeardown(teardownRunOf(payload.run), state as unknown as TeardownPlanState, teardownDeps(context, deps), t);
    case STEP.teardownSlice:
      return sliceTeardown(teardownRunOf(payload.run), state as unknown as TeardownSliceState, teardownDeps(context, deps), t);
    case STEP.teardownConfirm:
      return confirmTeardown(teardownRunOf(payload.run), state as unknown as TeardownConfirmState, teardownDeps(context, deps), t);
    case STEP.teardownAnswer:
      return answerTeardown(teardownRunOf(payload.run), state as unknown as TeardownAnswerState, {
        ...teardownDeps(context, deps),
        respond: (event: CfnDeleteEvent, answer: CfnAnswer) => deps.respond(event, answer),
        publishMetrics: deps.publishTeardownMetrics ?? publishTeardownMetrics,
      });
    case STEP.retentionPlan:
      return planRetention(retentionRunOf(payload.run), typeof state.runId === 'string' ? state.runId : context.awsRequestId, retention);
    case STEP.retentionRound:
      return nextRound(state as unknown as RetentionRoundState);
    case STEP.retentionSlice:
      return sliceRetention({ run: retentionRunOf(payload.run), slice: (state as unknown as RetentionChildInput).slice ?? state }, retention, t.invocationDeadline);
    case STEP.retentionFinish:
      return finishRetention(retentionRunOf(payload.run), state as unknown as RetentionFinishState, retention);
    default:
      throw new StepPayloadError(`unknown step ${JSON.stringify(payload.step)}.`);
  }
}

/**
 * A retention request sent to the function by hand: starts a retention
 * execution, as the schedule does. Checked first against the configured run
 * in the stack, so that a request that cannot run gets its error here.
 * Returns the execution's name.
 */
async function startRetention(event: unknown, context: LambdaContext, deps: HandlerDeps): Promise<{ execution: string }> {
  const request = parseRequest(event);
  // The configured run, as Plan will read it: a request that cannot run is refused here, to whoever sent it.
  await resolveRetentionRequest(request, { cloudFormation: deps.cloudFormation, stackId: deps.env.stackId, now: deps.now });
  const name = executionNameFor('retention-', context.awsRequestId);
  await deps.startExecution(name, request);
  deps.logger.info('Started a retention execution', { execution: name, purger: request.purger });
  return { execution: name };
}

/** Handles the event CloudFormation sent. */
async function handleCfnEvent(event: CfnEvent, context: LambdaContext, deps: HandlerDeps): Promise<void> {
  deps.logger.info('CloudFormation request', { event: redactEvent(event) });
  let outcome: TeardownOutcome;
  try {
    switch (event.RequestType) {
      case 'Create':
        outcome = { kind: 'answer', answer: onCreate(event) };
        break;
      case 'Update':
        outcome = { kind: 'answer', answer: onUpdate(event) };
        break;
      case 'Delete':
        outcome = await onDelete(event, teardownDeps(context, deps));
        break;
    }
  } catch (err) {
    outcome = unexpected(event, err);
  }
  if (outcome.kind === 'start') {
    outcome = await startTeardown(event as CfnDeleteEvent, outcome.input, deps);
    if (outcome.kind === 'start') return;
  }
  if (outcome.metrics) emitTeardownMetrics(outcome.metrics, deps);
  await answer(event, outcome.answer, deps);
}

/**
 * Starts the teardown workflow, named after the request, and returns without
 * answering. A second delivery of the same request finds the execution
 * running (same name) and starts nothing. When the execution cannot start,
 * the answer is FAILED: nothing would ever answer otherwise.
 */
async function startTeardown(event: CfnDeleteEvent, input: TeardownExecutionInput, deps: HandlerDeps): Promise<TeardownOutcome> {
  const name = executionNameFor('teardown-', event.RequestId);
  try {
    const started = await deps.startExecution(name, input);
    deps.logger.info(started === 'started' ? 'Started the teardown workflow; it answers CloudFormation' : 'The teardown workflow runs already', {
      execution: name,
    });
    return { kind: 'start', input };
  } catch (err) {
    deps.logger.error('Could not start the teardown workflow', { execution: name, error: String(err) });
    const bucket = event.ResourceProperties?.BucketName;
    const why = err instanceof Error ? err.message : String(err);
    return {
      kind: 'answer',
      answer: {
        Status: 'FAILED',
        PhysicalResourceId: event.PhysicalResourceId,
        Reason:
          `Could not start the purge workflow for bucket ${String(bucket)} (${why}). Nothing was deleted` +
          `${input.fenced ? '; new writes stay denied by the bucket policy' : ''}. Retrying the stack deletion tries again.`,
      },
      metrics: {
        versionsDeleted: 0,
        deleteMarkersDeleted: 0,
        bytesDeleted: 0,
        uploadsAborted: 0,
        errors: 0,
        passes: 0,
        bucket: typeof bucket === 'string' ? bucket : '(unknown)',
        requestId: event.RequestId,
        invocations: 1,
        durationMs: deps.now() - input.startedAt,
        failed: true,
      },
    };
  }
}

/** Emits a teardown's metrics; a failure to emit is logged and never keeps CloudFormation from its answer. */
function emitTeardownMetrics(metrics: TeardownMetrics, deps: HandlerDeps): void {
  try {
    (deps.publishTeardownMetrics ?? publishTeardownMetrics)(metrics);
  } catch (err) {
    deps.logger.error('Could not emit the teardown metrics', { error: String(err) });
  }
}

/** Answers CloudFormation; logs, never throws, when every attempt failed. */
async function answer(event: CfnEvent, response: CfnAnswer, deps: HandlerDeps): Promise<void> {
  const log = response.Status === 'SUCCESS' ? deps.logger.info.bind(deps.logger) : deps.logger.error.bind(deps.logger);
  log('Answering CloudFormation', { status: response.Status, reason: response.Reason, physicalResourceId: response.PhysicalResourceId });
  try {
    await deps.respond(event, response);
  } catch (err) {
    deps.logger.critical('Could not deliver the answer to CloudFormation', { error: String(err) });
  }
}

/** FAILED answer for an error nobody expected. */
function unexpected(event: CfnEvent, err: unknown): TeardownOutcome {
  const physicalId = event.RequestType === 'Create' ? CREATE_FAILED_PHYSICAL_ID : event.PhysicalResourceId;
  return {
    kind: 'answer',
    answer: {
      Status: 'FAILED',
      PhysicalResourceId: physicalId,
      Reason: `Unexpected error: ${err instanceof Error ? err.message : String(err)}`,
    },
  };
}

/** The logger subset the domains use. */
function loggerOf(deps: HandlerDeps) {
  return {
    info: (m: string, a?: Record<string, unknown>) => deps.logger.info(m, a ?? {}),
    warn: (m: string, a?: Record<string, unknown>) => deps.logger.warn(m, a ?? {}),
    error: (m: string, a?: Record<string, unknown>) => deps.logger.error(m, a ?? {}),
  };
}

/** The teardown dependencies for this invocation. */
function teardownDeps(context: LambdaContext, deps: HandlerDeps): TeardownDeps {
  const partition = context.invokedFunctionArn?.split(':')[1] || 'aws';
  const logLocation = context.logGroupName
    ? `${context.logGroupName}${context.logStreamName ? ` ${context.logStreamName}` : ''}`
    : undefined;
  return {
    s3: deps.s3,
    cloudFormation: deps.cloudFormation,
    purge: deps.purge,
    logger: loggerOf(deps),
    partition,
    logLocation,
    now: deps.now,
  };
}

/** This invocation's deadline: the time Lambda gives, less the safety margin. */
function timing(context: LambdaContext, deps: HandlerDeps): TeardownTiming {
  const remaining = context.getRemainingTimeInMillis();
  const margin = Math.min(deps.env.safetyMarginMs, Math.floor(remaining / 4));
  return { invocationDeadline: deps.now() + remaining - margin, answerReserveMs: deps.env.answerReserveMs };
}

export { handler, handleEvent };

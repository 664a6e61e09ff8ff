import { Logger } from '@aws-lambda-powertools/logger';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type CfnAnswer,
  type CfnEvent,
  isCfnEvent,
  redactEvent,
  sendResponse,
} from './teardown/cfn-response';
import { type HandlerEnv, readHandlerEnv } from './runtime/env';
import { purgeBucket } from './engine/purge-engine';
import type { PurgeOptions, PurgeResult } from './engine/purge-types';
import { CREATE_FAILED_PHYSICAL_ID } from './resource-contract';
import { isRetentionRequest, type RetentionRequest, type RetentionRequestContinuation } from './retention/contract';
import { type PublishRetentionMetrics, publishRetentionMetrics } from './retention/metrics';
import { resolveRetentionRequest, toRequestContinuation } from './retention/request';
import { type RetentionOutcome, runRetention } from './retention/run';
import { createS3Client } from './engine/s3/s3-client';
import { type ContinuationPayload, createSelfInvoker, type InvokeSelf, isContinuation } from './runtime/self-invoke';
import { onContinuation, onCreate, onDelete, onUpdate, type TeardownOutcome, type TeardownTiming } from './teardown/custom-resource';
import type { TeardownDeps } from './teardown/deps';
import { type PublishTeardownMetrics, publishTeardownMetrics, type TeardownMetrics } from './teardown/metrics';

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
  readonly invokeSelf: InvokeSelf;
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

/**
 * Events the function accepts: CloudFormation's requests, teardown
 * continuations, and scheduled retention runs (`{ kind: 'retention', ... }`)
 * with their continuations.
 */
type IncomingEvent = CfnEvent | ContinuationPayload | RetentionRequest | RetentionRequestContinuation | unknown;

const logger = new Logger({ serviceName: 'cdk-version-purger' });

/**
 * Requests handled to the end by this execution environment, keyed
 * `RequestId#invocation`. A duplicate delivery (Lambda retries and
 * at-least-once delivery) that lands here is dropped instead of answering
 * CloudFormation twice. Best effort: other environments do not share it, and
 * duplicates there are harmless for the data (deleting a missing version
 * succeeds) and at worst answer twice, which CloudFormation tolerates.
 */
const completed = new Set<string>();
/** Keeps {@link completed} from growing without bound in a long-lived environment. */
const MAX_REMEMBERED = 1_000;

let defaultDeps: HandlerDeps | undefined;

/** Builds the production dependencies once per execution environment. */
function productionDeps(context: LambdaContext): HandlerDeps {
  defaultDeps ??= {
    s3: createS3Client(),
    // CloudFormation's read API has low request rates: retry throttling a few times.
    cloudFormation: new CloudFormationClient({ maxAttempts: 5 }),
    purge: purgeBucket,
    invokeSelf: createSelfInvoker(process.env.AWS_LAMBDA_FUNCTION_NAME ?? context.functionName),
    respond: (event, answer) => sendResponse(event, answer),
    logger,
    env: readHandlerEnv(),
    now: Date.now,
  };
  // The environment is read on every invocation: cheap, and tests change it.
  return { ...defaultDeps, env: readHandlerEnv() };
}

/**
 * Lambda entry point.
 *
 * - CloudFormation requests and teardown continuations never throw: a thrown
 *   error would make Lambda retry the invocation, so the handler answers
 *   CloudFormation instead.
 * - A retention run that failed throws at its end, after emitting its
 *   metrics, so that the invocation lands in the function's on-failure
 *   destination (the construct sets retryAttempts 0: it is not retried).
 */
async function handler(event: unknown, context: LambdaContext): Promise<void> {
  let deps: HandlerDeps;
  try {
    deps = productionDeps(context);
  } catch (err) {
    // Without dependencies there is nobody to answer with; log and end.
    logger.critical('Handler could not start', { error: String(err) });
    if (isRetentionRequest(event)) throw err;
    return;
  }
  await handleEvent(event, context, deps);
}

/**
 * Dispatches one event. Exported for tests. Throws only for a retention run
 * that failed or a retention event that cannot run.
 */
async function handleEvent(event: IncomingEvent, context: LambdaContext, deps: HandlerDeps): Promise<void> {
  deps.logger.addContext(context as Parameters<Logger['addContext']>[0]);
  if (isRetentionRequest(event)) {
    await handleRetention(event, context, deps);
    return;
  }
  try {
    if (isCfnEvent(event)) {
      await handleCfnEvent(event, context, deps);
    } else if (isContinuation(event)) {
      await handleContinuation(event, context, deps);
    } else {
      deps.logger.error('Unrecognised event; ignoring it', { event });
    }
  } catch (err) {
    // Last resort: handleCfnEvent and handleContinuation answer on their own.
    deps.logger.critical('Unexpected error in the handler', { error: err instanceof Error ? err.stack : String(err) });
  }
}

/**
 * Runs one invocation of a scheduled retention run (lambda/retention/run.ts),
 * with the policy configured for the purger the request names
 * (lambda/retention/request.ts). Rethrows a failed run's error after logging it.
 */
async function handleRetention(event: unknown, context: LambdaContext, deps: HandlerDeps): Promise<RetentionOutcome> {
  try {
    const { purger, run } = await resolveRetentionRequest(event, {
      cloudFormation: deps.cloudFormation,
      stackId: deps.env.stackId,
      now: deps.now,
    });
    return await runRetention(
      run,
      context.awsRequestId,
      {
        s3: deps.s3,
        purge: deps.purge,
        // The next invocation gets the state only, and reads the policy again.
        invokeSelf: (continuation) => deps.invokeSelf(toRequestContinuation(purger, continuation)),
        logger: {
          info: (m, a) => deps.logger.info(m, a ?? {}),
          warn: (m, a) => deps.logger.warn(m, a ?? {}),
          error: (m, a) => deps.logger.error(m, a ?? {}),
        },
        publishMetrics: deps.publishRetentionMetrics ?? publishRetentionMetrics,
        now: deps.now,
      },
      { invocationDeadline: timing(context, deps).invocationDeadline },
    );
  } catch (err) {
    deps.logger.error('Retention invocation failed; it goes to the on-failure destination', {
      error: err instanceof Error ? err.message : String(err),
      name: err instanceof Error ? err.name : undefined,
    });
    throw err;
  }
}

/** Handles the event CloudFormation sent. */
async function handleCfnEvent(event: CfnEvent, context: LambdaContext, deps: HandlerDeps): Promise<void> {
  deps.logger.info('CloudFormation request', { event: redactEvent(event) });
  const id = `${event.RequestId}#1`;
  if (completed.has(id)) {
    deps.logger.warn('Duplicate delivery of a request already handled here; ignoring it', { requestId: event.RequestId });
    return;
  }
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
        outcome = await onDelete(event, teardownDeps(context, deps), timing(context, deps));
        break;
    }
  } catch (err) {
    outcome = unexpected(event, err);
  }
  await follow(event, outcome, id, deps);
}

/** Handles a continuation the function sent to itself. */
async function handleContinuation(payload: ContinuationPayload, context: LambdaContext, deps: HandlerDeps): Promise<void> {
  const { event, state } = payload;
  deps.logger.info('Continuing purge', {
    requestId: event.RequestId,
    logicalResourceId: event.LogicalResourceId,
    invocation: state.invocation,
    startedAt: new Date(state.startedAt).toISOString(),
  });
  const id = `${event.RequestId}#${state.invocation}`;
  if (completed.has(id)) {
    deps.logger.warn('Duplicate delivery of a continuation already handled here; ignoring it', { id });
    return;
  }
  let outcome: TeardownOutcome;
  try {
    outcome = await onContinuation(event, state, teardownDeps(context, deps), timing(context, deps));
  } catch (err) {
    outcome = unexpected(event, err);
  }
  await follow(event, outcome, id, deps);
}

/** Carries out an outcome: answer CloudFormation, or hand over to a new invocation. */
async function follow(event: CfnEvent, outcome: TeardownOutcome, id: string, deps: HandlerDeps): Promise<void> {
  let response: CfnAnswer;
  let metrics: TeardownMetrics | undefined;
  if (outcome.kind === 'answer') {
    response = outcome.answer;
    metrics = outcome.metrics;
  } else if (event.RequestType !== 'Delete') {
    response = outcome.fallback;
  } else {
    metrics = outcome.fallbackMetrics;
    try {
      await deps.invokeSelf({ kind: 'teardown-continuation', v: 1, event, state: outcome.state });
      deps.logger.info('Handed over to a new invocation', { invocation: outcome.state.invocation });
      remember(id);
      return;
    } catch (err) {
      deps.logger.error('Could not invoke the function to continue', { error: String(err) });
      const why = err instanceof Error ? err.message : String(err);
      response = { ...outcome.fallback, Reason: `${outcome.fallback.Reason ?? ''} (Self-invocation failed: ${why})` };
    }
  }
  if (metrics) emitTeardownMetrics(metrics, deps);
  await answer(event, response, deps);
  remember(id);
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

/** Records a handled id (bounded). */
function remember(id: string): void {
  if (completed.size >= MAX_REMEMBERED) completed.clear();
  completed.add(id);
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
    logger: {
      info: (m, a) => deps.logger.info(m, a ?? {}),
      warn: (m, a) => deps.logger.warn(m, a ?? {}),
      error: (m, a) => deps.logger.error(m, a ?? {}),
    },
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

export { handler, handleEvent, handleRetention };

import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { RETENTION_EXECUTION_KIND, STATE, STEP, TEARDOWN_EXECUTION_KIND, WORKFLOW_KIND, WORKFLOW_VERSION } from './handler-contract';

/** How the workflow is built. */
export interface PurgeWorkflowSettings {
  /** Key ranges in flight at once in a Distributed Map. */
  readonly maxConcurrency: number;
}

/** Lambda errors worth retrying: the service's own, and throttling when many ranges run at once. */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
];

/**
 * The definition of the stack's purge workflow: one Standard state machine
 * serving teardown and retention alike (the execution input's `kind`
 * chooses). Every Task invokes the provider function with
 * `{ kind: 'workflow', v: 1, step, run, state }` (lambda/workflow/contract.ts);
 * the function owns the state's shape, the definition only routes it.
 *
 * Teardown: Plan → Distributed Map over the key ranges (each child loops its
 * Slice until the range is done) → Confirm (another pass goes back to Plan)
 * → Answer. Every Task, and the Map, has a Catch that goes to Answer, which
 * answers CloudFormation FAILED with the error: the stack never waits for
 * its serviceTimeout because of our error.
 *
 * Retention: Plan → rounds of (Distributed Map over the unfinished ranges,
 * each with its quota of the cap → Round) → Finish, which fails the
 * execution when the run failed. Every Task and the Map catch to Finish.
 */
export function purgeWorkflowDefinition(scope: Construct, fn: lambda.IFunction, settings: PurgeWorkflowSettings): sfn.IChainable {
  const invoke = (id: string, step: string, run: string, state: string, resultPath: string, retryAll = false) => {
    const task = new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject({
        kind: WORKFLOW_KIND,
        v: WORKFLOW_VERSION,
        step,
        run: sfn.JsonPath.objectAt(run),
        state: sfn.JsonPath.objectAt(state),
      }),
      // '$' is Step Functions' default (the result replaces the state): left out, as aws-local-stepfunctions
      // reads an explicit "ResultPath": "$" as a field named "$".
      ...(resultPath !== '$' && { resultPath }),
    });
    task.addRetry({ errors: LAMBDA_SERVICE_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    if (retryAll) task.addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
    return task;
  };

  /**
   * A Distributed Map over key ranges: each child gets the run (the execution input) and its range's
   * loop state, runs `slice` until the range is done, and returns its counts; the counts gather at `$.results`.
   */
  const rangesMap = (id: string, itemsPath: string, label: string, slice: sfn.IChainable) => {
    const map = new sfn.DistributedMap(scope, id, {
      itemsPath,
      itemSelector: { run: sfn.JsonPath.objectAt('$$.Execution.Input'), slice: sfn.JsonPath.objectAt('$$.Map.Item.Value') },
      resultPath: '$.results',
      maxConcurrency: settings.maxConcurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label,
    });
    map.itemProcessor(slice);
    return map;
  };

  // ---- teardown
  const answer = invoke(STATE.teardownAnswer, STEP.teardownAnswer, '$$.Execution.Input', '$', '$', true);
  answer.addCatch(new sfn.Fail(scope, STATE.teardownAnswerFailed, { error: 'TeardownAnswerFailed', cause: 'The answer to CloudFormation could not be delivered.' }), {
    errors: [sfn.Errors.ALL],
    resultPath: '$.answerError',
  });
  answer.next(new sfn.Succeed(scope, STATE.teardownAnswered));

  const plan = invoke(STATE.teardownPlan, STEP.teardownPlan, '$$.Execution.Input', '$', '$');
  plan.addCatch(answer, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const slice = invoke(STATE.teardownSlice, STEP.teardownSlice, '$.run', '$.slice', '$.slice');
  const rangeFailed = new sfn.Pass(scope, STATE.teardownRangeFailed, {
    parameters: {
      'index.$': '$.slice.index',
      deleted: 0,
      deleteMarkersDeleted: 0,
      bytesDeleted: 0,
      listed: 0,
      failed: 0,
      uploadsAborted: 0,
      uploadsFailed: 0,
      slices: 0,
      deadlinePassed: false,
      errors: [],
      uploadErrors: [],
      'error.$': '$.error',
    },
  });
  slice.addCatch(rangeFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const rangeResult = new sfn.Pass(scope, STATE.teardownRangeResult, { outputPath: '$.slice.result' });
  slice.next(new sfn.Choice(scope, STATE.teardownSliceDone).when(sfn.Condition.booleanEquals('$.slice.done', true), rangeResult).otherwise(slice));

  const ranges = rangesMap(STATE.teardownRanges, '$.ranges', 'TeardownRanges', slice);
  ranges.addCatch(answer, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const confirm = invoke(STATE.teardownConfirm, STEP.teardownConfirm, '$$.Execution.Input', '$', '$');
  confirm.addCatch(answer, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  ranges.next(confirm);
  confirm.next(new sfn.Choice(scope, STATE.teardownConfirmed).when(sfn.Condition.stringEquals('$.next', 'plan'), plan).otherwise(answer));
  plan.next(new sfn.Choice(scope, STATE.teardownPlanned).when(sfn.Condition.stringEquals('$.next', 'ranges'), ranges).otherwise(answer));
  const teardown = new sfn.Pass(scope, STATE.teardownStart, { result: sfn.Result.fromObject({ pass: 1 }) }).next(plan);

  // ---- retention
  const finish = invoke(STATE.retentionFinish, STEP.retentionFinish, '$$.Execution.Input', '$', '$');
  finish.addCatch(new sfn.Fail(scope, STATE.retentionFailed, { error: 'RetentionRunFailed', causePath: '$.error.Cause' }), {
    errors: [sfn.Errors.ALL],
    resultPath: '$.error',
  });
  finish.next(new sfn.Succeed(scope, STATE.retentionFinished));

  const retentionPlan = new tasks.LambdaInvoke(scope, STATE.retentionPlan, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    payload: sfn.TaskInput.fromObject({
      kind: WORKFLOW_KIND,
      v: WORKFLOW_VERSION,
      step: STEP.retentionPlan,
      run: sfn.JsonPath.objectAt('$$.Execution.Input'),
      state: { runId: sfn.JsonPath.stringAt('$$.Execution.Name') },
    }),
  });
  retentionPlan.addRetry({ errors: LAMBDA_SERVICE_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
  retentionPlan.addCatch(finish, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const retentionSlice = invoke(STATE.retentionSlice, STEP.retentionSlice, '$.run', '$.slice', '$.slice');
  const retentionRangeFailed = new sfn.Pass(scope, STATE.retentionRangeFailed, {
    parameters: {
      'index.$': '$.slice.index',
      'token.$': '$.slice.token',
      done: false,
      listed: 0,
      selected: 0,
      deleted: 0,
      deleteMarkersDeleted: 0,
      bytesDeleted: 0,
      failed: 0,
      uploadsSelected: 0,
      uploadsAborted: 0,
      uploadsFailed: 0,
      errors: [],
      uploadErrors: [],
      tally: { byPrefix: {}, total: { versions: 0, deleteMarkers: 0, bytes: 0 }, sample: [] },
      reportFiles: [],
      reportEntries: 0,
      'error.$': '$.error',
    },
  });
  retentionSlice.addCatch(retentionRangeFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const retentionRangeResult = new sfn.Pass(scope, STATE.retentionRangeResult, { outputPath: '$.slice.result' });
  retentionSlice.next(
    new sfn.Choice(scope, STATE.retentionSliceDone).when(sfn.Condition.booleanEquals('$.slice.done', true), retentionRangeResult).otherwise(retentionSlice),
  );
  const retentionRanges = rangesMap(STATE.retentionRanges, '$.items', 'RetentionRanges', retentionSlice);
  retentionRanges.addCatch(finish, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const round = invoke(STATE.retentionRound, STEP.retentionRound, '$$.Execution.Input', '$', '$');
  round.addCatch(finish, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const roundPlanned = new sfn.Choice(scope, STATE.retentionRoundPlanned).when(sfn.Condition.stringEquals('$.next', 'ranges'), retentionRanges).otherwise(finish);
  retentionPlan.next(roundPlanned);
  retentionRanges.next(round);
  round.next(roundPlanned);

  return new sfn.Choice(scope, STATE.route)
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.kind'), sfn.Condition.stringEquals('$.kind', TEARDOWN_EXECUTION_KIND)), teardown)
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.kind'), sfn.Condition.stringEquals('$.kind', RETENTION_EXECUTION_KIND)), retentionPlan)
    .otherwise(new sfn.Fail(scope, STATE.unknownInput, { error: 'UnknownInput', cause: 'The execution input is neither a teardown nor a retention run.' }));
}

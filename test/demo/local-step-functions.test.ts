/**
 * The local Step Functions harness itself, on a small hand-written workflow of the same shape as
 * the product's (Plan → DISTRIBUTED Map of looping slices → Answer), with a fake function instead
 * of the bundle, so that a harness bug cannot hide behind a product bug. Driven through the AWS SDK
 * over HTTP where the product talks to it that way.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  InvalidName,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { App, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { FakeContext } from '../support/lifecycle';
import {
  type AslDefinition,
  checkExecutionName,
  functionArn,
  type LambdaHandler,
  LocalStepFunctions,
  mapRuns,
  resolveIntrinsics,
  stateMachineFromTemplate,
  type TemplateJson,
} from '../../bin/demo/local-step-functions';

const FN = functionArn('fake-purger');

interface FakeRange {
  readonly name: string;
  readonly keys: number;
  readonly failWith?: string;
  readonly sleepMs?: number;
}

/** Every call the fake function received, across sandboxes: which sandbox, which step, what time it had. */
const calls: Array<{ sandbox: number; step: string; event: any; remainingMs: number }> = [];
let sandboxCount = 0;
/** Set when one sandbox is entered while already running an invocation (Lambda never does that). */
let sandboxOverlap = false;

/** A fresh "module instance" of the fake function: its own state, like a Lambda sandbox. */
function loadFakeHandler(): LambdaHandler {
  const sandbox = ++sandboxCount;
  let running = false;
  return async (event: any, context: FakeContext) => {
    if (running) sandboxOverlap = true;
    running = true;
    try {
      calls.push({ sandbox, step: event.step, event, remainingMs: context.getRemainingTimeInMillis() });
      await new Promise((r) => setTimeout(r, 5));
      if (event.step === 'plan') return { ranges: event.input.ranges };
      if (event.step === 'big') return { blob: 'x'.repeat(event.bytes) };
      if (event.step === 'slice') {
        const range = event.range as FakeRange;
        if (range.sleepMs) await new Promise((r) => setTimeout(r, range.sleepMs));
        if (range.failWith) {
          const err = new Error(`range ${range.name} broke`);
          err.name = range.failWith;
          throw err;
        }
        const done = Math.min(range.keys, (event.token ?? 0) + 2);
        return { range, token: done, done: done >= range.keys, deleted: done };
      }
      if (event.step === 'answer') {
        if (event.input.error) return { status: 'FAILED', error: event.input.error };
        return { status: 'SUCCESS', deleted: (event.input.ranges as Array<{ deleted: number }>).reduce((n, r) => n + r.deleted, 0) };
      }
      return { echo: event };
    } finally {
      running = false;
    }
  };
}

/** Plan → Ranges (DISTRIBUTED Map; child: Slice → Done? → Slice ... → RangeDone) → Answer; Catch → Answer. */
function workflow(options: { timeoutSeconds?: number; maxConcurrency?: number } = {}): AslDefinition {
  const catchToAnswer = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Answer' }];
  return {
    StartAt: 'Plan',
    ...(options.timeoutSeconds && { TimeoutSeconds: options.timeoutSeconds }),
    States: {
      Plan: {
        Type: 'Task',
        Resource: FN,
        Parameters: { kind: 'workflow', step: 'plan', 'input.$': '$' },
        ResultPath: '$.plan',
        Catch: catchToAnswer,
        Next: 'Ranges',
      },
      Ranges: {
        Type: 'Map',
        ItemsPath: '$.plan.ranges',
        MaxConcurrency: options.maxConcurrency ?? 2,
        ItemSelector: { 'range.$': '$$.Map.Item.Value', token: null },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Slice',
          States: {
            Slice: {
              Type: 'Task',
              Resource: FN,
              Parameters: { kind: 'workflow', step: 'slice', 'range.$': '$.range', 'token.$': '$.token' },
              Next: 'Done?',
            },
            'Done?': { Type: 'Choice', Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'RangeDone' }], Default: 'Slice' },
            RangeDone: { Type: 'Pass', Parameters: { 'range.$': '$.range.name', 'deleted.$': '$.deleted' }, End: true },
          },
        },
        ResultPath: '$.ranges',
        Catch: catchToAnswer,
        Next: 'Answer',
      },
      Answer: { Type: 'Task', Resource: FN, Parameters: { kind: 'workflow', step: 'answer', 'input.$': '$' }, End: true },
    },
  };
}

let harness: LocalStepFunctions;
let client: SFNClient;

beforeEach(async () => {
  calls.length = 0;
  sandboxCount = 0;
  sandboxOverlap = false;
  harness = new LocalStepFunctions({ loadHandler: loadFakeHandler });
  await harness.start();
  client = new SFNClient({ endpoint: harness.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});

afterEach(async () => {
  await harness.stop();
  client.destroy();
  expect(sandboxOverlap).toBe(false);
});

describe('running a definition with a DISTRIBUTED Map', () => {
  test('StartExecution and DescribeExecution over HTTP: every range loops until done, and the history holds the counts per range', async () => {
    // GIVEN
    const arn = harness.createStateMachine({ name: 'Harness', definition: workflow() });
    const ranges: FakeRange[] = [
      { name: 'a-f', keys: 5 },
      { name: 'g-p', keys: 1 },
      { name: 'q-z', keys: 4 },
    ];

    // WHEN
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'run-1', input: JSON.stringify({ ranges }) }));
    await harness.waitFor(started.executionArn!);
    const described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));

    // THEN
    expect(started.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:Harness:run-1');
    expect(started.startDate).toBeInstanceOf(Date);
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: 'run-1', stateMachineArn: arn, input: JSON.stringify({ ranges }) });
    expect(described.stopDate!.getTime()).toBeGreaterThanOrEqual(described.startDate!.getTime());
    expect(JSON.parse(described.output!)).toEqual({ status: 'SUCCESS', deleted: 10 });
    const execution = harness.describeExecution(started.executionArn!);
    // The history is complete when the execution closes.
    expect(execution.events[0]).toMatchObject({ type: 'ExecutionStarted', input: { ranges } });
    expect(execution.events.at(-1)).toMatchObject({ type: 'ExecutionSucceeded', output: { status: 'SUCCESS', deleted: 10 } });
    expect(mapRuns(execution, 'Ranges')).toEqual([
      [
        { index: 0, status: 'SUCCEEDED', input: { range: ranges[0], token: null }, output: { range: 'a-f', deleted: 5 } },
        { index: 1, status: 'SUCCEEDED', input: { range: ranges[1], token: null }, output: { range: 'g-p', deleted: 1 } },
        { index: 2, status: 'SUCCEEDED', input: { range: ranges[2], token: null }, output: { range: 'q-z', deleted: 4 } },
      ],
    ]);
    // 3 + 1 + 2 slices, each resuming from the previous token
    const slices = execution.invocations.filter((i) => i.stateName === 'Slice');
    expect(slices.map((s) => [s.event.range.name, s.event.token]).sort()).toEqual(
      [
        ['a-f', 0 + 2],
        ['a-f', 4],
        ['a-f', null],
        ['g-p', null],
        ['q-z', 2],
        ['q-z', null],
      ].sort(),
    );
    expect(execution.invocations.map((i) => i.stateName).filter((n) => n !== 'Slice')).toEqual(['Plan', 'Answer']);
    // The Map ran at most MaxConcurrency children at once, each in its own sandbox.
    expect(harness.sandboxes).toBeLessThanOrEqual(3);
  });

  test('passes the effective input (after Parameters) to the function, as its event, and gives it the Lambda time asked for', async () => {
    // GIVEN
    const arn = harness.createStateMachine({ name: 'Budget', definition: workflow(), functionTimeoutsMs: { [FN]: 4_000 } });
    harness.lambdaTimeMs = (request) => (request.stateName === 'Slice' ? 1_500 : 9_000);

    // WHEN
    const { executionArn } = harness.startExecution({ stateMachineArn: arn, input: JSON.stringify({ ranges: [{ name: 'x', keys: 1 }], extra: 'kept' }) });
    const execution = await harness.waitFor(executionArn);

    // THEN
    expect(execution.status).toBe('SUCCEEDED');
    expect(calls.find((c) => c.step === 'plan')!.event).toEqual({
      kind: 'workflow',
      step: 'plan',
      input: { ranges: [{ name: 'x', keys: 1 }], extra: 'kept' },
    });
    expect(calls.find((c) => c.step === 'slice')!.event).toEqual({ kind: 'workflow', step: 'slice', range: { name: 'x', keys: 1 }, token: null });
    expect(calls.find((c) => c.step === 'slice')!.remainingMs).toBeGreaterThan(1_400);
    expect(calls.find((c) => c.step === 'slice')!.remainingMs).toBeLessThanOrEqual(1_500);
    expect(calls.find((c) => c.step === 'plan')!.remainingMs).toBeGreaterThan(8_000);
    expect(execution.invocations.map((i) => i.budgetMs)).toEqual([9_000, 1_500, 9_000]);
  });

  test('without an override, each invocation gets the function timeout from the template', async () => {
    const arn = harness.createStateMachine({ name: 'Timeout', definition: workflow(), functionTimeoutsMs: { [FN]: 4_000 } });
    const { executionArn } = harness.startExecution({ stateMachineArn: arn, input: JSON.stringify({ ranges: [] }) });
    const execution = await harness.waitFor(executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.invocations.map((i) => i.budgetMs)).toEqual([4_000, 4_000]);
  });
  test('mapRuns tells two runs of the same Map state apart (a second pass)', async () => {
    // GIVEN Ranges → Count (passes + 1) → Again? (passes < 2 → Ranges)
    const definition = workflow();
    definition.States.Ranges.Next = 'Count';
    definition.States.Count = { Type: 'Pass', Parameters: { 'plan.$': '$.plan', 'passes.$': 'States.MathAdd($.passes, 1)' }, Next: 'Again?' };
    definition.States['Again?'] = {
      Type: 'Choice',
      Choices: [{ Variable: '$.passes', NumericLessThan: 2, Next: 'Ranges' }],
      Default: 'Finished',
    };
    definition.States.Finished = { Type: 'Succeed' };
    definition.States.Plan.ResultSelector = { 'ranges.$': '$.ranges' };
    const arn = harness.createStateMachine({ name: 'Passes', definition });

    // WHEN
    const input = { passes: 0, ranges: [{ name: 'a', keys: 1 }, { name: 'b', keys: 3 }] };
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: JSON.stringify(input) }).executionArn);

    // THEN
    expect(execution.status).toBe('SUCCEEDED');
    const runs = mapRuns(execution, 'Ranges');
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(run.map((i) => i.output)).toEqual([{ range: 'a', deleted: 1 }, { range: 'b', deleted: 3 }]);
  });
});

describe('errors, as AWS reports them', () => {
  test('a function error fails the task with its errorType and the JSON cause; a failed DISTRIBUTED child fails the Map Run', async () => {
    // GIVEN a range whose slice throws a TypeError
    const arn = harness.createStateMachine({ name: 'Errors', definition: workflow() });
    const input = { ranges: [{ name: 'ok', keys: 2 }, { name: 'bad', keys: 2, failWith: 'TypeError' }] };

    // WHEN
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: JSON.stringify(input) }).executionArn);

    // THEN the Map's Catch got States.ExceedToleratedFailureThreshold, as from a real Map Run
    expect(execution.status).toBe('SUCCEEDED');
    const answered = JSON.parse(execution.output!);
    expect(answered).toMatchObject({ status: 'FAILED', error: { Error: 'States.ExceedToleratedFailureThreshold' } });
    // AND the child's own failure (errorType, JSON cause) is in its iteration's history
    const [run] = mapRuns(execution, 'Ranges');
    const bad = run.find((i) => i.input.range.name === 'bad')!;
    expect(bad).toMatchObject({ status: 'FAILED', error: 'TypeError' });
    expect(JSON.parse(String(bad.cause))).toEqual({ errorType: 'TypeError', errorMessage: 'range bad broke', trace: expect.any(Array) });
  });

  test('a function error outside a Map reaches the Catch with Error = errorType and Cause = the error JSON', async () => {
    // GIVEN Plan fails: the plan step reads input.ranges of a string
    const definition = workflow();
    definition.States.Plan.Parameters = { kind: 'workflow', step: 'slice', 'range.$': '$.range', 'token.$': '$.token' };
    const arn = harness.createStateMachine({ name: 'PlanError', definition });

    // WHEN
    const input = { range: { name: 'p', keys: 1, failWith: 'AccessDenied' }, token: null };
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: JSON.stringify(input) }).executionArn);

    // THEN
    const { error } = JSON.parse(execution.output!);
    expect(error.Error).toBe('AccessDenied');
    expect(JSON.parse(error.Cause)).toMatchObject({ errorType: 'AccessDenied', errorMessage: 'range p broke' });
  });

  test('a function that runs past its Lambda time fails with Sandbox.Timedout, and its sandbox is not reused', async () => {
    // GIVEN a slice that needs 600 ms of a 200 ms budget
    const arn = harness.createStateMachine({ name: 'Overrun', definition: workflow() });
    harness.lambdaTimeMs = (request) => (request.stateName === 'Slice' ? 200 : 5_000);
    const input = { ranges: [{ name: 'slow', keys: 1, sleepMs: 600 }] };

    // WHEN
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: JSON.stringify(input) }).executionArn);
    await harness.idle();

    // THEN
    expect(harness.overruns).toHaveLength(1);
    expect(harness.overruns[0]).toMatchObject({ stateName: 'Slice', overran: true, error: 'Sandbox.Timedout', budgetMs: 200 });
    const [run] = mapRuns(execution, 'Ranges');
    expect(run[0]).toMatchObject({ status: 'FAILED', error: 'Sandbox.Timedout' });
    expect(JSON.parse(String(run[0].cause)).errorMessage).toBe('Task timed out after 0.20 seconds');
    // Plan's sandbox was reused by Answer; the timed-out one was not.
    const answer = calls.find((c) => c.step === 'answer')!;
    expect(answer.sandbox).not.toBe(calls.find((c) => c.step === 'slice')!.sandbox);
  });

  test('the execution timeout ends the execution TIMED_OUT, and no later state runs', async () => {
    // GIVEN a 1-second workflow whose slice takes 1.5 s (within its Lambda time)
    const arn = harness.createStateMachine({ name: 'TimedOut', definition: workflow({ timeoutSeconds: 1 }) });
    const input = { ranges: [{ name: 'slow', keys: 1, sleepMs: 1_500 }] };

    // WHEN
    const started = await client.send(new StartExecutionCommand({ stateMachineArn: arn, input: JSON.stringify(input) }));
    const execution = await harness.waitFor(started.executionArn!);
    await harness.idle();
    const described = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));

    // THEN
    expect(described).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(execution.events.at(-1)).toMatchObject({ type: 'ExecutionTimeout' });
    expect(described.output).toBeUndefined();
    expect(execution.stopDate!.getTime() - execution.startDate.getTime()).toBeLessThan(1_400);
    expect(calls.map((c) => c.step)).not.toContain('answer');
  });

  test('an input or a result over 256 KiB: InvalidExecutionInput, or the execution fails with States.DataLimitExceeded, which States.ALL does not catch', async () => {
    // GIVEN a plan step that returns 300 KB (Plan has a Catch on States.ALL)
    const definition = workflow();
    definition.States.Plan.Parameters = { kind: 'workflow', step: 'big', bytes: 300_000 };
    const arn = harness.createStateMachine({ name: 'Big', definition });

    // WHEN
    const tooBig = () => harness.startExecution({ stateMachineArn: arn, input: JSON.stringify({ blob: 'x'.repeat(300_000) }) });
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: '{}' }).executionArn);

    // THEN
    expect(tooBig).toThrow(expect.objectContaining({ name: 'InvalidExecutionInput' }));
    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(calls.map((c) => c.step)).toEqual(['big']);
  });
});

describe('StartExecution', () => {
  test('the same name and input as a running execution return that execution; a different input or a closed one is ExecutionAlreadyExists', async () => {
    // GIVEN a running execution
    const arn = harness.createStateMachine({ name: 'Idem', definition: workflow() });
    const input = JSON.stringify({ ranges: [{ name: 'slow', keys: 1, sleepMs: 300 }] });
    const first = await client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'req-1', input }));

    // WHEN
    const again = await client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'req-1', input }));
    const other = client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'req-1', input: '{"ranges":[]}' }));
    await expect(other).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await harness.waitFor(first.executionArn!);
    const afterClose = client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'req-1', input }));

    // THEN
    expect(again).toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
    await expect(afterClose).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    expect(harness.executions).toHaveLength(1);
    expect(calls.filter((c) => c.step === 'plan')).toHaveLength(1);
  });

  test('an SDK client without an endpoint reaches it through AWS_ENDPOINT_URL_SFN, as the handler does', async () => {
    // GIVEN
    const arn = harness.createStateMachine({ name: 'Env', definition: workflow() });
    const saved = process.env.AWS_ENDPOINT_URL_SFN;
    process.env.AWS_ENDPOINT_URL_SFN = harness.endpoint;
    const plain = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      // WHEN
      const started = await plain.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{"ranges":[]}' }));

      // THEN
      expect(harness.executions.map((e) => e.executionArn)).toEqual([started.executionArn]);
    } finally {
      plain.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
      else process.env.AWS_ENDPOINT_URL_SFN = saved;
    }
  });

  test('refuses an unknown state machine and invalid names, as AWS does', async () => {
    const arn = harness.createStateMachine({ name: 'Names', definition: workflow() });
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: `${arn}-missing`, input: '{}' })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'a b', input: '{}' }))).rejects.toBeInstanceOf(InvalidName);
    for (const bad of ['', 'x'.repeat(81), 'a/b', 'a:b', 'a\u0001b', 'a*b', 'a$b']) expect(() => checkExecutionName(bad)).toThrow(/Invalid Name/);
    for (const good of ['x'.repeat(80), 'teardown-0f8fad5b-d9cb-469f-a165-70867728950e', 'a_b.c-d']) expect(() => checkExecutionName(good)).not.toThrow();
  });
});

describe('definitions the harness refuses or adapts', () => {
  test('refuses Map features aws-local-stepfunctions does not implement, and non-Lambda tasks', () => {
    const withBatcher = workflow();
    withBatcher.States.Ranges.ItemBatcher = { MaxItemsPerBatch: 2 };
    expect(() => harness.createStateMachine({ name: 'B', definition: withBatcher })).toThrow(/ItemBatcher/);
    const tolerant = workflow();
    tolerant.States.Ranges.ToleratedFailurePercentage = 10;
    expect(() => harness.createStateMachine({ name: 'T', definition: tolerant })).toThrow(/tolerates failures/);
    const sqs = workflow();
    sqs.States.Plan.Resource = 'arn:aws:states:::sqs:sendMessage';
    expect(() => harness.createStateMachine({ name: 'S', definition: sqs })).toThrow(/Lambda tasks only/);
  });

  test('ResultPath "$" replaces the state with the result, as in AWS (aws-local-stepfunctions alone writes a field named "$")', async () => {
    // GIVEN
    const definition: AslDefinition = {
      StartAt: 'Echo',
      States: { Echo: { Type: 'Task', Resource: FN, Parameters: { step: 'echo', 'n.$': '$.n' }, ResultPath: '$', End: true } },
    };
    const arn = harness.createStateMachine({ name: 'ResultPath', definition });

    // WHEN
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: '{"n":1,"dropped":true}' }).executionArn);

    // THEN
    expect(JSON.parse(execution.output!)).toEqual({ echo: { step: 'echo', n: 1 } });
  });

  test('the lambda:invoke integration: the function gets Payload, the state gets the Lambda response around the result', async () => {
    // GIVEN
    const definition: AslDefinition = {
      StartAt: 'Invoke',
      States: {
        Invoke: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: FN, 'Payload.$': '$' },
          End: true,
        },
      },
    };
    const arn = harness.createStateMachine({ name: 'Invoke', definition });

    // WHEN
    const execution = await harness.waitFor(harness.startExecution({ stateMachineArn: arn, input: '{"step":"echo","n":1}' }).executionArn);

    // THEN
    expect(calls.map((c) => c.event)).toEqual([{ step: 'echo', n: 1 }]);
    expect(JSON.parse(execution.output!)).toMatchObject({ ExecutedVersion: '$LATEST', StatusCode: 200, Payload: { echo: { step: 'echo', n: 1 } } });
  });
});

describe('a synthesized definition', () => {
  test('resolves DefinitionString and the StackId-derived name as CloudFormation would, and runs every LambdaInvoke (payloadResponseOnly) task', async () => {
    // GIVEN a CDK state machine of the product's shape: LambdaInvoke with payloadResponseOnly, DistributedMap
    const app = new App();
    const stack = new Stack(app, 'Synth');
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      timeout: Duration.seconds(30),
    });
    const step = (id: string, payload: Record<string, unknown>, resultPath?: string) =>
      new tasks.LambdaInvoke(stack, id, { lambdaFunction: fn, payloadResponseOnly: true, payload: sfn.TaskInput.fromObject(payload), resultPath });
    const slice = step('Slice', { kind: 'workflow', step: 'slice', range: sfn.JsonPath.objectAt('$.range'), token: sfn.JsonPath.stringAt('$.token') });
    const map = new sfn.DistributedMap(stack, 'Ranges', {
      itemsPath: '$.plan.ranges',
      maxConcurrency: 2,
      // (CDK drops a null in itemSelector: the first token is 0 here)
      itemSelector: { range: sfn.JsonPath.objectAt('$$.Map.Item.Value'), token: 0 },
      resultPath: '$.ranges',
    });
    map.itemProcessor(
      slice.next(
        new sfn.Choice(stack, 'Done?')
          .when(sfn.Condition.booleanEquals('$.done', true), new sfn.Pass(stack, 'RangeDone', { parameters: { 'range.$': '$.range.name', 'deleted.$': '$.deleted' } }))
          .otherwise(slice),
      ),
    );
    const plan = step('Plan', { kind: 'workflow', step: 'plan', input: sfn.JsonPath.entirePayload }, '$.plan');
    plan.addCatch(step('Answer', { kind: 'workflow', step: 'answer', input: sfn.JsonPath.entirePayload }), { resultPath: '$.error' });
    new sfn.StateMachine(stack, 'Workflow', {
      stateMachineName: Fn.join('', ['VersionPurger-', Fn.select(2, Fn.split('/', stack.stackId))]),
      definitionBody: sfn.DefinitionBody.fromChainable(
        sfn.Chain.start(plan.next(map).next(step('Report', { kind: 'workflow', step: 'answer', input: sfn.JsonPath.entirePayload }))),
      ),
      timeout: Duration.minutes(5),
    });
    const template = app.synth().getStackByName(stack.stackName).template as TemplateJson;
    const stackId = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Synth/5f1a2b3c-0000-4000-8000-000000000001';

    // WHEN
    const machine = stateMachineFromTemplate(template, { stackId, physicalIds: { [logicalIdOf(template, 'AWS::Lambda::Function')]: 'purger-fn' } });
    const arn = harness.createStateMachine(machine);
    const execution = await harness.waitFor(
      harness.startExecution({ stateMachineArn: arn, input: JSON.stringify({ ranges: [{ name: 'a', keys: 3 }, { name: 'b', keys: 1 }] }) }).executionArn,
    );

    // THEN
    expect(machine.name).toBe('VersionPurger-5f1a2b3c-0000-4000-8000-000000000001');
    expect(machine.definition.States.Plan).toMatchObject({ Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:purger-fn' });
    expect(machine.definition.States.Ranges.ItemProcessor.ProcessorConfig).toMatchObject({ Mode: 'DISTRIBUTED' });
    expect(machine.functionTimeoutsMs).toEqual({ 'arn:aws:lambda:us-east-1:123456789012:function:purger-fn': 30_000 });
    expect(execution).toMatchObject({ status: 'SUCCEEDED', output: JSON.stringify({ status: 'SUCCESS', deleted: 4 }) });
    expect(mapRuns(execution, 'Ranges')[0].map((i) => i.output)).toEqual([
      { range: 'a', deleted: 3 },
      { range: 'b', deleted: 1 },
    ]);
    expect(new Set(execution.invocations.map((i) => i.stateName))).toEqual(new Set(['Plan', 'Slice', 'Report']));
    expect(execution.invocations.every((i) => i.budgetMs === 30_000)).toBe(true);
  });

  test('resolves the StackId-derived state machine name the design uses', () => {
    const template: TemplateJson = { Resources: {} };
    const name = {
      'Fn::Join': ['', ['VersionPurger-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]],
    };
    const stackId = 'arn:aws:cloudformation:us-east-1:123456789012:stack/My-Stack/0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(resolveIntrinsics(name, template, { stackId })).toBe('VersionPurger-0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(resolveIntrinsics({ 'Fn::Sub': '${AWS::Region}:${AWS::AccountId}' }, template, { stackId })).toBe('us-east-1:123456789012');
    expect(() => resolveIntrinsics({ 'Fn::If': ['c', 1, 2] }, template, { stackId })).toThrow(/cannot resolve Fn::If/);
    // A state machine's Ref is its ARN
    const withMachine: TemplateJson = { Resources: { Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: name } } } };
    expect(resolveIntrinsics({ Ref: 'Machine' }, withMachine, { stackId })).toBe(
      'arn:aws:states:us-east-1:123456789012:stateMachine:VersionPurger-0f8fad5b-d9cb-469f-a165-70867728950e',
    );
  });
});

function logicalIdOf(template: TemplateJson, type: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return ids[0];
}

import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { scheduleRules } from '../support/template';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { VersionPurger, VersionPurgerValidationError } from '../../lib';
import { STATE, stateMachineArnFor, stateMachineNameFor, STEP } from '../../lambda/workflow/contract';

const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Purging/1c2fa620-982a-11e3-aff7-50e2416294e0';

function givenStack(props: { retention?: boolean; maxConcurrency?: number } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Purging', { env: { account: '123456789012', region: 'eu-west-1' } });
  const bucket = new s3.Bucket(stack, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
  new VersionPurger(stack, 'Purger', {
    bucket,
    ...(props.maxConcurrency !== undefined && { maxConcurrency: props.maxConcurrency }),
    ...(props.retention && { retention: { schedule: events.Schedule.rate(Duration.hours(6)), keepNoncurrentVersions: 3 } }),
  });
  return { stack, template: Template.fromStack(stack) };
}

/** Resolves the few intrinsics the template uses against a concrete stack id. */
function evaluate(value: unknown, stackId = STACK_ID): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const refs: Record<string, string> = { 'AWS::StackId': stackId, 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '123456789012' };
    return refs[v.Ref as string];
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => evaluate(p, stackId)).join(sep);
  }
  if ('Fn::Select' in v) {
    const [i, list] = v['Fn::Select'] as [number, unknown];
    return (evaluateList(list, stackId))[i];
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}
function evaluateList(value: unknown, stackId: string): string[] {
  const v = value as Record<string, unknown>;
  if ('Fn::Split' in v) {
    const [sep, s] = v['Fn::Split'] as [string, unknown];
    return evaluate(s, stackId).split(sep);
  }
  throw new Error(`cannot evaluate list ${JSON.stringify(value)}`);
}

function definitionOf(template: Template): { States: Record<string, any>; TimeoutSeconds?: number; StartAt: string } {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as any[];
  const def = machine.Properties.DefinitionString;
  const text = typeof def === 'string' ? def : (def['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'ARN')).join('');
  return JSON.parse(text);
}

function policiesOf(template: Template): Record<string, any> {
  return template.findResources('AWS::IAM::Policy');
}

describe('the workflow', () => {
  test('one Standard state machine per stack, with a Distributed Map over the teardown ranges and one over the retention ranges', () => {
    // GIVEN a stack with two purgers
    const app = new App();
    const stack = new Stack(app, 'Two');
    for (const id of ['A', 'B']) {
      new VersionPurger(stack, id, { bucket: new s3.Bucket(stack, `${id}Bucket`, { versioned: true, removalPolicy: RemovalPolicy.DESTROY }) });
    }

    // WHEN it is synthesized
    const template = Template.fromStack(stack);

    // THEN one state machine serves both, and its definition fans out with Distributed Maps over ItemsPath
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
    const def = definitionOf(template);
    const teardownMap = def.States[STATE.teardownStart] && findState(def, STATE.teardownRanges);
    expect(teardownMap).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.ranges',
      MaxConcurrency: 64, // the default, DEFAULT_MAX_CONCURRENCY
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    expect(findState(def, STATE.retentionRanges)).toMatchObject({ Type: 'Map', ItemsPath: '$.items', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } } });
    expect(Object.keys(teardownMap.ItemProcessor.States).sort()).toEqual(
      [STATE.teardownSlice, STATE.teardownSliceDone, STATE.teardownRangeResult, STATE.teardownRangeFailed].sort(),
    );
  });

  test('every Task invokes the provider function with a workflow payload, retries Lambda service errors, and catches everything', () => {
    const { template } = givenStack();
    const def = definitionOf(template);
    const tasks = allStates(def).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([n]) => n).sort()).toEqual(
      [
        STATE.teardownPlan,
        STATE.teardownSlice,
        STATE.teardownConfirm,
        STATE.teardownAnswer,
        STATE.retentionPlan,
        STATE.retentionRound,
        STATE.retentionSlice,
        STATE.retentionFinish,
      ].sort(),
    );
    const steps = new Set<string>();
    for (const [name, task] of tasks) {
      expect(task.Resource).toBe('ARN');
      // payloadResponseOnly: the Task's Parameters are the payload itself.
      expect(task.Parameters).toMatchObject({ kind: 'workflow', v: 1 });
      steps.add(task.Parameters.step);
      expect(task.Retry[0].ErrorEquals).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException']));
      expect({ name, catches: task.Catch?.[0]?.ErrorEquals }).toEqual({ name, catches: ['States.ALL'] });
    }
    expect([...steps].sort()).toEqual(Object.values(STEP).sort());
  });

  test('every failure path of a teardown ends in Answer, and the Map catches too', () => {
    const { template } = givenStack();
    const def = definitionOf(template);
    for (const name of [STATE.teardownPlan, STATE.teardownConfirm, STATE.teardownRanges]) {
      expect({ name, next: findState(def, name).Catch[0].Next }).toEqual({ name, next: STATE.teardownAnswer });
    }
    expect(findState(def, STATE.teardownSlice).Catch[0].Next).toBe(STATE.teardownRangeFailed);
    expect(findState(def, STATE.teardownAnswer).Catch[0].Next).toBe(STATE.teardownAnswerFailed);
    expect(findState(def, STATE.teardownAnswerFailed).Type).toBe('Fail');
    expect(findState(def, STATE.retentionFinish).Catch[0].Next).toBe(STATE.retentionFailed);
    expect(findState(def, STATE.retentionFailed).Type).toBe('Fail');
  });

  test('the workflow times out after 55 minutes, below the longest (and default) serviceTimeout, and its unfinished executions reach the function', () => {
    const { template } = givenStack();
    expect(definitionOf(template).TimeoutSeconds).toBe(55 * 60);
    // THEN the backstop: executions that end FAILED, TIMED_OUT or ABORTED are sent to the function, which answers
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ Ref: Match.stringLikeRegexp('^CdkVersionPurgerProviderWorkflow') }], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdkVersionPurgerProviderHandler'), 'Arn'] } })],
    });
  });

  test('the synthesized state machine name and the handler’s derivation agree', () => {
    const { template } = givenStack();
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as any[];
    expect(evaluate(machine.Properties.StateMachineName)).toBe(stateMachineNameFor(STACK_ID));
    const start = Object.values(policiesOf(template)).find((p: any) => p.Properties.PolicyDocument.Statement.some((s: any) => s.Action === 'states:StartExecution'));
    const statement = (start as any).Properties.PolicyDocument.Statement[0];
    expect(evaluate(statement.Resource)).toBe(stateMachineArnFor(STACK_ID));
  });
});

describe('IAM', () => {
  test('the function may start its own workflow only, and may no longer invoke itself', () => {
    const { template } = givenStack({ retention: true });
    const actions = Object.values(policiesOf(template)).flatMap((p: any) =>
      p.Properties.Roles.some((r: any) => JSON.stringify(r).includes('CdkVersionPurgerProviderRole'))
        ? p.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat())
        : [],
    );
    expect(actions).toContain('states:StartExecution');
    expect(actions).not.toContain('lambda:InvokeFunction');
    expect(JSON.stringify(template.toJSON())).not.toMatch(/SelfInvokePolicy/);
  });

  test('the state machine may invoke the provider function only, and manage its own child executions', () => {
    const { template } = givenStack();
    const statements = Object.entries(policiesOf(template))
      .filter(([id]) => id.startsWith('CdkVersionPurgerProviderWorkflow'))
      .flatMap(([, p]: [string, any]) => p.Properties.PolicyDocument.Statement as any[]);
    const byAction = (a: string) => statements.filter((s) => [s.Action].flat().includes(a));
    const invoke = byAction('lambda:InvokeFunction');
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0].Resource)).toMatch(/CdkVersionPurgerProviderHandlerD4185639/);
    expect(byAction('states:StartExecution')).toEqual([expect.objectContaining({ Resource: { Ref: expect.stringMatching(/^CdkVersionPurgerProviderWorkflow[0-9A-F]{8}$/) } })]);
    for (const a of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(JSON.stringify(byAction(a))).toMatch(/execution/);
    }
    const every = statements.flatMap((s) => [s.Action].flat());
    expect(every.filter((a) => a.startsWith('s3:'))).toEqual([]);
  });

  test('the custom resource depends on the workflow and the permission to start it, so both outlive every purge', () => {
    const { template } = givenStack();
    const [resource] = Object.values(template.findResources('Custom::VersionPurger')) as any[];
    expect(resource.DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^CdkVersionPurgerProviderWorkflow[0-9A-F]{8}$/), expect.stringMatching(/^CdkVersionPurgerProviderStartExecutionPolicy/)]),
    );
  });
});

describe('retention', () => {
  test('the schedule starts the state machine with the purger’s request, not the function', () => {
    const { template } = givenStack({ retention: true });
    const [rule] = scheduleRules(template);
    const [target] = rule.Properties.Targets;
    expect(JSON.stringify(target.Arn)).toMatch(/CdkVersionPurgerProviderWorkflow/);
    expect(JSON.parse(target.Input)).toEqual({ kind: 'retention', v: 2, purger: expect.stringMatching(/^Purger/) });
    expect(target.DeadLetterConfig).toBeDefined();
  });

  test('an alarm watches failed, timed-out and aborted executions', () => {
    const { template } = givenStack({ retention: true });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: expectMetrics(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']),
    });
  });
});

describe('maxConcurrency', () => {
  test('sets the Distributed Maps’ MaxConcurrency', () => {
    const { template } = givenStack({ maxConcurrency: 64 });
    const def = definitionOf(template);
    expect(findState(def, STATE.teardownRanges).MaxConcurrency).toBe(64);
    expect(findState(def, STATE.retentionRanges).MaxConcurrency).toBe(64);
  });

  test.each([0, -1, 2.5, 10_001])('refuses %p at synth with a clear error', (bad) => {
    expect(() => givenStack({ maxConcurrency: bad })).toThrow(VersionPurgerValidationError);
    expect(() => givenStack({ maxConcurrency: bad })).toThrow(/maxConcurrency must be a whole number from 1 to 10,000/);
  });

  test('two purgers of a stack must agree on it', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const bucket = (id: string) => new s3.Bucket(stack, id, { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    new VersionPurger(stack, 'A', { bucket: bucket('BA'), maxConcurrency: 8 });
    expect(() => new VersionPurger(stack, 'B', { bucket: bucket('BB'), maxConcurrency: 32 })).toThrow(/maxConcurrency 32 \(the function has 8\)/);
  });
});

function allStates(def: { States: Record<string, any> }): [string, any][] {
  return Object.entries(def.States).flatMap(([name, s]) => [[name, s] as [string, any], ...(s.ItemProcessor ? allStates(s.ItemProcessor) : [])]);
}
function findState(def: { States: Record<string, any> }, name: string): any {
  const found = allStates(def).find(([n]) => n === name);
  if (!found) throw new Error(`no state ${name}`);
  return found[1];
}
function expectMetrics(names: string[]) {
  const { Match } = require('aws-cdk-lib/assertions');
  return Match.arrayWith(names.map((n) => Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: n }) }) })));
}

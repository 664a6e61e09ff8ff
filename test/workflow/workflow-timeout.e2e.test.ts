/**
 * The backstop answer, end to end: a teardown execution that the state machine's own timeout ends
 * (TIMED_OUT, which no Catch can handle) still gets CloudFormation a FAILED answer at once. Step
 * Functions tells EventBridge, whose WorkflowClosed rule invokes the BUNDLED handler; the handler reads
 * the execution with DescribeExecution (from the local Step Functions) and answers.
 *
 * The synthesized timeout is 55 minutes; this test re-registers the same synthesized definition with
 * a 3-second timeout, and slows S3 down so that the run cannot finish in time. EventBridge is played
 * by the test: it builds the status-change event Step Functions sends and checks it against the
 * synthesized rule's pattern before delivering it.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { VersionPurger } from '../../lib';
import { stateMachineFromTemplate, resolveIntrinsics } from '../../bin/demo/local-step-functions';
import { FUNCTION_NAME, fakeContext } from '../support/lifecycle';
import { fill } from '../support/s3';
import { logicalIdOf, synthesizeWorkflowStack, WorkflowWorld } from '../support/workflow-world';

let world: WorkflowWorld;
let purger: string;

beforeAll(async () => {
  const stack = synthesizeWorkflowStack((s) => {
    const bucket = new s3.Bucket(s, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    new VersionPurger(s, 'Purger', { bucket });
  });
  world = new WorkflowWorld(stack);
  await world.start();
  purger = logicalIdOf(stack.template, 'Custom::VersionPurger');
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

/** The synthesized WorkflowClosed rule's pattern, resolved as CloudFormation would. */
function workflowClosedPattern(): { source: string[]; 'detail-type': string[]; detail: { stateMachineArn: string[]; status: string[] } } {
  const rules = Object.entries(world.stack.template.Resources).filter(([id, r]) => r.Type === 'AWS::Events::Rule' && id.includes('WorkflowClosed'));
  expect(rules).toHaveLength(1);
  return resolveIntrinsics(rules[0][1].Properties?.EventPattern, world.stack.template, { stackId: world.stack.stackId });
}

test('a teardown execution that times out is answered FAILED through the WorkflowClosed rule, naming the timeout', async () => {
  // GIVEN the synthesized workflow with a 3-second timeout, and an S3 that answers each request after 1.5 s
  const machine = stateMachineFromTemplate(world.stack.template, {
    stackId: world.stack.stackId,
    physicalIds: { [world.stack.functionLogicalId]: FUNCTION_NAME },
  });
  expect(machine.definition.TimeoutSeconds).toBe(55 * 60);
  world.sfn.createStateMachine({ ...machine, definition: { ...machine.definition, TimeoutSeconds: 3 } });
  const bucket = await world.taggedBucket(purger, 'wf-timeout');
  await fill(world.s3, bucket, ['a', 'b', 'c'], 2);
  world.proxy.latencyMs = 1_500;

  // WHEN the stack is deleted, and the execution times out
  const event = world.deleteEvent(purger, bucket);
  await world.handler(event, fakeContext(60_000));
  const execution = world.sfn.executions.find((e) => JSON.parse(e.input).event?.RequestId === event.RequestId)!;
  const closed = await world.sfn.waitFor(execution.executionArn, 30_000);
  expect(closed.status).toBe('TIMED_OUT');
  expect(world.responses.answers(event.RequestId)).toEqual([]);

  // AND EventBridge delivers the status change Step Functions sends, which the rule's pattern matches
  const statusChange = {
    version: '0',
    id: 'e1',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [execution.executionArn],
    detail: { executionArn: execution.executionArn, stateMachineArn: execution.stateMachineArn, name: execution.name, status: 'TIMED_OUT' },
  };
  const pattern = workflowClosedPattern();
  expect(pattern.source).toContain(statusChange.source);
  expect(pattern['detail-type']).toContain(statusChange['detail-type']);
  expect(pattern.detail.stateMachineArn).toContain(statusChange.detail.stateMachineArn);
  expect(pattern.detail.status).toContain(statusChange.detail.status);
  await world.handler(statusChange, fakeContext(60_000));

  // THEN CloudFormation has one answer: FAILED, saying the workflow timed out
  const answers = world.responses.answers(event.RequestId);
  expect(answers.map((a) => a.json)).toEqual([
    expect.objectContaining({
      Status: 'FAILED',
      PhysicalResourceId: world.physicalId(purger, bucket),
      Reason: expect.stringMatching(/^The purge workflow teardown-\S+ timed out \(the state machine's own timeout\).*States\.Timeout.*Retrying the stack deletion/),
    }),
  ]);
  world.proxy.latencyMs = 0;
  await world.sfn.idle();
}, 120_000);

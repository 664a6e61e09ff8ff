import { Logger } from '@aws-lambda-powertools/logger';
import { GetBucketPolicyCommand, GetBucketTaggingCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { CfnAnswer, CfnDeleteEvent, CfnEvent } from '../../lambda/teardown/cfn-response';
import { handleEvent, type HandlerDeps, type LambdaContext } from '../../lambda/handler';
import type { PurgeResult } from '../../lambda/engine/purge-types';
import { givenStackDeleting, STACK_ID } from '../support/cloudformation-mock';
import { purgeResult } from '../support/purge-results';
import type { TeardownMetrics } from '../../lambda/teardown/metrics';

const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
/** The owner id the bucket's tag and the resource's properties share. */
const OWNER = 'c8owner';
const PHYSICAL_ID = `version-purger:b:${OWNER}`;

beforeEach(() => {
  s3.reset();
  cfn.reset();
  givenStackDeleting(cfn, PHYSICAL_ID);
  s3.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'cdk-version-purger:purge-on-delete', Value: OWNER }] });
  s3.on(GetBucketPolicyCommand).resolves({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) });
  s3.on(PutBucketPolicyCommand).resolves({});
});

describe('handleEvent', () => {
  test('starts the workflow for a Delete that passes the checks, named after the request, and does not answer', async () => {
    // GIVEN
    const { deps, answers, starts } = givenDeps({});
    const event = deleteEvent('r-start');

    // WHEN
    await expect(handleEvent(event, context(), deps)).resolves.toBeUndefined();

    // THEN
    expect(answers).toEqual([]);
    expect(starts).toEqual([{ name: 'teardown-r-start', input: { kind: 'teardown', v: 1, event, startedAt: expect.any(Number), fenced: true } }]);
  });

  test('a second delivery of the same Delete finds its execution running and starts nothing new', async () => {
    const { deps, answers } = givenDeps({}, undefined, 'running');
    await handleEvent(deleteEvent('r-dup'), context(), deps);
    expect(answers).toEqual([]);
  });

  test('answers FAILED, with failed teardown metrics, when the workflow cannot start', async () => {
    // GIVEN
    const { deps, answers } = givenDeps({}, Object.assign(new Error('User is not authorized to perform: states:StartExecution'), { name: 'AccessDeniedException' }));
    const published: TeardownMetrics[] = [];

    // WHEN
    await handleEvent(deleteEvent('r-refused'), context(), { ...deps, publishTeardownMetrics: (m) => published.push(m) });

    // THEN
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: expect.stringMatching(/Could not start the purge workflow for bucket b \(User is not authorized.*\)\. Nothing was deleted; new writes stay denied/),
      }),
    ]);
    expect(published).toEqual([expect.objectContaining({ requestId: 'r-refused', versionsDeleted: 0, failed: true })]);
  });

  test('answers a refusal itself, without starting the workflow', async () => {
    const { deps, answers, starts } = givenDeps({});
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: [] });
    await handleEvent(deleteEvent('r-untagged'), context(), deps);
    expect(starts).toEqual([]);
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/no longer carries/) })]);
  });

  test('does not throw when the answer cannot be delivered', async () => {
    const { deps } = givenDeps({});
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: [] });
    const failing = { ...deps, respond: async () => Promise.reject(new Error('ResponseURL expired')) };
    await expect(handleEvent(deleteEvent('r-undeliverable'), context(), failing)).resolves.toBeUndefined();
  });

  test('runs a workflow step and returns its result', async () => {
    const { deps } = givenDeps({ deleted: 3 });
    const payload = { kind: 'workflow', v: 1, step: 'teardown-slice', run: teardownRun('r-step'), state: { index: 0, pass: 1, range: { prefix: '' } } };
    await expect(handleEvent(payload, context(), deps)).resolves.toMatchObject({ done: true, result: { deleted: 3 } });
  });

  test.each([
    ['an unknown step', { kind: 'workflow', v: 1, step: 'teardown-everything', run: {}, state: {} }, /unknown step "teardown-everything"/],
    ['another payload version', { kind: 'workflow', v: 2, step: 'teardown-slice', run: {}, state: {} }, /unsupported step payload version 2/],
    ['a slice without a Delete event', { kind: 'workflow', v: 1, step: 'teardown-slice', run: { kind: 'teardown', v: 1 }, state: {} }, /does not carry a teardown execution input/],
    ['a retention step with a policy in its run', { kind: 'workflow', v: 1, step: 'retention-slice', run: { kind: 'retention', v: 2, purger: 'P', policy: {} }, state: {} }, /unknown property policy/],
  ])('refuses %s by throwing, so that the workflow catches it', async (_what, payload, message) => {
    const { deps } = givenDeps({});
    await expect(handleEvent(payload, context(), deps)).rejects.toThrow(message);
  });

  test('a retention request sent by hand is checked against the configured run, then starts a retention execution', async () => {
    const { deps, starts } = givenDeps({});
    configureRetention();
    await expect(handleEvent({ kind: 'retention', v: 2, purger: 'Purger', dryRun: true }, context(), deps)).resolves.toEqual({ execution: 'retention-a' });
    expect(starts).toEqual([{ name: 'retention-a', input: { kind: 'retention', v: 2, purger: 'Purger', dryRun: true } }]);
    await expect(handleEvent({ kind: 'retention', bucket: 'b' }, context(), deps)).rejects.toThrow(/Invalid retention request: unsupported version/);
    await expect(handleEvent({ kind: 'retention', v: 2, purger: 'Purger', asOf: '2999-01-01T00:00:00Z' }, context(), deps)).rejects.toThrow(/is in the future/);
    expect(starts).toHaveLength(1);
  });

  test('a retention step reads the configured run from the stack', async () => {
    const { deps } = givenDeps({ mode: 'retain' });
    configureRetention();
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    s3.on(ListObjectsV2Command).resolves({ CommonPrefixes: [] });
    const plan = { kind: 'workflow', v: 1, step: 'retention-plan', run: { kind: 'retention', v: 2, purger: 'Purger' }, state: { runId: 'exec-1' } };
    await expect(handleEvent(plan, context(), deps)).resolves.toMatchObject({ next: 'ranges', runId: 'exec-1', bucket: 'b', remaining: 10, items: [{ quota: 10 }] });
  });
});

/** The purger `Purger` of the stack, with a retention schedule (its metadata, as CloudFormation serves it). */
function configureRetention(): void {
  const configured = { kind: 'retention', v: 1, bucketName: 'b', policy: { keepNoncurrentVersions: 1 }, dryRun: false, maxDeletionsPerRun: 10 };
  cfn.on(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Purger' }).resolves({
    StackResourceDetail: {
      LogicalResourceId: 'Purger',
      ResourceType: 'Custom::VersionPurger',
      ResourceStatus: 'UPDATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
      Metadata: JSON.stringify({ 'cdk-version-purger:retention': configured }),
    },
  });
}

function givenDeps(engineResult: Partial<PurgeResult>, startError?: Error, startOutcome: 'started' | 'running' = 'started') {
  const answers: CfnAnswer[] = [];
  const starts: Array<{ name: string; input: unknown }> = [];
  const deps: HandlerDeps = {
    s3: new S3Client({ region: 'us-east-1' }),
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    purge: async () => result(engineResult),
    startExecution: async (name, input) => {
      if (startError) throw startError;
      starts.push({ name, input });
      return startOutcome;
    },
    respond: async (_event: CfnEvent, answer: CfnAnswer) => {
      answers.push(answer);
    },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    env: { safetyMarginMs: 1_000, answerReserveMs: 1_000, stackId: STACK_ID },
    now: Date.now,
  };
  return { deps, answers, starts };
}

function teardownRun(requestId: string) {
  return { kind: 'teardown', v: 1, event: deleteEvent(requestId), startedAt: Date.now(), fenced: true };
}

function context(): LambdaContext {
  return {
    functionName: 'f',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    awsRequestId: 'a',
    getRemainingTimeInMillis: () => 60_000,
  };
}

function deleteEvent(requestId: string): CfnDeleteEvent {
  return {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: 'Purger',
    ResourceType: 'Custom::VersionPurger',
    ResourceProperties: { BucketName: 'b', OwnerId: OWNER, ServiceTimeout: '3600' },
    PhysicalResourceId: PHYSICAL_ID,
  };
}

function result(partial: Partial<PurgeResult>): PurgeResult {
  return purgeResult({ bucket: 'b', mode: 'purge', ...partial });
}

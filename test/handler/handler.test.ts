import { Logger } from '@aws-lambda-powertools/logger';
import { GetBucketPolicyCommand, GetBucketTaggingCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { CfnAnswer, CfnDeleteEvent, CfnEvent } from '../../lambda/teardown/cfn-response';
import { handleEvent, type HandlerDeps, type LambdaContext } from '../../lambda/handler';
import type { PurgeResult, ResumeToken } from '../../lambda/engine/purge-types';
import type { ContinuationPayload, SelfInvocation } from '../../lambda/runtime/self-invoke';
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
  test('hands a Delete that needs more time to a new invocation without answering', async () => {
    // GIVEN an engine that always stops with a token
    const { deps, answers, invocations } = givenDeps({ resumeToken: token() });
    const event = deleteEvent('r-continue');

    // WHEN
    await handleEvent(event, context(), deps);

    // THEN
    expect(answers).toEqual([]);
    expect(invocations).toEqual([
      { kind: 'teardown-continuation', v: 1, event, state: expect.objectContaining({ invocation: 2, resumeToken: token() }) },
    ]);
  });

  test('answers FAILED with the progress when the self-invocation is refused', async () => {
    // GIVEN
    const { deps, answers } = givenDeps({ resumeToken: token() }, new Error('AccessDeniedException: not allowed to invoke'));

    // WHEN
    await handleEvent(deleteEvent('r-refused'), context(), deps);

    // THEN
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        Reason: expect.stringMatching(/could not continue in a new invocation.*Self-invocation failed: AccessDeniedException/),
      }),
    ]);
  });

  test('emits the teardown metrics with the answer, not when handing over to a new invocation', async () => {
    // GIVEN
    const handedOver = givenDeps({ resumeToken: token() });
    const finished = givenDeps({ deleted: 7, uploadsAborted: 2, passes: 2 });
    const published: TeardownMetrics[] = [];

    // WHEN
    await handleEvent(deleteEvent('r-metrics-1'), context(), { ...handedOver.deps, publishTeardownMetrics: (m) => published.push(m) });
    await handleEvent(deleteEvent('r-metrics-2'), context(), { ...finished.deps, publishTeardownMetrics: (m) => published.push(m) });

    // THEN
    expect(handedOver.answers).toEqual([]);
    expect(finished.answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(published).toEqual([
      expect.objectContaining({ bucket: 'b', requestId: 'r-metrics-2', versionsDeleted: 7, uploadsAborted: 2, passes: 2, failed: false }),
    ]);
  });

  test('the fallback answer of a refused self-invocation carries failed teardown metrics', async () => {
    // GIVEN
    const { deps, answers } = givenDeps({ deleted: 5, resumeToken: token() }, new Error('AccessDeniedException: not allowed to invoke'));
    const published: TeardownMetrics[] = [];
    // WHEN
    await handleEvent(deleteEvent('r-metrics-3'), context(), { ...deps, publishTeardownMetrics: (m) => published.push(m) });
    // THEN
    expect(answers).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
    expect(published).toEqual([expect.objectContaining({ requestId: 'r-metrics-3', versionsDeleted: 5, failed: true })]);
  });

  test('answers CloudFormation even when the metrics cannot be emitted', async () => {
    // GIVEN
    const { deps, answers } = givenDeps({ deleted: 1 });
    // WHEN
    const publishTeardownMetrics = () => {
      throw new Error('stdout closed');
    };
    await handleEvent(deleteEvent('r-metrics-4'), context(), { ...deps, publishTeardownMetrics });
    // THEN
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('drops a second delivery of a continuation already handled here, answering once', async () => {
    // GIVEN
    const { deps, answers } = givenDeps({});
    const payload: ContinuationPayload = {
      kind: 'teardown-continuation',
      v: 1,
      event: deleteEvent('r-dup'),
      state: { startedAt: Date.now(), invocation: 2, resumeToken: token(), fenced: true },
    };

    // WHEN
    await handleEvent(payload, context(), deps);
    await handleEvent(payload, context(), deps);

    // THEN
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('does not throw when the answer cannot be delivered', async () => {
    const { deps } = givenDeps({});
    const failing = { ...deps, respond: async () => Promise.reject(new Error('ResponseURL expired')) };
    await expect(handleEvent(deleteEvent('r-undeliverable'), context(), failing)).resolves.toBeUndefined();
  });

  test('hands retention events to the retention path, which refuses an invalid one by throwing, answering nobody', async () => {
    const { deps, answers, invocations } = givenDeps({});
    await expect(handleEvent({ kind: 'retention', bucket: 'b' }, context(), deps)).rejects.toThrow(
      /Invalid retention request: unsupported version/,
    );
    expect(answers).toEqual([]);
    expect(invocations).toEqual([]);
  });

  test('runs a valid retention event without answering CloudFormation', async () => {
    const { deps, answers } = givenDeps({ mode: 'retain' });
    const published: unknown[] = [];
    const configured = { kind: 'retention', v: 1, bucketName: 'b', policy: { keepNoncurrentVersions: 1 }, dryRun: false };
    cfn.on(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Purger' }).resolves({
      StackResourceDetail: {
        LogicalResourceId: 'Purger',
        ResourceType: 'Custom::VersionPurger',
        ResourceStatus: 'UPDATE_COMPLETE',
        LastUpdatedTimestamp: new Date(),
        Metadata: JSON.stringify({ 'cdk-version-purger:retention': configured }),
      },
    });
    const event = { kind: 'retention', v: 2, purger: 'Purger' };
    await expect(handleEvent(event, context(), { ...deps, publishRetentionMetrics: (m) => published.push(m) })).resolves.toBeUndefined();
    expect(answers).toEqual([]);
    expect(published).toEqual([expect.objectContaining({ bucket: 'b', runFailed: false })]);
  });
});

function givenDeps(engineResult: Partial<PurgeResult>, invokeError?: Error) {
  const answers: CfnAnswer[] = [];
  const invocations: SelfInvocation[] = [];
  const deps: HandlerDeps = {
    s3: new S3Client({ region: 'us-east-1' }),
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    purge: async () => result(engineResult),
    invokeSelf: async (payload) => {
      if (invokeError) throw invokeError;
      invocations.push(payload);
    },
    respond: async (_event: CfnEvent, answer: CfnAnswer) => {
      answers.push(answer);
    },
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    env: { safetyMarginMs: 1_000, answerReserveMs: 1_000, stackId: STACK_ID },
    now: Date.now,
  };
  return { deps, answers, invocations };
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

function token(): ResumeToken {
  return {
    v: 1,
    bucket: 'b',
    mode: 'purge',
    pass: 1,
    counts: { listed: 5, selected: 5, deleted: 5, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 },
    errors: [],
    streams: [],
  } as unknown as ResumeToken;
}

function result(partial: Partial<PurgeResult>): PurgeResult {
  return purgeResult({ bucket: 'b', mode: 'purge', ...partial });
}

/**
 * Runs the handler bundle that `cdk synth` ships (located through the
 * template's asset metadata) against moto, with a local server playing
 * CloudFormation's ResponseURL, and the synthesized workflow on a local Step
 * Functions (a Delete starts it; its tasks run the same bundle). Every test
 * checks the bucket with its own listing; EMF metric lines are read from the
 * captured stdout.
 */
import * as path from 'node:path';
import {
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  GetBucketPolicyCommand,
  ListMultipartUploadsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { VersionPurger } from '../../lib';
import {
  type BundledHandler,
  captureEmfLines,
  EventFactory,
  fakeContext,
  ResponseServer,
  SlowS3Proxy,
  startLocalWorkflow,
  synthesizeExample,
} from '../support/lifecycle';
import type { LocalStepFunctions } from '../../bin/demo/local-step-functions';
import { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { createBucket, deleteMarker, fill, type ListedEntry, listAll, put, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

const { FENCE_STATEMENT_SID, PURGE_TAG_KEY } = VersionPurger;

const responses = new ResponseServer();
/** Plays CloudFormation's read API: every Delete's stack is being deleted. */
const cloudFormation = new LocalCloudFormationApi();
let handler: BundledHandler;
let sfn: LocalStepFunctions;
let proxy: SlowS3Proxy | undefined;
let events: EventFactory;
let s3: S3Client;

const savedEnv = { ...process.env };
/** EMF lines the handler wrote to stdout. */
const emf: Array<Record<string, any>> = [];
let stdoutSpy: jest.SpyInstance;

beforeAll(async () => {
  const synth = synthesizeExample();
  proxy = new SlowS3Proxy(testEndpoint());
  await Promise.all([responses.start(), proxy.start(), cloudFormation.start()]);
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.endpoint;
  // The bundle reads these when it first builds its clients.
  process.env.AWS_ENDPOINT_URL_S3 = proxy.endpoint;
  sfn = await startLocalWorkflow(synth);
  process.env.POWERTOOLS_LOG_LEVEL = process.env.VP_TEST_LOGS ? 'DEBUG' : 'SILENT';
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  stdoutSpy = captureEmfLines(emf);
  handler = require(path.join(synth.assetDir, 'index.js')).handler;
  events = new EventFactory(synth, responses, cloudFormation);
  s3 = testClient();
}, 120_000);

afterAll(async () => {
  stdoutSpy?.mockRestore();
  await Promise.all([responses.stop(), sfn.stop(), proxy?.stop(), cloudFormation.stop()]);
  process.env = savedEnv;
});

beforeEach(() => {
  proxy?.reset();
  sfn.beforeInvocation = undefined;
  sfn.lambdaTimeMs = undefined;
  delete process.env.VERSION_PURGER_SAFETY_MARGIN_MS;
  delete process.env.VERSION_PURGER_ANSWER_RESERVE_MS;
});

afterEach(async () => {
  await sfn.idle();
  // Every execution ended the way the workflow ends a teardown: with its answer.
  expect(sfn.executions.filter((e) => e.status !== 'SUCCEEDED').map((e) => `${e.name}: ${e.status} ${e.error ?? ''} ${e.cause ?? ''}`)).toEqual([]);
});

describe('Create and Update', () => {
  test('Create answers SUCCESS with a physical id derived from the bucket and deletes nothing', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('create');
    await fill(s3, bucket, ['a', 'b'], 2);
    const event = events.create(bucket);

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const [answer, ...more] = responses.answers(event.RequestId);
    expect(more).toEqual([]);
    expect(answer.json).toEqual({
      Status: 'SUCCESS',
      Reason: expect.any(String),
      PhysicalResourceId: events.physicalId(bucket),
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
    });
    expect(answer.contentType).toBe('');
    expect(await listAll(s3, bucket)).toHaveLength(4);
  });

  test('Update keeps the physical id CloudFormation sent and deletes nothing', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('update');
    await fill(s3, bucket, ['a'], 3);
    const event = events.update(bucket, events.physicalId(bucket), { FenceWrites: 'false' });

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json.Status).toBe('SUCCESS');
    expect(answer.json.PhysicalResourceId).toBe(events.physicalId(bucket));
    expect(await listAll(s3, bucket)).toHaveLength(3);
  });

  test('Create without a BucketName answers FAILED with a marker id, and the following Delete succeeds untouched', async () => {
    // GIVEN
    const event = events.create('unused');
    delete (event.ResourceProperties as Record<string, unknown>).BucketName;

    // WHEN
    await handler(event, fakeContext(60_000));
    const created = await responses.waitFor(event.RequestId);
    const deletion = events.delete('unused', created.json.PhysicalResourceId);
    await handler(deletion, fakeContext(60_000));

    // THEN
    expect(created.json).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/no BucketName/) });
    expect((await responses.waitFor(deletion.RequestId)).json.Status).toBe('SUCCESS');
  });
});

describe('Delete', () => {
  test('empties a tagged bucket (versions and delete markers) and fences writes, keeping other policy statements', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('delete');
    await fill(s3, bucket, ['a', 'b/c', 'b/d', 'e'], 3);
    await deleteMarker(s3, bucket, 'a');
    await deleteMarker(s3, bucket, 'e');
    const existing = {
      Sid: 'KeepMe',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::${bucket}/secret/*`,
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [existing] }) }));
    const event = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: events.physicalId(bucket) });
    expect(answer.json.Reason).toMatch(/deleted 12 versions and 2 delete markers/);
    expect(await listAll(s3, bucket)).toEqual([]);
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}');
    expect(policy.Statement).toEqual([
      existing,
      { Sid: FENCE_STATEMENT_SID, Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/*` },
    ]);
    expect(responses.answers(event.RequestId)).toHaveLength(1);
  });

  test('aborts every incomplete multipart upload and emits the teardown metrics once, with the answer', async () => {
    // GIVEN versions, a delete marker and two incomplete uploads
    const bucket = await givenTaggedBucket('uploads');
    await fill(s3, bucket, ['a', 'b/c'], 2);
    await deleteMarker(s3, bucket, 'a');
    for (const key of ['big.bin', 'b/part.bin']) await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const event = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json.Status).toBe('SUCCESS');
    expect(answer.json.Reason).toMatch(/deleted 4 versions and 1 delete marker .*Aborted 2 incomplete multipart upload/);
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    expect(await listAll(s3, bucket)).toEqual([]);
    const lines = metricsFor(bucket);
    expect(lines).toHaveLength(1);
    expect(lines[0]._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'VersionPurger',
          Dimensions: [['BucketName']],
          Metrics: expect.arrayContaining([
            { Name: 'TeardownVersionsDeleted', Unit: 'Count' },
            { Name: 'TeardownBytesDeleted', Unit: 'Bytes' },
            { Name: 'TeardownDurationMs', Unit: 'Milliseconds' },
            { Name: 'TeardownFailed', Unit: 'Count' },
          ]),
        },
      ],
    });
    expect(lines[0]._aws.CloudWatchMetrics[0].Metrics).toHaveLength(8);
    expect(lines[0]).toMatchObject({
      BucketName: bucket,
      requestId: event.RequestId,
      TeardownVersionsDeleted: 4,
      TeardownDeleteMarkersDeleted: 1,
      TeardownBytesDeleted: ['a#0', 'a#1', 'b/c#0', 'b/c#1'].reduce((n, body) => n + body.length, 0),
      TeardownUploadsAborted: 2,
      TeardownErrors: 0,
      TeardownPasses: expect.any(Number),
      TeardownDurationMs: expect.any(Number),
      TeardownFailed: 0,
    });
    expect(lines[0].TeardownPasses).toBeGreaterThanOrEqual(1);
  });

  test('a Delete refused because the bucket is not tagged emits no teardown metrics', async () => {
    // GIVEN
    const bucket = await createBucket(s3, uniqueBucketName('untagged-metrics'));
    await fill(s3, bucket, ['a'], 1);
    const event = events.delete(bucket, events.physicalId(bucket));
    // WHEN
    await handler(event, fakeContext(60_000));
    // THEN
    expect((await responses.waitFor(event.RequestId)).json.Status).toBe('SUCCESS');
    expect(await listAll(s3, bucket)).toHaveLength(1);
    expect(metricsFor(bucket)).toEqual([]);
  });

  test('a second Delete (retried stack deletion) succeeds and does not add the fence twice', async () => {
    // GIVEN a purged bucket whose fence turns a late writer away
    const bucket = await givenTaggedBucket('delete-twice');
    await fill(s3, bucket, ['a'], 2);
    const first = events.delete(bucket, events.physicalId(bucket));
    await handler(first, fakeContext(60_000));
    await expect(put(s3, bucket, 'late')).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    const second = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(second, fakeContext(60_000));

    // THEN
    expect((await responses.waitFor(second.RequestId)).json.Status).toBe('SUCCESS');
    expect(await listAll(s3, bucket)).toEqual([]);
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}');
    expect(policy.Statement.filter((s: { Sid?: string }) => s.Sid === FENCE_STATEMENT_SID)).toHaveLength(1);
  });

  test('leaves the bucket alone when the tag was removed (construct removed from the app)', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('untagged');
    await fill(s3, bucket, ['a', 'b'], 2);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: bucket }));
    const event = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json.Status).toBe('SUCCESS');
    expect(answer.json.Reason).toMatch(/no longer carries the cdk-version-purger:purge-on-delete tag; nothing was deleted/);
    expect(await listAll(s3, bucket)).toHaveLength(4);
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchBucketPolicy' });
  });

  test('leaves the bucket alone when other tags remain but not the purge tag', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('othertags');
    await fill(s3, bucket, ['a'], 2);
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: 'team', Value: 'data' }] } }));
    const event = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    expect((await responses.waitFor(event.RequestId)).json.Status).toBe('SUCCESS');
    expect(await listAll(s3, bucket)).toHaveLength(2);
  });

  test('leaves a still-tagged bucket alone when PurgeOnDelete is false', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('nopurge');
    await fill(s3, bucket, ['a'], 2);
    const event = events.delete(bucket, events.physicalId(bucket), { PurgeOnDelete: 'false' });

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/purgeOnDelete is false/) });
    expect(await listAll(s3, bucket)).toHaveLength(2);
  });

  test('answers SUCCESS for a bucket that no longer exists', async () => {
    // GIVEN
    const bucket = uniqueBucketName('gone');
    const event = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/does not exist/) });
  });

  test('answers FAILED within seconds when versions are under COMPLIANCE retention or legal hold, deleting the rest', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('locked', { objectLock: true });
    await fill(s3, bucket, ['free/a', 'free/b'], 2);
    const until = new Date(Date.now() + 24 * 3600 * 1000);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'locked/compliance', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked/hold', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));
    const event = events.delete(bucket, events.physicalId(bucket), { BypassGovernanceRetention: 'true' });

    // WHEN
    const started = Date.now();
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.receivedAt - started).toBeLessThan(15_000);
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(
      /^Could not empty bucket locked-\w+: 2 versions could not be deleted \(4 versions and delete markers deleted\)/,
    );
    expect(answer.json.Reason).toMatch(/"locked\/compliance".*AccessDenied.*COMPLIANCE retention until/);
    expect(answer.json.Reason).toMatch(/"locked\/hold".*AccessDenied.*legal hold/);
    expect(answer.json.Reason).toMatch(/cannot be bypassed/);
    expect((await listAll(s3, bucket)).map((e) => e.key).sort()).toEqual(['locked/compliance', 'locked/hold']);
    expect(metricsFor(bucket)).toEqual([expect.objectContaining({ TeardownVersionsDeleted: 4, TeardownErrors: 2, TeardownFailed: 1 })]);
  });

  test('keeps the answer within 4,096 bytes when many long, non-ASCII keys fail', async () => {
    // GIVEN 60 legal-held keys of about 700 bytes each
    const bucket = await givenTaggedBucket('manyerrors', { objectLock: true });
    const keys = Array.from({ length: 60 }, (_, i) => `held/${String(i).padStart(3, '0')}-${'ü'.repeat(300)}-${'€'.repeat(30)}`);
    for (const key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));
    }
    const event = events.delete(bucket, events.physicalId(bucket));

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.bytes).toBeLessThanOrEqual(4096);
    expect(answer.json.Reason).toMatch(/60 versions could not be deleted/);
    expect(answer.json.Reason).toMatch(/"held\/000-ü+…/);
    expect(answer.json.Reason).toMatch(/and 5[0-9] more/);
    expect(await listAll(s3, bucket)).toHaveLength(60);
  });

  test('retries the answer when the ResponseURL fails at first', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('retryput');
    const event = events.delete(bucket, events.physicalId(bucket));
    responses.failNext = 2;

    // WHEN
    await handler(event, fakeContext(60_000));

    // THEN
    expect((await responses.waitFor(event.RequestId)).json.Status).toBe('SUCCESS');
  });
});

describe('Workflow', () => {
  /** The execution a Delete started (named after its RequestId). */
  const executionOf = (requestId: string) => sfn.executions.find((e) => e.name === `teardown-${requestId}`);

  test('a purge longer than one invocation loops its slices in the workflow and answers once', async () => {
    // GIVEN a bucket that takes several short invocations on a slow S3
    // (each request 600 ms late, 5 s of Lambda time per invocation, of which 1.25 s are the margin (the
    // handler keeps at most a quarter of the time): the request in flight at the deadline, with moto's own
    // time to delete a batch, must end within it, also when the full test run loads the machine)
    const bucket = await givenTaggedBucket('continue');
    await fill(s3, bucket, Array.from({ length: 30 }, (_, i) => `p${i % 3}/k${i}`), 10);
    setLatency(600);
    process.env.VERSION_PURGER_SAFETY_MARGIN_MS = '1250';
    sfn.lambdaTimeMs = 5_000;
    const event = events.delete(bucket, events.physicalId(bucket), { ServiceTimeout: '90' });

    // WHEN
    await expect(handler(event, fakeContext(60_000))).resolves.toBeUndefined();
    const answer = await responses.waitFor(event.RequestId, 90_000);
    await sfn.idle();

    // THEN the handler started one execution, which answered once after several slices
    expect({ Status: answer.json.Status, Reason: answer.json.Reason }).toEqual({
      Status: 'SUCCESS',
      Reason: expect.stringMatching(/deleted 300 versions and 0 delete markers in \d+ pass(es)? and \d+ invocations/),
    });
    const execution = executionOf(event.RequestId)!;
    expect(execution.status).toBe('SUCCEEDED');
    const slices = execution.invocations.filter((i) => i.stateName === 'TeardownSlice');
    expect(slices.length).toBeGreaterThanOrEqual(2);
    expect(slices.some((i) => i.event.state.token)).toBe(true);
    expect(responses.answers(event.RequestId)).toHaveLength(1);
    expect(await listAll(s3, bucket)).toEqual([]);
    // AND one EMF line, from the Answer step, with the totals of every slice
    expect(metricsFor(bucket)).toEqual([expect.objectContaining({ TeardownVersionsDeleted: 300, TeardownFailed: 0 })]);
    // AND every step that may delete asked CloudFormation again before deleting (Delete, Plan, each slice)
    const asked = cloudFormation.calls.filter((c) => c.action === 'DescribeStacks' && c.params.StackName === event.StackId);
    const planned = execution.invocations.filter((i) => i.stateName === 'TeardownPlan').length;
    expect(asked.length).toBeGreaterThanOrEqual(1 + planned + slices.length);
  });

  test('a workflow step that runs once the stack is no longer deleting (its deletion failed) deletes nothing', async () => {
    // GIVEN a Delete whose checks pass, and a stack deletion that fails before the workflow's first step
    const bucket = await givenTaggedBucket('stopped');
    await fill(s3, bucket, Array.from({ length: 30 }, (_, i) => `p${i % 3}/k${i}`), 10);
    const event = events.delete(bucket, events.physicalId(bucket), { ServiceTimeout: '90' });
    let leftAtPlan: ListedEntry[] | undefined;
    sfn.beforeInvocation = async (request) => {
      if (request.stateName !== 'TeardownPlan' || leftAtPlan) return;
      leftAtPlan = await listAll(s3, bucket);
      cloudFormation.stacks.get(event.StackId)!.status = 'DELETE_FAILED';
    };

    // WHEN
    await handler(event, fakeContext(60_000));
    const answer = await responses.waitFor(event.RequestId, 60_000);
    await sfn.idle();

    // THEN Plan checked again, deleted nothing, and the answer says why
    expect(leftAtPlan).toHaveLength(300);
    expect(await listAll(s3, bucket)).toEqual(leftAtPlan);
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/is DELETE_FAILED, not deleting resources.*Nothing was deleted/) });
  });

  test('a Delete delivered twice starts one execution and answers once', async () => {
    // GIVEN
    const bucket = await givenTaggedBucket('duplicate');
    await fill(s3, bucket, Array.from({ length: 20 }, (_, i) => `k${i}`), 10);
    const event = events.delete(bucket, events.physicalId(bucket), { ServiceTimeout: '90' });

    // WHEN CloudFormation's event is delivered twice
    await handler(event, fakeContext(60_000));
    await handler(event, fakeContext(60_000));
    const answer = await responses.waitFor(event.RequestId, 90_000);
    await sfn.idle();

    // THEN
    const starts = sfn.startRequests.filter((r) => r.name === `teardown-${event.RequestId}`);
    expect(starts).toHaveLength(2);
    expect(sfn.executions.filter((e) => e.name === `teardown-${event.RequestId}`)).toHaveLength(1);
    expect(answer.json.Status).toBe('SUCCESS');
    expect(responses.answers(event.RequestId)).toHaveLength(1);
    expect(await listAll(s3, bucket)).toEqual([]);
  });

  test('a forged slice payload for a stack that is not deleting deletes nothing', async () => {
    // GIVEN a tagged bucket, and a step payload naming it, sent by someone who may invoke the function
    const bucket = await givenTaggedBucket('forged');
    await fill(s3, bucket, ['a', 'b'], 2);
    const event = events.delete(bucket, events.physicalId(bucket));
    cloudFormation.stacks.get(event.StackId)!.status = 'UPDATE_COMPLETE';
    const forged = {
      kind: 'workflow',
      v: 1,
      step: 'teardown-slice',
      run: { kind: 'teardown', v: 1, event, startedAt: Date.now(), fenced: false },
      state: { index: 0, pass: 1, range: { prefix: '' }, token: null },
    };

    // WHEN
    const result = (await handler(forged, fakeContext(60_000))) as Record<string, any>;

    // THEN the slice refuses and every version is still there
    expect(result).toMatchObject({ done: true, result: { deleted: 0, refusal: { status: 'SUCCESS', reason: expect.stringMatching(/Nothing was deleted/) } } });
    expect(await listAll(s3, bucket)).toHaveLength(4);
    expect(responses.answers(event.RequestId)).toHaveLength(0);
  });

  test('answers FAILED with progress before serviceTimeout when S3 throttles, and a retried Delete finishes the purge', async () => {
    // GIVEN a 10-second budget and an S3 that answers SlowDown to every DeleteObjects after the first
    // (10 s: a quarter of it, 2.5 s, is kept for the estimate and the answer; with less, one moto listing
    // under a loaded machine's full test run can outlast the estimate's window)
    const bucket = await givenTaggedBucket('budget');
    await fill(s3, bucket, Array.from({ length: 30 }, (_, i) => `p${i % 3}/k${i}`), 10);
    proxy!.throttleDeletesAfter = 1;
    const event = events.delete(bucket, events.physicalId(bucket), { ServiceTimeout: '10' });

    // WHEN
    const started = Date.now();
    await handler(event, fakeContext(60_000));
    const answer = await responses.waitFor(event.RequestId, 60_000);
    await sfn.idle();

    // THEN
    expect(answer.receivedAt - started).toBeLessThan(10_000);
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(
      /ran out of time: the custom resource's serviceTimeout \(10 s\) is nearly spent\. Deleted [1-9][\d,]* versions and delete markers so far in 1 invocation; about [1-9][\d,]* versions and delete markers remain\./,
    );
    expect(answer.json.Reason).toMatch(/New writes stay denied by the bucket policy\. Retrying the stack deletion continues the purge\./);
    expect(responses.answers(event.RequestId)).toHaveLength(1);
    const left = (await listAll(s3, bucket)).length;
    expect(answer.json.Reason).toContain(`about ${left} versions and delete markers remain`);
    expect(left).toBeLessThan(300);

    // WHEN the throttling is over and the stack deletion is retried
    proxy!.reset();
    const retry = events.delete(bucket, events.physicalId(bucket));
    await handler(retry, fakeContext(60_000));

    // THEN
    expect((await responses.waitFor(retry.RequestId)).json.Status).toBe('SUCCESS');
    expect(await listAll(s3, bucket)).toEqual([]);
  });
});

describe('Robustness', () => {
  test('never throws for a CloudFormation-shaped or unknown event', async () => {
    await expect(handler(undefined, fakeContext(1_000))).resolves.toBeUndefined();
    await expect(handler({ RequestType: 'Delete' }, fakeContext(1_000))).resolves.toBeUndefined();
    await expect(handler({ kind: 'unknown' }, fakeContext(1_000))).resolves.toBeUndefined();
  });

  test('throws for an invalid retention request sent by hand, saying what is wrong', async () => {
    await expect(handler({ kind: 'retention' }, fakeContext(1_000))).rejects.toThrow(/Invalid retention request/);
  });
});

/** Latency the S3 proxy adds to each request the handler makes. */
function setLatency(ms: number): void {
  if (proxy) proxy.latencyMs = ms;
}

/** A versioned bucket carrying the purge tag that names its purger (from the template), as the construct leaves it. */
async function givenTaggedBucket(label: string, options: { objectLock?: boolean } = {}): Promise<string> {
  const bucket = await createBucket(s3, uniqueBucketName(label), options);
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: PURGE_TAG_KEY, Value: events.ownerId }] } }));
  return bucket;
}

/** EMF lines emitted for a bucket. */
function metricsFor(bucket: string): Array<Record<string, any>> {
  return emf.filter((line) => line.BucketName === bucket);
}

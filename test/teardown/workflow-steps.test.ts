/**
 * The teardown steps of the workflow (lambda/teardown/steps/), with a stub
 * engine and mocked S3 and CloudFormation for the decisions and error paths.
 * The same steps against moto, in workflow order: test/teardown/workflow-steps.integ.test.ts.
 */
import { GetBucketTaggingCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { PurgeConfigError } from '../../lambda/engine/errors';
import type { PurgeOptions, PurgeResult, ResumeToken } from '../../lambda/engine/purge-types';
import type { CfnDeleteEvent } from '../../lambda/teardown/cfn-response';
import type { TeardownDeps } from '../../lambda/teardown/deps';
import { answerTeardown } from '../../lambda/teardown/steps/answer-step';
import { confirmTeardown } from '../../lambda/teardown/steps/confirm-step';
import { planTeardown } from '../../lambda/teardown/steps/plan-step';
import { sliceTeardown } from '../../lambda/teardown/steps/slice-step';
import { addPass, NO_TOTALS, rangeResultOf } from '../../lambda/teardown/steps/totals';
import type { TeardownExecutionInput, TeardownRangeResult, TeardownSliceState } from '../../lambda/workflow/contract';
import { givenStackDeleting, STACK_ID } from '../support/cloudformation-mock';
import { purgeResult } from '../support/purge-results';

const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const BUCKET = 'data-bucket';
const OWNER = 'c8owner';
const PHYSICAL_ID = `version-purger:${BUCKET}:${OWNER}`;
const T0 = 1_700_000_000_000;
const TIMING = { invocationDeadline: T0 + 60_000, answerReserveMs: 30_000 };

beforeEach(() => {
  s3.reset();
  cfn.reset();
  givenStackDeleting(cfn, PHYSICAL_ID);
  s3.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'cdk-version-purger:purge-on-delete', Value: OWNER }] });
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [], DeleteMarkers: [], IsTruncated: false });
});

describe('Slice', () => {
  const slice: TeardownSliceState = { index: 3, pass: 1, range: { prefix: '', after: 'b/', through: 'c/' }, token: null, slices: 0 };

  test('loops with its token when Lambda time, not the run’s budget, ran out', async () => {
    // GIVEN an engine that stops at its deadline with a token
    const token = tokenWith(400);
    const { deps, purge } = givenDeps(async () => result({ deleted: 400, resumeToken: token }));

    // WHEN
    const next = await sliceTeardown(run(), slice, deps, TIMING);

    // THEN it ran on its range only, and goes on from the token
    expect(purge).toHaveBeenCalledWith(expect.objectContaining({ bucket: BUCKET, range: slice.range, deadline: T0 + 60_000, resumeToken: null }));
    expect(next).toEqual({ ...slice, token, slices: 1, done: false });
  });

  test('ends its range with the counts when the engine finished', async () => {
    const { deps } = givenDeps(async () => result({ deleted: 7, deleteMarkersDeleted: 2, listed: 9 }));
    const next = await sliceTeardown(run(), { ...slice, token: tokenWith(5), slices: 2 }, deps, TIMING);
    expect(next).toMatchObject({ done: true, token: null, slices: 3, result: { index: 3, deleted: 7, deleteMarkersDeleted: 2, slices: 3, deadlinePassed: false } });
  });

  test('ends its range as deadlinePassed when the run’s budget, not Lambda time, stopped it', async () => {
    // GIVEN a 60 s serviceTimeout: the budget (less its reserve) ends before the invocation
    const { deps } = givenDeps(async () => result({ deleted: 1, resumeToken: tokenWith(1) }));
    const next = await sliceTeardown(run({ ServiceTimeout: '60' }), slice, deps, TIMING);
    expect(next).toMatchObject({ done: true, result: { deadlinePassed: true, deleted: 1 } });
  });

  test('past the budget, does not run the engine', async () => {
    const { deps, purge } = givenDeps(async () => result({}));
    const next = await sliceTeardown({ ...run(), startedAt: T0 - 3_600_000 }, slice, deps, TIMING);
    expect(purge).not.toHaveBeenCalled();
    expect(next).toMatchObject({ done: true, result: { deadlinePassed: true } });
  });

  test('re-checks before deleting: unreadable tags stop the range without running the engine', async () => {
    const { deps, purge } = givenDeps(async () => result({}));
    s3.on(GetBucketTaggingCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const next = await sliceTeardown(run(), slice, deps, TIMING);
    expect(purge).not.toHaveBeenCalled();
    expect(next).toMatchObject({ done: true, result: { refusal: { status: 'FAILED', reason: expect.stringMatching(/AccessDenied.*Nothing was deleted/) } } });
  });

  test.each([
    ['a configuration error (MFA Delete)', new PurgeConfigError('Bucket data-bucket has MFA Delete enabled.'), /MFA Delete enabled/],
    ['an unexpected error', Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' }), /ECONNRESET: socket hang up/],
  ])('ends its range with %s as stoppedBy', async (_what, error, why) => {
    const { deps } = givenDeps(async () => {
      throw error;
    });
    expect(await sliceTeardown(run(), slice, deps, TIMING)).toMatchObject({ done: true, result: { stoppedBy: expect.stringMatching(why) } });
  });
});

describe('Plan', () => {
  test('purges a small bucket inline and answers without the Map', async () => {
    const { deps, purge } = givenDeps(async () => result({ deleted: 3, passes: 2 }));
    const plan = await planTeardown(run(), { pass: 1 }, deps, TIMING);
    expect(purge).toHaveBeenCalledWith(expect.objectContaining({ bucket: BUCKET }));
    expect(plan).toMatchObject({ next: 'answer', verdict: { status: 'SUCCESS', reason: expect.stringMatching(/Purged bucket data-bucket: deleted 3 versions/) } });
  });

  test('splits a larger bucket at its folders into disjoint ranges covering every key', async () => {
    const { deps, purge } = givenDeps(async () => result({}));
    s3.on(ListObjectVersionsCommand).resolves({ Versions: Array(1000).fill({}), IsTruncated: true });
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    s3.on(ListObjectsV2Command).resolves({ CommonPrefixes: [{ Prefix: 'a/' }, { Prefix: 'b/' }, { Prefix: 'c/' }] });
    const plan = await planTeardown(run(), { pass: 1 }, deps, TIMING);
    expect(purge).not.toHaveBeenCalled();
    expect(plan.next).toBe('ranges');
    expect(plan.ranges.map((r) => r.range)).toEqual([
      { prefix: '', through: 'a/' },
      { prefix: '', after: 'a/', through: 'b/' },
      { prefix: '', after: 'b/', through: 'c/' },
      { prefix: '', after: 'c/' },
    ]);
    expect(plan.ranges.map((r) => r.index)).toEqual([0, 1, 2, 3]);
  });

  test('a later pass lists the whole bucket from its start in one range', async () => {
    const { deps } = givenDeps(async () => result({}));
    const plan = await planTeardown(run(), { pass: 2, totals: NO_TOTALS }, deps, TIMING);
    expect(plan).toMatchObject({ next: 'ranges', pass: 2, ranges: [{ index: 0, pass: 2, range: { prefix: '' } }] });
  });

  test('a refusal answers at once, deleting nothing', async () => {
    const { deps, purge } = givenDeps(async () => result({}));
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: [] });
    const plan = await planTeardown(run(), { pass: 1 }, deps, TIMING);
    expect(purge).not.toHaveBeenCalled();
    expect(plan).toMatchObject({ next: 'answer', verdict: { status: 'SUCCESS', attempted: false, reason: expect.stringMatching(/no longer carries/) } });
  });
});

describe('Confirm', () => {
  const range = (r: Partial<TeardownRangeResult>): TeardownRangeResult => ({ ...rangeResultOf(0, result({}), 1, false), ...r });

  test('answers SUCCESS with the totals of every range when a listing from the start finds the bucket empty', async () => {
    const { deps } = givenDeps(async () => result({}));
    const confirmed = await confirmTeardown(run(), confirmState([range({ index: 0, deleted: 5 }), range({ index: 1, deleted: 7, deleteMarkersDeleted: 1 })]), deps, TIMING);
    expect(confirmed).toMatchObject({
      next: 'answer',
      totals: { deleted: 12, deleteMarkersDeleted: 1, slices: 2 },
      verdict: { status: 'SUCCESS', reason: expect.stringMatching(/deleted 12 versions and 1 delete marker in 1 pass and 2 invocations/) },
    });
  });

  test('goes back to Plan for another pass when the listing finds versions left', async () => {
    const { deps } = givenDeps(async () => result({}));
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'late' }], IsTruncated: false });
    expect(await confirmTeardown(run(), confirmState([range({ deleted: 5 })]), deps, TIMING)).toMatchObject({ next: 'plan', pass: 2, totals: { deleted: 5 } });
  });

  test('after the last pass, answers FAILED: the bucket still holds versions and writes are not fenced', async () => {
    const { deps } = givenDeps(async () => result({}));
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'late' }], IsTruncated: false });
    const confirmed = await confirmTeardown({ ...run(), fenced: false }, { ...confirmState([range({ deleted: 5 })]), pass: 5 }, deps, TIMING);
    expect(confirmed).toMatchObject({ next: 'answer', verdict: { status: 'FAILED', reason: expect.stringMatching(/still holds versions after 5 purge passes.*writes are not fenced/) } });
  });

  test('answers FAILED naming the keys that could not be deleted', async () => {
    const { deps } = givenDeps(async () => result({}));
    const errors = [{ key: 'locked/k', versionId: 'v1', code: 'AccessDenied', message: 'Access Denied because object protected by object lock.' }];
    const confirmed = await confirmTeardown(run(), confirmState([range({ deleted: 5, failed: 1, errors })]), deps, TIMING);
    expect(confirmed).toMatchObject({ next: 'answer', verdict: { status: 'FAILED', reason: expect.stringMatching(/1 version could not be deleted.*locked\/k/) } });
  });

  test('answers FAILED with progress and an estimate when a range ran out of the serviceTimeout budget', async () => {
    const { deps } = givenDeps(async () => result({}));
    s3.on(ListObjectVersionsCommand)
      .resolvesOnce({ Versions: Array(1000).fill({}), IsTruncated: true, NextKeyMarker: 'k', NextVersionIdMarker: 'v' })
      .resolvesOnce({ Versions: Array(400).fill({}), DeleteMarkers: Array(100).fill({}), IsTruncated: false });
    const confirmed = await confirmTeardown(run({ ServiceTimeout: '600' }), confirmState([range({ deleted: 9_000, deleteMarkersDeleted: 1_000, deadlinePassed: true, slices: 3 })]), deps, TIMING);
    expect(confirmed.verdict).toEqual({
      status: 'FAILED',
      attempted: true,
      reason:
        `Purge of bucket ${BUCKET} ran out of time: the custom resource's serviceTimeout (600 s) is nearly spent. ` +
        'Deleted 10,000 versions and delete markers so far in 3 invocations; about 1,500 versions and delete markers remain. ' +
        'New writes stay denied by the bucket policy. Retrying the stack deletion continues the purge. Logs: /aws/lambda/f s1.',
    });
  });

  test('answers FAILED with the cause when a range’s slice failed (the child’s Catch)', async () => {
    const { deps } = givenDeps(async () => result({}));
    const crashed = range({ index: 2, error: { Error: 'Sandbox.Timedout', Cause: 'Task timed out after 900 seconds' } });
    const confirmed = await confirmTeardown(run(), confirmState([range({ deleted: 5 }), crashed]), deps, TIMING);
    expect(confirmed.verdict).toMatchObject({ status: 'FAILED', reason: expect.stringMatching(/key range 2 failed: Sandbox.Timedout: Task timed out.*Retrying the stack deletion continues/) });
  });

  test('a refusal in any range is the answer', async () => {
    const { deps } = givenDeps(async () => result({}));
    const refused = range({ refusal: { status: 'SUCCESS', reason: 'CloudFormation does not confirm this deletion.', attempted: false } });
    expect((await confirmTeardown(run(), confirmState([range({}), refused]), deps, TIMING)).verdict).toEqual(refused.refusal);
  });
});

describe('Answer', () => {
  test('sends the verdict once and emits the teardown metrics', async () => {
    const { deps } = givenDeps(async () => result({}));
    const respond = jest.fn(async () => undefined);
    const publishMetrics = jest.fn();
    const totals = addPass(NO_TOTALS, [rangeResultOf(0, result({ deleted: 4 }), 2, false)]);
    const answered = await answerTeardown(run(), { pass: 1, totals, verdict: { status: 'SUCCESS', reason: 'Purged.', attempted: true } }, { ...deps, respond, publishMetrics });
    expect(answered).toEqual({ status: 'SUCCESS', reason: 'Purged.' });
    expect(respond).toHaveBeenCalledWith(deleteEvent(), { Status: 'SUCCESS', Reason: 'Purged.', PhysicalResourceId: PHYSICAL_ID });
    expect(publishMetrics).toHaveBeenCalledWith(expect.objectContaining({ bucket: BUCKET, versionsDeleted: 4, invocations: 2, failed: false }));
  });

  test('a caught error is answered FAILED with its cause', async () => {
    const { deps } = givenDeps(async () => result({}));
    const respond = jest.fn(async () => undefined);
    await answerTeardown(run(), { pass: 1, error: { Error: 'States.DataLimitExceeded', Cause: 'The state/task returned a result exceeding the limit' } }, { ...deps, respond, publishMetrics: jest.fn() });
    expect(respond).toHaveBeenCalledWith(expect.anything(), expect.objectContaining({ Status: 'FAILED', Reason: expect.stringMatching(/^The purge workflow failed: States.DataLimitExceeded: The state\/task returned/) }));
  });

  test('a refusal emits no metrics', async () => {
    const { deps } = givenDeps(async () => result({}));
    const publishMetrics = jest.fn();
    await answerTeardown(run(), { verdict: { status: 'SUCCESS', reason: 'Not ours.', attempted: false } }, { ...deps, respond: async () => undefined, publishMetrics });
    expect(publishMetrics).not.toHaveBeenCalled();
  });

  test('rejects when the answer could not be delivered, so that the Task retries', async () => {
    const { deps } = givenDeps(async () => result({}));
    const respond = jest.fn(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    await expect(
      answerTeardown(run(), { verdict: { status: 'SUCCESS', reason: 'x', attempted: true } }, { ...deps, respond, publishMetrics: jest.fn() }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

function confirmState(results: TeardownRangeResult[]) {
  return { next: 'ranges' as const, pass: 1, totals: NO_TOTALS, ranges: [], results };
}

function deleteEvent(props: Record<string, string> = {}): CfnDeleteEvent {
  return {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: STACK_ID,
    RequestId: 'r1',
    LogicalResourceId: 'Purger',
    ResourceType: 'Custom::VersionPurger',
    ResourceProperties: { BucketName: BUCKET, OwnerId: OWNER, ServiceTimeout: '3600', ...props },
    PhysicalResourceId: PHYSICAL_ID,
  };
}

function run(props: Record<string, string> = {}): TeardownExecutionInput {
  return { kind: 'teardown', v: 1, event: deleteEvent(props), startedAt: T0, fenced: true };
}

function givenDeps(engine: (o: PurgeOptions) => Promise<PurgeResult>, clock = { now: T0 }) {
  const purge = jest.fn(engine);
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const deps: TeardownDeps = {
    s3: new S3Client({ region: 'us-east-1' }),
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    purge,
    logger: quiet,
    partition: 'aws',
    logLocation: '/aws/lambda/f s1',
    now: () => clock.now,
  };
  return { deps, purge };
}

function tokenWith(deleted: number): ResumeToken {
  return {
    v: 2,
    bucket: BUCKET,
    mode: 'purge',
    pass: 1,
    counts: { listed: deleted, selected: deleted, deleted, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 },
    errors: [],
    streams: [],
  } as unknown as ResumeToken;
}

function result(partial: Partial<PurgeResult>): PurgeResult {
  return purgeResult({ bucket: BUCKET, mode: 'purge', ...partial });
}

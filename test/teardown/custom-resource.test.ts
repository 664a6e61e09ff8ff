import {
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { CfnDeleteEvent, CfnUpdateEvent } from '../../lambda/teardown/cfn-response';
import type { PurgeOptions, PurgeResult } from '../../lambda/engine/purge-types';
import { onCreate, onDelete, onUpdate } from '../../lambda/teardown/custom-resource';
import type { TeardownDeps } from '../../lambda/teardown/deps';
import { composeReason, failedPurgeReason } from '../../lambda/teardown/reasons';
import { readSettings } from '../../lambda/teardown/settings';
import { withFenceStatement } from '../../lambda/teardown/write-fence';
import { givenStackDeleting, STACK_ID } from '../support/cloudformation-mock';
import { purgeResult } from '../support/purge-results';

const s3 = mockClient(S3Client);
const cfn = mockClient(CloudFormationClient);
const BUCKET = 'data-bucket';
/** The owner id the bucket's tag and the resource's properties share. */
const OWNER = 'c8owner';
const PHYSICAL_ID = `version-purger:${BUCKET}:${OWNER}`;
const T0 = 1_700_000_000_000;

beforeEach(() => {
  s3.reset();
  cfn.reset();
  givenStackDeleting(cfn, PHYSICAL_ID);
  s3.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'cdk-version-purger:purge-on-delete', Value: OWNER }] });
  s3.on(GetBucketPolicyCommand).rejects(Object.assign(new Error('none'), { name: 'NoSuchBucketPolicy' }));
  s3.on(PutBucketPolicyCommand).resolves({});
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [], DeleteMarkers: [], IsTruncated: false });
});

describe('readSettings', () => {
  test('reads CloudFormation\'s string booleans and the service timeout', () => {
    expect(
      readSettings({ BucketName: 'b', PurgeOnDelete: 'false', FenceWrites: 'false', BypassGovernanceRetention: 'true', ServiceTimeout: '600' }),
    ).toEqual({ bucket: 'b', purgeOnDelete: false, fenceWrites: false, bypassGovernanceRetention: true, serviceTimeoutSeconds: 600 });
  });

  test('defaults to purging, fencing, no bypass and 3,600 s', () => {
    expect(readSettings({ BucketName: 'b' })).toEqual({
      bucket: 'b',
      purgeOnDelete: true,
      fenceWrites: true,
      bypassGovernanceRetention: false,
      serviceTimeoutSeconds: 3600,
    });
  });

  test('requires a bucket name', () => {
    expect(() => readSettings({})).toThrow(/no BucketName/);
  });
});

describe('withFenceStatement', () => {
  const fence = { Sid: 'VersionPurgerDenyWrites', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws-cn:s3:::b/*' };

  test('creates a policy when the bucket has none', () => {
    expect(JSON.parse(withFenceStatement(undefined, 'b', 'aws-cn')!)).toEqual({ Version: '2012-10-17', Statement: [fence] });
  });

  test('keeps every other statement, also a lone statement object', () => {
    const other = { Sid: 'Other', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::1:root' }, Action: 's3:GetObject', Resource: '*' };
    const policy = JSON.stringify({ Version: '2012-10-17', Id: 'keep', Statement: other });
    expect(JSON.parse(withFenceStatement(policy, 'b', 'aws-cn')!)).toEqual({ Version: '2012-10-17', Id: 'keep', Statement: [other, fence] });
  });

  test('adds nothing when the fence is already there', () => {
    const policy = JSON.parse(withFenceStatement(undefined, 'b', 'aws-cn')!);
    expect(withFenceStatement(JSON.stringify(policy), 'b', 'aws-cn')).toBeUndefined();
  });
});

describe('composeReason', () => {
  test('lists what fits and counts the rest', () => {
    const reason = composeReason('Head:', ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)], 'Tail.', 100, 10);
    expect(reason).toBe(`Head: ${'a'.repeat(40)}; and 9 more. Tail.`);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(100);
  });

  test('names every failure it can, with code and shortened key', () => {
    const reason = failedPurgeReason('b', {
      deleted: 5,
      deleteMarkersDeleted: 1,
      failed: 2,
      errors: [
        { key: 'k'.repeat(500), versionId: 'v1', code: 'AccessDenied', message: 'Access Denied: COMPLIANCE retention until 2030-01-01T00:00:00.000Z' },
        { key: 'x', versionId: 'v2', code: 'InternalError', message: 'We encountered an internal error.' },
      ],
    });
    expect(reason).toMatch(/^Could not empty bucket b: 2 versions could not be deleted \(6 versions and delete markers deleted\)\. First failures:/);
    expect(reason).toMatch(/"k{59}…k{59}" \(version v1\): AccessDenied - Access Denied: COMPLIANCE/);
    expect(reason).toMatch(/"x" \(version v2\): InternalError/);
    expect(reason).toMatch(/cannot be bypassed/);
  });
});

describe('onCreate', () => {
  test('answers with a physical id derived from the bucket name', () => {
    const event = { ...deleteEvent(), RequestType: 'Create' as const };
    expect(onCreate(event)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PHYSICAL_ID });
  });
});

describe('onDelete', () => {
  test('after the checks and the fence, hands the purge to the workflow and deletes nothing itself', async () => {
    // GIVEN
    const { deps, purge } = givenDeps(async () => result({}));

    // WHEN
    const outcome = await onDelete(deleteEvent(), deps);

    // THEN
    expect(outcome).toEqual({ kind: 'start', input: { kind: 'teardown', v: 1, event: deleteEvent(), startedAt: T0, fenced: true } });
    expect(purge).not.toHaveBeenCalled();
    expect(s3.commandCalls(PutBucketPolicyCommand)).toHaveLength(1);
  });

  test('with fenceWrites false, starts the workflow unfenced and writes no policy', async () => {
    const { deps } = givenDeps(async () => result({}));
    const outcome = await onDelete(deleteEvent({ FenceWrites: 'false' }), deps);
    expect(outcome).toMatchObject({ kind: 'start', input: { fenced: false } });
    expect(s3.commandCalls(PutBucketPolicyCommand)).toHaveLength(0);
  });

  test('deletes nothing and answers FAILED when the tags cannot be read', async () => {
    // GIVEN
    const { deps, purge } = givenDeps(async () => result({}));
    s3.on(GetBucketTaggingCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    // WHEN
    const outcome = await onDelete(deleteEvent(), deps);

    // THEN
    expect(purge).not.toHaveBeenCalled();
    expect(outcome).toMatchObject({ kind: 'answer', answer: { Status: 'FAILED', Reason: expect.stringMatching(/AccessDenied.*Nothing was deleted/) } });
    expect(s3.commandCalls(PutBucketPolicyCommand)).toHaveLength(0);
  });

  test('ignores the Delete that follows a failed Create', async () => {
    const { deps, purge } = givenDeps(async () => result({}));
    const outcome = await onDelete({ ...deleteEvent(), PhysicalResourceId: 'VersionPurger::CREATE_FAILED' }, deps);
    expect(purge).not.toHaveBeenCalled();
    expect(outcome).toMatchObject({ kind: 'answer', answer: { Status: 'SUCCESS' } });
  });
});

/** A Delete event for {@link BUCKET}, with property overrides. */
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

/** Teardown dependencies with a stub engine and a settable clock. */
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

function result(partial: Partial<PurgeResult>): PurgeResult {
  return purgeResult({ bucket: BUCKET, mode: 'purge', ...partial });
}

describe('onUpdate', () => {
  const update = (bucket: string, oldBucket: string): CfnUpdateEvent => ({
    RequestType: 'Update',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: STACK_ID,
    RequestId: 'u1',
    LogicalResourceId: 'Purger',
    ResourceType: 'Custom::VersionPurger',
    ResourceProperties: { BucketName: bucket, OwnerId: OWNER },
    OldResourceProperties: { BucketName: oldBucket, OwnerId: OWNER },
    PhysicalResourceId: `version-purger:${oldBucket}:${OWNER}`,
  });

  test('keeps the physical id when the bucket is the same', () => {
    expect(onUpdate(update('a', 'a'))).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `version-purger:a:${OWNER}` });
  });

  test('answers the new bucket\'s id when the bucket changed, so that the old one is deleted after the update', () => {
    expect(onUpdate(update('b', 'a'))).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: `version-purger:b:${OWNER}`,
      Reason: expect.stringMatching(/changed from a to b; nothing was deleted/),
    });
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('a Delete whose properties do not spell its physical id', () => {
  test.each([
    ['another bucket', { BucketName: 'live-bucket' }],
    ['another owner (the live purger\'s, after a rename)', { OwnerId: 'c8newowner' }],
  ])('is refused before anything is asked or deleted: %s', async (_case, props) => {
    // GIVEN a real deletion in progress of PHYSICAL_ID, borrowed by a forged event with other properties
    const { deps, purge } = givenDeps(async () => result({}));
    s3.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'cdk-version-purger:purge-on-delete', Value: 'c8newowner' }] });

    // WHEN
    const outcome = await onDelete(deleteEvent(props), deps);

    // THEN
    expect(outcome).toEqual({
      kind: 'answer',
      answer: expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/do not match its physical id/) }),
    });
    expect(purge).not.toHaveBeenCalled();
    expect(s3.commandCalls(PutBucketPolicyCommand)).toHaveLength(0);
    expect(cfn.calls()).toHaveLength(0);
  });
});

import {
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { purgeBucket } from '../../../lambda/engine/purge-engine';
import type { ResumeToken } from '../../../lambda/engine/purge-types';

const s3 = mockClient(S3Client);
const client = () => new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
const LOCKED = 'Access Denied because object protected by object lock.';

beforeEach(() => {
  s3.reset();
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  s3.on(GetObjectLockConfigurationCommand).resolves({ ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } });
  s3.on(GetObjectRetentionCommand).resolves({ Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date('2099-01-01T00:00:00Z') } });
  s3.on(GetObjectLegalHoldCommand).resolves({ LegalHold: { Status: 'OFF' } });
});

describe('Object Lock explanations', () => {
  test('a resumed run explains only its own failures, not again those carried in the token', async () => {
    // GIVEN a token from a run that already explained one failure, and one more locked version to list
    const explained = `${LOCKED}: COMPLIANCE retention until 2099-01-01T00:00:00.000Z`;
    const token: ResumeToken = {
      v: 2,
      bucket: 'bkt',
      mode: 'purge',
      dryRun: false,
      prefixes: '',
      policy: null,
      pass: 1,
      elapsedMs: 1000,
      counts: { listed: 1, selected: 1, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 1 },
      errors: [{ key: 'first', versionId: 'v1', code: 'AccessDenied', message: explained }],
      streams: [{ s: 0, k: 'first', i: 'v1' }],
      passStart: { listed: 0, deleted: 0 },
    };
    s3.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: 'second', VersionId: 'v2', IsLatest: true, LastModified: new Date(0), Size: 1 }],
      IsTruncated: false,
    });
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'second', VersionId: 'v2', Code: 'AccessDenied', Message: LOCKED }] });
    // WHEN
    const result = await purgeBucket({ client: client(), bucket: 'bkt', resumeToken: token, maxPasses: 1 });
    // THEN
    expect(result.errors.map((e) => e.message)).toEqual([explained, `${LOCKED}: COMPLIANCE retention until 2099-01-01T00:00:00.000Z`]);
    expect(s3.commandCalls(GetObjectRetentionCommand)).toHaveLength(1);
  });
});

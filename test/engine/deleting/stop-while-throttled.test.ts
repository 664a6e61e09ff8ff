import {
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { BatchDeleter } from '../../../lambda/engine/deleting/batch-deleter';
import { purgeBucket } from '../../../lambda/engine/purge-engine';
import { RateController } from '../../../lambda/engine/deleting/rate-controller';
import type { VersionEntry } from '../../../lambda/engine/types';

const s3 = mockClient(S3Client);
const client = () => new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
const entries = (n: number, p: string): VersionEntry[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${p}${i}`, versionId: `v${i}`, isDeleteMarker: false, isLatest: true, lastModified: new Date(0), size: 1 }));

beforeEach(() => {
  s3.reset();
  jest.spyOn(Math, 'random').mockReturnValue(0);
});
afterEach(() => jest.restoreAllMocks());

describe('stopping while S3 throttles', () => {
  test('a listing still throttled when the deadline passes ends the run with a resume token instead of rejecting', async () => {
    // GIVEN a listing that always answers 503, and a clock that jumps past the deadline at the 3rd call
    const realNow = Date.now.bind(Date);
    let skew = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    const deadline = Date.now() + 60_000;
    s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    s3.on(GetObjectLockConfigurationCommand).rejects(s3Error('ObjectLockConfigurationNotFoundError', 404));
    s3.on(ListObjectsV2Command).resolves({});
    s3.on(ListMultipartUploadsCommand).resolves({});
    const callsAfterDeadline: number[] = [];
    let calls = 0;
    s3.on(ListObjectVersionsCommand).callsFake(async () => {
      calls++;
      if (Date.now() >= deadline) callsAfterDeadline.push(calls);
      if (calls === 3) skew += 120_000;
      throw s3Error('SlowDown', 503);
    });
    // WHEN
    const result = await purgeBucket({ client: client(), bucket: 'bkt', deadline, listConcurrency: 1 });
    // THEN
    expect(result.resumeToken).not.toBeNull();
    expect(callsAfterDeadline).toEqual([]);
  });

  test('a batch waiting in the pacer when the signal aborts is kept pending, not sent after the abort', async () => {
    // GIVEN two full batches at 2,000 keys/s: the second waits 500 ms in the pacer
    const controller = new AbortController();
    const sentAfterAbort: number[] = [];
    let calls = 0;
    s3.on(DeleteObjectsCommand).callsFake(async () => {
      calls++;
      if (controller.signal.aborted) sentAfterAbort.push(calls);
      return {};
    });
    let deleted = 0;
    const deleter = new BatchDeleter({
      client: client(), bucket: 'bkt', concurrency: 4, bypassGovernanceRetention: false, hardStopAt: Infinity,
      signal: controller.signal, onDeleted: () => deleted++, onFailed: () => undefined, onThrottled: () => undefined,
    });
    const rate = new RateController({ initialRate: 2000 });
    await deleter.submit(entries(1000, 'a'), rate);
    await deleter.submit(entries(1000, 'b'), rate);
    // WHEN
    controller.abort();
    await deleter.drain();
    // THEN
    expect(sentAfterAbort).toEqual([]);
    expect(deleter.pending.length).toBeGreaterThanOrEqual(1000);
    expect(deleted + deleter.pending.length).toBe(2000);
  });

  test('a batch waiting in the pacer when the hard stop passes is kept pending, not sent after the deadline', async () => {
    // GIVEN
    const hardStopAt = Date.now() + 100;
    const sentAt: number[] = [];
    s3.on(DeleteObjectsCommand).callsFake(async () => {
      sentAt.push(Date.now());
      return {};
    });
    let deleted = 0;
    const deleter = new BatchDeleter({
      client: client(), bucket: 'bkt', concurrency: 4, bypassGovernanceRetention: false, hardStopAt,
      onDeleted: () => deleted++, onFailed: () => undefined, onThrottled: () => undefined,
    });
    const rate = new RateController({ initialRate: 2000 });
    // WHEN
    await deleter.submit(entries(1000, 'a'), rate);
    await deleter.submit(entries(1000, 'b'), rate);
    await deleter.drain();
    // THEN
    expect(sentAt.filter((t) => t >= hardStopAt)).toEqual([]);
    expect(deleted + deleter.pending.length).toBe(2000);
  });
});

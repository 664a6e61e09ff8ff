/**
 * Error paths and paging of the upload sweep against a mocked S3 client.
 * moto answers ListMultipartUploads in one page whatever the number of
 * uploads (it implements no max-uploads or markers), so paging by KeyMarker
 * and UploadIdMarker is checked here; the sweep itself is proven against moto
 * in uploads.integ.test.ts.
 */
import {
  AbortMultipartUploadCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { purgeBucket } from '../../../lambda/engine/purge-engine';
import { type AbortFailure, sweepUploads, type UploadEntry, type UploadSweepOptions } from '../../../lambda/engine/uploads/upload-sweep';
import { checkResumeToken, runIdentity } from '../../../lambda/engine/resume-token';

const s3 = mockClient(S3Client);
const BUCKET = 'bkt';

function newClient(): S3Client {
  return new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
}

function s3Error(name: string, httpStatusCode: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message: `${name} (test)` });
}

const upload = (key: string, id: string) => ({ Key: key, UploadId: id, Initiated: new Date('2025-01-01T00:00:00Z') });

/** Runs a sweep of the whole bucket that chooses every upload, recording what it reports. */
async function sweep(client: S3Client, overrides: Partial<UploadSweepOptions> = {}) {
  const selected: UploadEntry[] = [];
  const aborted: string[] = [];
  const failed: AbortFailure[] = [];
  const end = await sweepUploads({
    client,
    bucket: BUCKET,
    prefix: '',
    select: () => true,
    dryRun: false,
    stopped: () => false,
    onSelected: (u) => selected.push(u),
    onAborted: (u) => aborted.push(`${u.key}#${u.uploadId}`),
    onFailed: (f) => failed.push(f),
    ...overrides,
  });
  return { end, selected, aborted: aborted.sort(), failed };
}

beforeEach(() => {
  s3.reset();
});

describe('sweepUploads', () => {
  test('follows KeyMarker and UploadIdMarker page by page, decoding url-encoded keys and markers', async () => {
    // GIVEN two pages; the second asked for with the first's next markers
    s3.on(ListMultipartUploadsCommand, { KeyMarker: undefined })
      .resolves({ EncodingType: 'url', Uploads: [upload('a+b', 'u1'), upload('c%25d', 'u2')], IsTruncated: true, NextKeyMarker: 'c%25d', NextUploadIdMarker: 'u2' });
    s3.on(ListMultipartUploadsCommand, { KeyMarker: 'c%d', UploadIdMarker: 'u2' }).resolves({ Uploads: [upload('e', 'u3')], IsTruncated: false });
    s3.on(AbortMultipartUploadCommand).resolves({});
    // WHEN
    const { end, aborted } = await sweep(newClient());
    // THEN
    expect(end).toEqual({ kind: 'done' });
    expect(aborted).toEqual(['a b#u1', 'c%d#u2', 'e#u3']);
    expect(s3.commandCalls(ListMultipartUploadsCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ Bucket: BUCKET, EncodingType: 'url', KeyMarker: undefined, UploadIdMarker: undefined }),
      expect.objectContaining({ Bucket: BUCKET, KeyMarker: 'c%d', UploadIdMarker: 'u2' }),
    ]);
  });

  test('reports an upload that cannot be aborted with its key, upload id and code, and aborts the others', async () => {
    // GIVEN
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('denied', 'u1'), upload('ok', 'u2')], IsTruncated: false });
    s3.on(AbortMultipartUploadCommand, { Key: 'denied' }).rejects(s3Error('AccessDenied', 403));
    s3.on(AbortMultipartUploadCommand, { Key: 'ok' }).resolves({});
    // WHEN
    const { end, aborted, failed } = await sweep(newClient());
    // THEN
    expect(end).toEqual({ kind: 'done' });
    expect(aborted).toEqual(['ok#u2']);
    expect(failed).toEqual([{ key: 'denied', uploadId: 'u1', code: 'AccessDenied', message: 'AccessDenied (test)' }]);
  });

  test('an abort still failing with 500 after the client\'s retries is reported once, and the sweep does not retry it again', async () => {
    // GIVEN an abort that always fails (the client's retry policy, tested in test/engine/s3/, has already retried it)
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('x', 'u1')], IsTruncated: false });
    s3.on(AbortMultipartUploadCommand).rejects(s3Error('InternalError', 500));
    // WHEN
    const { end, failed } = await sweep(newClient());
    // THEN
    expect(end).toEqual({ kind: 'done' });
    expect(failed).toEqual([expect.objectContaining({ key: 'x', uploadId: 'u1', code: 'InternalError' })]);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  test('an upload already gone (NoSuchUpload) is neither aborted nor failed', async () => {
    // GIVEN
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('x', 'u1')], IsTruncated: false });
    s3.on(AbortMultipartUploadCommand).rejects(s3Error('NoSuchUpload', 404));
    // WHEN
    const { aborted, failed } = await sweep(newClient());
    // THEN
    expect(aborted).toEqual([]);
    expect(failed).toEqual([]);
  });

  test('a dry run chooses and sends no AbortMultipartUpload', async () => {
    // GIVEN
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('x', 'u1'), upload('y', 'u2')], IsTruncated: false });
    // WHEN
    const { selected } = await sweep(newClient(), { dryRun: true });
    // THEN
    expect(selected.map((u) => u.key)).toEqual(['x', 'y']);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });

  test('a listing denied rejects; a listing that keeps failing is a fault; a missing bucket and a store without uploads end it', async () => {
    s3.on(ListMultipartUploadsCommand).rejects(s3Error('AccessDenied', 403));
    await expect(sweep(newClient())).rejects.toMatchObject({ name: 'AccessDenied' });

    s3.reset();
    s3.on(ListMultipartUploadsCommand).rejects(s3Error('InternalError', 500));
    expect((await sweep(newClient())).end).toEqual({ kind: 'fault', fault: { operation: 'ListMultipartUploads', code: 'InternalError', message: 'InternalError (test)' } });

    s3.reset();
    s3.on(ListMultipartUploadsCommand).rejects(s3Error('NoSuchBucket', 404));
    expect((await sweep(newClient())).end).toEqual({ kind: 'missing' });

    s3.reset();
    s3.on(ListMultipartUploadsCommand).rejects(s3Error('NotImplemented', 501));
    expect((await sweep(newClient())).end).toEqual({ kind: 'done' });
  });

  test('a stopped run sends nothing more', async () => {
    // GIVEN
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('x', 'u1')], IsTruncated: false });
    // WHEN
    const { end } = await sweep(newClient(), { stopped: () => true });
    // THEN
    expect(end).toEqual({ kind: 'stopped' });
    expect(s3.commandCalls(ListMultipartUploadsCommand)).toHaveLength(0);
  });
});

describe('purgeBucket with uploads that cannot be aborted', () => {
  function givenEmptyVersionedBucket(): void {
    s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    s3.on(GetObjectLockConfigurationCommand).rejects(s3Error('ObjectLockConfigurationNotFoundError', 404));
    s3.on(ListObjectsV2Command).resolves({});
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false });
  }

  test('reports the failures in the result, apart from entry failures, and counts the aborted ones', async () => {
    // GIVEN
    givenEmptyVersionedBucket();
    s3.on(ListMultipartUploadsCommand).resolves({ Uploads: [upload('locked', 'u1'), upload('fine', 'u2')], IsTruncated: false });
    s3.on(AbortMultipartUploadCommand, { Key: 'locked' }).rejects(s3Error('AccessDenied', 403));
    s3.on(AbortMultipartUploadCommand, { Key: 'fine' }).resolves({});
    // WHEN
    const result = await purgeBucket({ client: newClient(), bucket: BUCKET });
    // THEN
    expect(result).toMatchObject({ uploadsSelected: 2, uploadsAborted: 1, uploadsFailed: 1, failed: 0, resumeToken: null });
    expect(result.uploadErrors).toEqual([{ key: 'locked', uploadId: 'u1', code: 'AccessDenied', message: 'AccessDenied (test)' }]);
  });

  test('a sweep cut short leaves a token that sweeps again first, counting each upload once', async () => {
    // GIVEN a run stopped (signal) while its first abort is in flight
    givenEmptyVersionedBucket();
    const uploads = [upload('a', 'u1'), upload('b', 'u2'), upload('c', 'u3')];
    const stop = new AbortController();
    s3.on(ListMultipartUploadsCommand).callsFake(async () => ({ Uploads: [...uploads], IsTruncated: false }));
    s3.on(AbortMultipartUploadCommand).callsFake(async (input: { Key: string }) => {
      uploads.splice(uploads.findIndex((u) => u.Key === input.Key), 1);
      stop.abort();
      return {};
    });
    // WHEN
    const first = await purgeBucket({ client: newClient(), bucket: BUCKET, signal: stop.signal });
    const second = await purgeBucket({ client: newClient(), bucket: BUCKET, resumeToken: first.resumeToken });
    // THEN
    expect(first.resumeToken).toMatchObject({ sweepPending: true, uploads: { uploadsAborted: first.uploadsAborted } });
    expect(second).toMatchObject({ uploadsSelected: 3, uploadsAborted: 3, uploadsFailed: 0, resumeToken: null });
    expect(uploads).toEqual([]);
  });

  test('a dry run stopped during its sweep selects each upload once over the resumed run', async () => {
    // GIVEN a dry run stopped while its listing is answered
    givenEmptyVersionedBucket();
    const stop = new AbortController();
    s3.on(ListMultipartUploadsCommand).callsFake(async () => {
      stop.abort();
      return { Uploads: [upload('a', 'u1'), upload('b', 'u2')], IsTruncated: false };
    });
    // WHEN
    const first = await purgeBucket({ client: newClient(), bucket: BUCKET, dryRun: true, signal: stop.signal });
    const second = await purgeBucket({ client: newClient(), bucket: BUCKET, dryRun: true, resumeToken: first.resumeToken });
    // THEN
    expect(first.resumeToken).toMatchObject({ sweepPending: true, uploads: { uploadsSelected: 0 } });
    expect(second).toMatchObject({ uploadsSelected: 2, uploadsAborted: 0, resumeToken: null });
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });
});

describe('resume tokens and the upload rule', () => {
  test('a retention token records the upload rule, and a run under another rule refuses it', () => {
    // GIVEN
    const base = { bucket: BUCKET, mode: 'retain' as const, dryRun: false, scopes: [''] };
    const written = runIdentity({ ...base, policy: { keepNoncurrentVersions: 1, abortIncompleteUploadsOlderThanMs: 60_000 } });
    const token = { v: 2, ...written, pass: 1, elapsedMs: 1, counts: { listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 }, passStart: { listed: 0, deleted: 0 }, errors: [], streams: [] };
    // WHEN / THEN
    expect(written.policy?.abortIncompleteUploadsOlderThanMs).toBe(60_000);
    expect(() => checkResumeToken(token, written, 1)).not.toThrow();
    const other = runIdentity({ ...base, policy: { keepNoncurrentVersions: 1, abortIncompleteUploadsOlderThanMs: 60_001 } });
    expect(() => checkResumeToken(token, other, 1)).toThrow(/policy\.abortIncompleteUploadsOlderThanMs differs/);
    const without = runIdentity({ ...base, policy: { keepNoncurrentVersions: 1 } });
    expect(() => checkResumeToken(token, without, 1)).toThrow(/policy\.abortIncompleteUploadsOlderThanMs differs/);
  });

  test('a token with malformed upload fields is refused', () => {
    const identity = runIdentity({ bucket: BUCKET, mode: 'purge', dryRun: false, scopes: [''] });
    const token = { v: 2, ...identity, pass: 1, elapsedMs: 1, counts: { listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 }, passStart: { listed: 0, deleted: 0 }, errors: [], streams: [] };
    expect(() => checkResumeToken({ ...token, uploads: { uploadsSelected: -1, uploadsAborted: 0, uploadsFailed: 0 } }, identity, 1)).toThrow(/"uploads"/);
    expect(() => checkResumeToken({ ...token, uploadErrors: [{ key: 'k' }] }, identity, 1)).toThrow(/"uploadErrors"/);
    expect(() => checkResumeToken({ ...token, sweepPending: 'yes' }, identity, 1)).toThrow(/"sweepPending"/);
  });
});

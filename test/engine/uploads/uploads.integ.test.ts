/**
 * Incomplete multipart uploads against moto: a purge aborts them all, a dry
 * run none, retention only the old ones in scope, and a purge's confirming
 * pass finds one started while it ran.
 *
 * moto reports every upload as initiated on 2010-11-10T20:48:33Z (see
 * /work/shared/s3-facts.md), so retention ages are set through `asOf`
 * relative to that instant; the product reads S3's `Initiated` as it comes.
 */
import {
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { purgeBucket } from '../../../lambda/engine/purge-engine';
import { createS3Client } from '../../../lambda/engine/s3/s3-client';
import type { RetentionPolicy } from '../../../lambda/engine/retention-policy';
import { retentionSelector } from '../../../lambda/retention/selector';
import { retentionUploadSelector } from '../../../lambda/retention/upload-selector';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../../support/s3';

/** When moto says every upload was initiated. */
const MOTO_INITIATED_MS = Date.parse('2010-11-10T20:48:33.000Z');

let setup: S3Client;
const engineClient = () => createS3Client({ endpoint: testEndpoint(), region: 'us-east-1' });

beforeAll(() => {
  setup = testClient();
});

/** Starts a multipart upload of `key` and stores one part of it; returns its upload id. */
async function startUpload(client: S3Client, bucket: string, key: string): Promise<string> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: 'part' }));
  return UploadId!;
}

/** Keys of the bucket's incomplete uploads, sorted (moto lists them all in one page). */
async function uploadKeys(bucket: string): Promise<string[]> {
  const out = await setup.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => u.Key!).sort();
}

describe('incomplete multipart uploads in a purge', () => {
  test('a purge aborts every upload, leaves nothing, and the bucket can then be deleted', async () => {
    // GIVEN: versions, and uploads at the top level and in folders
    const bucket = await createBucket(setup, uniqueBucketName('mpu-purge'));
    await fill(setup, bucket, ['a', 'b/1'], 2);
    for (const key of ['big.bin', 'b/part.bin', 'c/deep/x.bin']) await startUpload(setup, bucket, key);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(result).toMatchObject({ uploadsSelected: 3, uploadsAborted: 3, uploadsFailed: 0, uploadErrors: [], deleted: 4, failed: 0 });
    expect(await uploadKeys(bucket)).toEqual([]);
    expect(await listAll(setup, bucket)).toEqual([]);
    await setup.send(new DeleteBucketCommand({ Bucket: bucket }));
    await expect(setup.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('a purge of some prefixes aborts the uploads under them only', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('mpu-prefix'));
    for (const key of ['logs/a.bin', 'logs/b.bin', 'data/keep.bin', 'logsx.bin']) await startUpload(setup, bucket, key);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket, prefixes: ['logs/'] });
    // THEN
    expect(result.uploadsAborted).toBe(2);
    expect(await uploadKeys(bucket)).toEqual(['data/keep.bin', 'logsx.bin']);
  });

  test('a dry run counts the uploads it would abort and aborts nothing', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('mpu-dry'));
    await fill(setup, bucket, ['a'], 1);
    for (const key of ['x.bin', 'y/z.bin']) await startUpload(setup, bucket, key);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket, dryRun: true });
    // THEN
    expect(result).toMatchObject({ uploadsSelected: 2, uploadsAborted: 0, uploadsFailed: 0, deleted: 0 });
    expect(await uploadKeys(bucket)).toEqual(['x.bin', 'y/z.bin']);
    expect(await listAll(setup, bucket)).toHaveLength(1);
  });

  test('an upload started while the purge deletes is found and aborted by the confirming pass', async () => {
    // GIVEN: a client that starts an upload just before the purge's first DeleteObjects,
    // after the first pass's sweep found no upload
    const bucket = await createBucket(setup, uniqueBucketName('mpu-late'));
    await fill(setup, bucket, ['a', 'b', 'c'], 2);
    const client = engineClient();
    let started: Promise<string> | undefined;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand') await (started ??= startUpload(setup, bucket, 'late/upload.bin'));
        return next(args);
      },
      { step: 'initialize', name: 'startUploadDuringPurge' },
    );
    // WHEN
    const result = await purgeBucket({ client, bucket, listConcurrency: 1 });
    // THEN
    expect(started).toBeDefined();
    expect(result.passes).toBeGreaterThanOrEqual(2);
    expect(result.uploadsAborted).toBe(1);
    expect(await uploadKeys(bucket)).toEqual([]);
    expect(await listAll(setup, bucket)).toEqual([]);
  });
});

describe('incomplete multipart uploads in a retention run', () => {
  /** Runs retention with `policy` as of `asOf`, the way the handler and the CLI do. */
  function retain(bucket: string, policy: RetentionPolicy, asOf: Date, dryRun = false) {
    return purgeBucket({
      client: engineClient(),
      bucket,
      mode: 'retain',
      dryRun,
      policy,
      prefixes: policy.prefixes,
      selector: retentionSelector(policy, asOf),
      abortUploads: retentionUploadSelector(policy, asOf),
    });
  }

  test('aborts the uploads old enough, to the millisecond, under the prefixes and not excluded', async () => {
    // GIVEN: uploads in and out of scope; every one initiated (for moto) at MOTO_INITIATED_MS
    const bucket = await createBucket(setup, uniqueBucketName('mpu-retain'));
    for (const key of ['logs/a.bin', 'logs/b.keep', 'logs/deep/c.bin', 'data/d.bin']) await startUpload(setup, bucket, key);
    const policy: RetentionPolicy = { abortIncompleteUploadsOlderThanMs: 3_600_000, prefixes: ['logs/'], exclude: ['**/*.keep'] };

    // WHEN: one millisecond too young
    const young = await retain(bucket, policy, new Date(MOTO_INITIATED_MS + 3_599_999));
    // THEN
    expect(young).toMatchObject({ uploadsSelected: 0, uploadsAborted: 0 });
    expect(await uploadKeys(bucket)).toHaveLength(4);

    // WHEN: exactly old enough
    const old = await retain(bucket, policy, new Date(MOTO_INITIATED_MS + 3_600_000));
    // THEN
    expect(old).toMatchObject({ uploadsSelected: 2, uploadsAborted: 2, uploadsFailed: 0 });
    expect(await uploadKeys(bucket)).toEqual(['data/d.bin', 'logs/b.keep']);
  });

  test('an upload-only policy deletes no version or delete marker; a dry run aborts nothing', async () => {
    // GIVEN: noncurrent versions and an old upload
    const bucket = await createBucket(setup, uniqueBucketName('mpu-only'));
    await fill(setup, bucket, ['k'], 3);
    await startUpload(setup, bucket, 'k.bin');
    const policy: RetentionPolicy = { abortIncompleteUploadsOlderThanMs: 0 };
    const asOf = new Date(MOTO_INITIATED_MS + 1);

    // WHEN
    const dry = await retain(bucket, policy, asOf, true);
    // THEN
    expect(dry).toMatchObject({ uploadsSelected: 1, uploadsAborted: 0, selected: 0 });
    expect(await uploadKeys(bucket)).toEqual(['k.bin']);

    // WHEN
    const real = await retain(bucket, policy, asOf);
    // THEN
    expect(real).toMatchObject({ uploadsAborted: 1, deleted: 0, deleteMarkersDeleted: 0 });
    expect(await uploadKeys(bucket)).toEqual([]);
    expect(await listAll(setup, bucket)).toHaveLength(3);
  });

  test('without the upload rule, retention leaves uploads alone', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('mpu-norule'));
    await startUpload(setup, bucket, 'x.bin');
    // WHEN
    const result = await retain(bucket, { keepNoncurrentVersions: 0 }, new Date());
    // THEN
    expect(result).toMatchObject({ uploadsSelected: 0, uploadsAborted: 0 });
    expect(await uploadKeys(bucket)).toEqual(['x.bin']);
  });
});

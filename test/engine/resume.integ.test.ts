/**
 * A retention run stopped after some deletions and resumed from its token,
 * against moto. The resumed run lists again after the last entry it had
 * settled, which it deleted: S3 carries on from a VersionIdMarker whose
 * version is gone, moto ends the listing there (/work/shared/s3-facts.md).
 * The product follows S3; these tests go through MotoMarkerShim, which makes
 * moto carry on as S3 does, and check that the shim was needed.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import { RateController } from '../../lambda/engine/deleting/rate-controller';
import type { PurgeOptions, PurgeResult } from '../../lambda/engine/purge-types';
import type { RetentionPolicy } from '../../lambda/engine/retention-policy';
import { retentionSelector } from '../../lambda/retention/selector';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { MotoMarkerShim } from '../support/moto-marker-shim';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

let setup: S3Client;
let shim: MotoMarkerShim;

beforeAll(async () => {
  setup = testClient();
  shim = new MotoMarkerShim(testEndpoint());
  await shim.start();
});
afterAll(() => shim.stop());

/** An engine client through the shim that aborts `signal` as its first DeleteObjects goes out (which still completes). */
function clientAbortingOnFirstDelete(abort: AbortController): S3Client {
  const client = createS3Client({ endpoint: shim.endpoint, region: 'us-east-1' });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteObjectsCommand') abort.abort();
      return next(args);
    },
    { step: 'initialize', name: 'abortOnFirstDelete' },
  );
  return client;
}

describe('a retention run resumed from its token', () => {
  test('stopped after its first batch, it finishes with exactly the survivors and totals of one uninterrupted run', async () => {
    // GIVEN 100 keys with 12 versions each: 1,100 noncurrent versions, so the first batch (as many keys as a
    // fresh rate controller asks for, fewer than 1,100) goes out while listing goes on
    const firstBatch = new RateController().batchKeys();
    expect(firstBatch).toBeLessThan(1100);
    const bucket = await createBucket(setup, uniqueBucketName('resume-ret'));
    const keys = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await fill(setup, bucket, keys, 12);
    const current = (await listAll(setup, bucket)).filter((e) => e.isLatest);
    const policy: RetentionPolicy = { keepNoncurrentVersions: 0 };
    const options = (client: S3Client, signal?: AbortSignal): PurgeOptions => ({
      client,
      bucket,
      mode: 'retain',
      policy,
      selector: retentionSelector(policy, new Date()),
      signal,
    });

    // WHEN a run is stopped as its first DeleteObjects goes out
    const abort = new AbortController();
    const first = await purgeBucket(options(clientAbortingOnFirstDelete(abort), abort.signal));

    // THEN it deleted that batch and stopped with a token that resumes after the batch's last (deleted) entry
    expect(first).toMatchObject({ deleted: firstBatch, failed: 0 });
    expect(first.resumeToken).not.toBeNull();
    expect(first.resumeToken!.streams).toEqual([expect.objectContaining({ k: expect.any(String), i: expect.any(String) })]);

    // WHEN it is resumed (through JSON)
    const rewritesBefore = shim.rewrites;
    const second: PurgeResult = await purgeBucket({
      ...options(createS3Client({ endpoint: shim.endpoint, region: 'us-east-1' })),
      resumeToken: JSON.parse(JSON.stringify(first.resumeToken)),
    });

    // THEN its listing started at a deleted version (moto alone would have ended it there)
    expect(shim.rewrites).toBeGreaterThan(rewritesBefore);
    // AND only each key's current version is left, checked by an independent listing
    expect((await listAll(setup, bucket)).map((e) => `${e.key}@${e.versionId}`).sort()).toEqual(current.map((e) => `${e.key}@${e.versionId}`).sort());
    // AND the totals are those of one run over the whole bucket
    expect(second).toMatchObject({ listed: 1200, selected: 1100, deleted: 1100, failed: 0, resumeToken: null });
    expect(second.durationMs).toBeGreaterThanOrEqual(first.durationMs);
  }, 120_000);
});

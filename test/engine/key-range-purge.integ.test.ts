/**
 * The engine restricted to one key range (PurgeOptions.range), as a workflow
 * slice runs it, against moto: it deletes exactly the range's versions,
 * resumes from its token inside the range, and refuses a token that reaches
 * outside the range.
 *
 * A range that starts after a key lists from a bare KeyMarker, and moto
 * drops the first entry after it (/work/shared/s3-facts.md; S3 does not).
 * The workflow's later passes list from the start of the bucket, which
 * catches it. The exact-count tests here use ranges that start at the
 * beginning; the one that starts after a key checks that nothing outside
 * the range is touched and allows for that one dropped entry.
 * Resumed capped runs go through MotoMarkerShim (moto ends a listing at a
 * VersionIdMarker whose version was deleted; S3 carries on).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import { ResumeTokenError } from '../../lambda/engine/resume-token';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { MotoMarkerShim } from '../support/moto-marker-shim';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

let s3: S3Client;
let shim: MotoMarkerShim;
beforeAll(async () => {
  s3 = testClient();
  shim = new MotoMarkerShim(testEndpoint());
  await shim.start();
});
afterAll(() => shim.stop());

async function bucketWithThreeFolders(): Promise<string> {
  const bucket = await createBucket(s3, uniqueBucketName('range'));
  await fill(s3, bucket, ['a/1', 'a/2', 'b/1', 'b/2', 'b/3', 'c/1'], 2);
  return bucket;
}

test('a run restricted to a range deletes every version in it and nothing outside it', async () => {
  // GIVEN three folders with two versions per key
  const bucket = await bucketWithThreeFolders();

  // WHEN the range (start, b/~] is purged ('~' sorts after the digits)
  const result = await purgeBucket({ client: s3, bucket, range: { prefix: '', through: 'b/~' } });

  // THEN exactly a/'s and b/'s ten versions are gone
  const left = await listAll(s3, bucket);
  expect(result.resumeToken).toBeNull();
  expect(result.deleted).toBe(10);
  expect(left.map((e) => e.key)).toEqual(['c/1', 'c/1']);
});

test('a range that starts after a key leaves the keys before it alone', async () => {
  // GIVEN three folders with two versions per key
  const bucket = await bucketWithThreeFolders();

  // WHEN the range (b/~, end) is purged
  await purgeBucket({ client: s3, bucket, range: { prefix: '', after: 'b/~' } });

  // THEN a/ and b/ are untouched; c/1 is gone but for the entry moto drops after a bare KeyMarker
  const left = await listAll(s3, bucket);
  expect(left.filter((e) => !e.key.startsWith('c/'))).toHaveLength(10);
  expect(left.filter((e) => e.key.startsWith('c/')).length).toBeLessThanOrEqual(1);
});

test('a stopped range run resumes from its token and ends with the same deletions as one uninterrupted run', async () => {
  // GIVEN a range run stopped before it did anything
  const bucket = await bucketWithThreeFolders();
  const range = { prefix: '', through: 'b/~' };
  const stopped = new AbortController();
  stopped.abort();
  const first = await purgeBucket({ client: s3, bucket, range, signal: stopped.signal });
  expect(first.resumeToken).not.toBeNull();
  expect(JSON.stringify(first.resumeToken).length).toBeLessThanOrEqual(8 * 1024);

  // WHEN it resumes from its token
  const second = await purgeBucket({ client: s3, bucket, range, resumeToken: first.resumeToken });

  // THEN the range is empty and nothing else was touched
  expect(second.resumeToken).toBeNull();
  expect(second.deleted).toBe(10);
  expect((await listAll(s3, bucket)).map((e) => e.key)).toEqual(['c/1', 'c/1']);
});

test('a token that reaches outside the range is refused before anything is deleted', async () => {
  // GIVEN a token of the range (a/~, b/~], with its end moved to the end of the bucket
  const bucket = await bucketWithThreeFolders();
  const range = { prefix: '', after: 'a/~', through: 'b/~' };
  const stopped = new AbortController();
  stopped.abort();
  const { resumeToken } = await purgeBucket({ client: s3, bucket, range, signal: stopped.signal });
  const forged = { ...resumeToken!, streams: resumeToken!.streams.map((s) => ({ ...s, t: 'z' })) };
  const before = await listAll(s3, bucket);

  // WHEN it is used for that range
  const run = purgeBucket({ client: s3, bucket, range, resumeToken: forged });

  // THEN it is refused and every version is still there
  await expect(run).rejects.toThrow(ResumeTokenError);
  await expect(run).rejects.toThrow(/another key range/);
  expect(await listAll(s3, bucket)).toHaveLength(before.length);
});

test('a range whose prefix is not one of the run’s prefixes is refused', async () => {
  const bucket = await bucketWithThreeFolders();
  await expect(purgeBucket({ client: s3, bucket, prefixes: ['a/'], range: { prefix: 'b/' } })).rejects.toThrow(/not one of the run's prefixes/);
});

test('a capped retention range run returns a token at the cap when asked to, and resumes to the end', async () => {
  // GIVEN a bucket with 6 keys of 3 versions (12 noncurrent)
  const bucket = await createBucket(s3, uniqueBucketName('range-cap'));
  await fill(s3, bucket, ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], 3);
  const { retentionSelector } = await import('../../lambda/retention/selector');
  const policy = { keepNoncurrentVersions: 0 };
  const client = createS3Client({ endpoint: shim.endpoint, region: 'us-east-1' });
  const options = { client, bucket, mode: 'retain' as const, policy, selector: retentionSelector(policy, new Date()), range: { prefix: '' }, resumableAtCap: true, concurrency: 1 };

  // WHEN a segment may select 5, and the next one (from its token) 5 more, then the rest
  const first = await purgeBucket({ ...options, maxDeletions: 5 });
  const second = await purgeBucket({ ...options, resumeToken: first.resumeToken, maxDeletions: first.selected + 5 });
  const third = await purgeBucket({ ...options, resumeToken: second.resumeToken, maxDeletions: second.selected + 5 });

  // THEN each stops exactly at its quota, and the last finishes with every noncurrent version gone
  expect(first.capReached).toBe(true);
  expect(first.selected).toBe(5);
  expect(first.resumeToken).not.toBeNull();
  expect(second.selected).toBe(10);
  expect(third.selected).toBe(12);
  expect(third.resumeToken).toBeNull();
  expect((await listAll(s3, bucket)).filter((e) => !e.isLatest)).toHaveLength(0);
});

test('a capped dry run resumed at each cap selects every entry exactly once and deletes nothing', async () => {
  // GIVEN a bucket with 6 keys of 3 versions (12 noncurrent)
  const bucket = await createBucket(s3, uniqueBucketName('range-dry'));
  await fill(s3, bucket, ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], 3);
  const { retentionSelector } = await import('../../lambda/retention/selector');
  const policy = { keepNoncurrentVersions: 0 };
  const options = { client: s3, bucket, mode: 'retain' as const, dryRun: true, policy, selector: retentionSelector(policy, new Date()), range: { prefix: '' }, resumableAtCap: true };
  const chosen: string[] = [];

  // WHEN it runs in segments of at most 5 selections, each from the last one's token
  let token = null;
  let selected = 0;
  for (let segment = 0; segment < 5; segment++) {
    const r = await purgeBucket({ ...options, resumeToken: token, maxDeletions: selected + 5, onSelected: (e) => chosen.push(`${e.key}@${e.versionId}`) });
    token = r.resumeToken;
    selected = token ? token.counts.selected : r.selected;
    if (!token) break;
  }

  // THEN the totals count each noncurrent version once, and every version is still there
  expect(token).toBeNull();
  expect(selected).toBe(12);
  expect(new Set(chosen).size).toBe(12);
  expect(await listAll(s3, bucket)).toHaveLength(18);
});

/**
 * Split points for a key space without folders, against moto: sampled keys,
 * and ranges built from them that hold every key exactly once.
 */
import { compareKeys } from '../../../lambda/engine/listing/key-order';
import { rangesFromBoundaries, sampleBoundaries, splitPoints } from '../../../lambda/engine/listing/key-ranges';
import type { KeyRange } from '../../../lambda/engine/listing/version-listing';
import { createBucket, fill, testClient, uniqueBucketName } from '../../support/s3';

const s3 = testClient();

function inRange(key: string, r: KeyRange): boolean {
  return key.startsWith(r.prefix) && (r.after === undefined || compareKeys(key, r.after) > 0) && (r.through === undefined || compareKeys(key, r.through) <= 0);
}

test('a flat bucket is split at keys sampled across its first characters, and every key lies in exactly one range', async () => {
  // GIVEN keys without folders, spread over several first characters (as hashes or ids are)
  const bucket = await createBucket(s3, uniqueBucketName('flat'));
  const keys = ['07c1', '0ffe', '3a90', '7b21', '9d0e', 'a4f3', 'c018', 'e77a', 'f0f0', 'f9aa'];
  await fill(s3, bucket, keys, 1);

  // WHEN
  const boundaries = await sampleBoundaries(s3, bucket, '');
  const ranges = rangesFromBoundaries('', boundaries);

  // THEN the split points are keys of the bucket, several, and the ranges hold each key once
  expect(boundaries.length).toBeGreaterThanOrEqual(5);
  for (const b of boundaries) expect(keys).toContain(b);
  for (const key of keys) expect(ranges.filter((r) => inRange(key, r))).toHaveLength(1);
});

test('splitPoints takes the folders when there are some, and samples under a prefix without sub-folders', async () => {
  const bucket = await createBucket(s3, uniqueBucketName('split'));
  await fill(s3, bucket, ['logs/a/1', 'logs/b/1', 'data/x1', 'data/y2', 'data/z3'], 1);
  expect(await splitPoints(s3, bucket, '')).toEqual(['data/', 'logs/']);
  expect(await splitPoints(s3, bucket, 'data/')).toEqual(['data/x1', 'data/y2', 'data/z3']);
});

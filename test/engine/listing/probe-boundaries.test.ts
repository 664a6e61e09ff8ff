/**
 * Split points for flat key spaces (no folders): the probes must end only
 * non-empty intervals, and must split keys that differ within a few
 * characters of a shared stem. Coverage itself never depends on them
 * (rangesFromBoundaries covers every key exactly once: key-ranges.test.ts).
 *
 * The S3 client here is an in-memory stand-in answering ListObjectsV2 over a
 * sorted key set: these properties are about the probing arithmetic over
 * thousands of random key sets, which moto could not serve in time. The
 * moto test below checks the same against a real listing.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { compareKeys } from '../../../lambda/engine/listing/key-order';
import { probeBoundaries, rangesFromBoundaries, splitPoints } from '../../../lambda/engine/listing/key-ranges';
import type { KeyRange } from '../../../lambda/engine/listing/version-listing';
import { createBucket, put, testClient, uniqueBucketName } from '../../support/s3';

/** ListObjectsV2 (Prefix, StartAfter, MaxKeys) over `keys`, as S3 orders them. */
function listingOf(keys: readonly string[]): { client: S3Client; requests: () => number } {
  const sorted = [...new Set(keys)].sort(compareKeys);
  let requests = 0;
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof ListObjectsV2Command)) throw new Error('unexpected command');
      requests++;
      const { Prefix = '', StartAfter, MaxKeys = 1000 } = command.input;
      const found = sorted.filter((k) => k.startsWith(Prefix) && (StartAfter === undefined || compareKeys(k, StartAfter) > 0)).slice(0, MaxKeys);
      return { Contents: found.map((Key) => ({ Key })) };
    },
  } as unknown as S3Client;
  return { client, requests: () => requests };
}

const inRange = (key: string, r: KeyRange): boolean =>
  (r.after === undefined || compareKeys(key, r.after) > 0) && (r.through === undefined || compareKeys(key, r.through) <= 0);

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(printable, fc.constantFrom(' ', '\u0001', '\u00e9', '\u{1f600}', '/'));
const word = (char: fc.Arbitrary<string>, min: number, max: number) => fc.array(char, { minLength: min, maxLength: max }).map((cs) => cs.join(''));

describe('probeBoundaries', () => {
  it('ends only intervals that hold keys, so no range of the split is empty', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('', 'p00/', 'data/'), fc.array(word(anyChar, 0, 6), { maxLength: 60 }), async (prefix, suffixes) => {
        // GIVEN flat keys under a prefix
        const keys = suffixes.map((s) => prefix + s);
        const { client } = listingOf(keys);
        // WHEN the key space is probed and split
        const ranges = rangesFromBoundaries(prefix, await probeBoundaries(client, 'b', prefix));
        // THEN every key is in exactly one range, and every range but the open-ended last one holds a key
        for (const key of keys) expect(ranges.filter((r) => inRange(key, r))).toHaveLength(1);
        for (const r of ranges.slice(0, -1)) expect(keys.some((k) => inRange(k, r))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('splits keys that share a stem of up to three characters and then differ', async () => {
    await fc.assert(
      fc.asyncProperty(
        word(printable, 0, 3),
        fc.uniqueArray(printable, { minLength: 2, maxLength: 20 }),
        // Tails of at least one character: a key equal to a probe (stem + one character) ends the interval
        // below it, which can leave the split at one range; that costs balance, never coverage.
        fc.array(word(printable, 1, 4), { minLength: 20, maxLength: 20 }),
        async (stem, firsts, tails) => {
          // GIVEN keys stem + <one of several characters> + anything
          const keys = firsts.map((c, i) => `p00/${stem}${c}${tails[i]}`);
          const { client, requests } = listingOf(keys);
          // WHEN probed
          const ranges = rangesFromBoundaries('p00/', await probeBoundaries(client, 'b', 'p00/'));
          // THEN the keys land in at least two ranges, one per distinct character at most, after a bounded number of probes
          const used = ranges.filter((r) => keys.some((k) => inRange(k, r)));
          expect(used.length).toBeGreaterThanOrEqual(2);
          expect(used.length).toBeLessThanOrEqual(firsts.length);
          expect(requests()).toBeLessThanOrEqual(4 * (1 + 95 + 1)); // per level: the first key, the probes, and the past-the-last probe
        },
      ),
      { numRuns: 100 },
    );
  });

  it('finds nothing to split in an empty prefix', async () => {
    const { client, requests } = listingOf(['other/a', 'other/b']);
    expect(await probeBoundaries(client, 'b', 'p00/')).toEqual([]);
    expect(requests()).toBe(1);
  });
});

describe('splitPoints against moto', () => {
  it('splits a bucket of flat, hashed keys into ranges that each hold keys and together hold every key', async () => {
    // GIVEN a bucket whose keys have no folders (hex names)
    const s3 = testClient();
    const bucket = uniqueBucketName('probe');
    await createBucket(s3, bucket);
    const keys = Array.from({ length: 48 }, (_, i) => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0'));
    for (const key of keys) await put(s3, bucket, key);
    // WHEN its split points are found
    const ranges = rangesFromBoundaries('', await splitPoints(s3, bucket, ''));
    // THEN there are several ranges, each (but the open-ended last) holding keys, and every key is in exactly one
    expect(ranges.length).toBeGreaterThanOrEqual(8);
    for (const key of keys) expect(ranges.filter((r) => inRange(key, r))).toHaveLength(1);
    for (const r of ranges.slice(0, -1)) expect(keys.some((k) => inRange(k, r))).toBe(true);
  });

  it('takes the folders when there are two or more, and probes under the deepest single folder otherwise', async () => {
    // GIVEN folders at the top, flat keys under data/, and a bucket whose keys all sit in one folder
    const s3 = testClient();
    const bucket = uniqueBucketName('split');
    await createBucket(s3, bucket);
    const keys = ['logs/a/1', 'logs/b/1', 'data/x1', 'data/y2', 'data/z3'];
    for (const key of keys) await put(s3, bucket, key);
    const single = uniqueBucketName('single');
    await createBucket(s3, single);
    const singleKeys = ['only/0a', 'only/5b', 'only/9c', 'only/f0'];
    for (const key of singleKeys) await put(s3, single, key);
    // WHEN / THEN the folders split the top
    expect(await splitPoints(s3, bucket, '')).toEqual(['data/', 'logs/']);
    // AND a prefix without sub-folders is probed: one key per range (the last, open-ended one is empty)
    const dataKeys = keys.filter((k) => k.startsWith('data/'));
    const data = rangesFromBoundaries('data/', await splitPoints(s3, bucket, 'data/'));
    for (const key of dataKeys) expect(data.filter((r) => inRange(key, r))).toHaveLength(1);
    expect(data.slice(0, -1).map((r) => dataKeys.filter((k) => inRange(k, r)).length)).toEqual([1, 1, 1]);
    // AND a bucket with one folder is probed inside it
    const points = await splitPoints(s3, single, '');
    expect(points.every((p) => p.startsWith('only/'))).toBe(true);
    const ranges = rangesFromBoundaries('', points);
    expect(ranges.slice(0, -1).map((r) => singleKeys.filter((k) => inRange(k, r)).length)).toEqual([1, 1, 1, 1]);
  });
});

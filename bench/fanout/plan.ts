import type { S3Client } from '@aws-sdk/client-s3';
import { MAX_SHARDS } from '../../lambda/engine/constants';
import { discoverBoundaries, rangesFromBoundaries, thinBoundaries } from '../../lambda/engine/listing/key-ranges';
import type { WorkRange } from './protocol';

/**
 * The plan of a fan-out, from the engine's own splitter
 * (engine/listing/key-ranges.ts), as the engine's first pass uses it: the
 * top-level folders as boundaries, at most MAX_SHARDS ranges. The first
 * folder is not a boundary, so that no range is the empty one before it:
 * (−∞, p01/], (p01/, p02/], …, (p63/, +∞), one range per folder. Every key
 * of the bucket lies in exactly one range whatever the boundaries are.
 *
 * The workflow's Plan step (issue 13, lambda/teardown) is to split with the
 * same module; when it exists, this should call it instead.
 */
export async function planRanges(client: S3Client, bucket: string): Promise<WorkRange[]> {
  const folders = await discoverBoundaries(client, bucket, '');
  const boundaries = thinBoundaries(folders.slice(1), MAX_SHARDS - 1);
  return rangesFromBoundaries('', boundaries).map((keys, index) => ({ index, keys }));
}

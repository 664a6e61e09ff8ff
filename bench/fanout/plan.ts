import type { S3Client } from '@aws-sdk/client-s3';
import { discoverBoundaries } from '../../lambda/engine/listing/key-ranges';
import type { WorkRange } from './protocol';

/**
 * The plan of a fan-out: one range per top-level folder, found by the
 * engine's own boundary discovery (engine/listing/key-ranges.ts), the split
 * the engine's first pass and the workflow's Plan step start from. A bucket
 * without folders is one range (the whole bucket).
 */
export async function planRanges(client: S3Client, bucket: string): Promise<WorkRange[]> {
  const folders = await discoverBoundaries(client, bucket, '');
  if (folders.length === 0) return [{ index: 0, prefix: '' }];
  return folders.map((prefix, index) => ({ index, prefix }));
}

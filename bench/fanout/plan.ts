import type { S3Client } from '@aws-sdk/client-s3';
import { discoverBoundaries, rangesFromBoundaries, thinBoundaries } from '../../lambda/engine/listing/key-ranges';
import { MAX_RANGES_BYTES, MAX_TEARDOWN_RANGES } from '../../lambda/teardown/steps/plan-step';
import type { WorkRange } from './protocol';

/**
 * The plan of a fan-out: the first pass of the teardown workflow's Plan step
 * (lambda/teardown/steps/plan-step.ts, `splitBucket`), step by step: the
 * bucket's folders as boundaries, thinned to at most MAX_TEARDOWN_RANGES
 * ranges and halved until the ranges fit MAX_RANGES_BYTES of JSON. The step
 * itself cannot run here (it re-checks the stack through CloudFormation
 * first), and its split is not exported; keep the two in step.
 *
 * Like the workflow's, a bucket of fewer folders than the cap gets one more
 * range than folders: the empty (−∞, p00/] before the first one.
 */
export async function planRanges(client: S3Client, bucket: string): Promise<WorkRange[]> {
  const boundaries = await discoverBoundaries(client, bucket, '');
  for (let max = MAX_TEARDOWN_RANGES - 1; ; max = Math.floor(max / 2)) {
    const ranges = rangesFromBoundaries('', thinBoundaries(boundaries, max));
    if (max === 0 || Buffer.byteLength(JSON.stringify(ranges), 'utf8') <= MAX_RANGES_BYTES) {
      return ranges.map((keys, index) => ({ index, keys }));
    }
  }
}

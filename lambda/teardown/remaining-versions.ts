import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { describeError } from '../engine/describe-error';
import { isNoSuchBucket } from '../engine/s3/s3-errors';
import type { TeardownDeps } from './deps';

/** Estimate of what is left in the bucket. */
export interface RemainingEstimate {
  readonly count: number;
  /** True when the listing reached the end: `count` is exact (at that moment). */
  readonly complete: boolean;
}

/** Counts the entries left by listing from the start until `until` (epoch ms). Never throws. */
export async function estimateRemaining(
  deps: Pick<TeardownDeps, 's3' | 'logger' | 'now'>,
  bucket: string,
  until: number,
): Promise<RemainingEstimate | undefined> {
  const now = deps.now ?? Date.now;
  let count = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  try {
    do {
      const page = await deps.s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 1000 }),
        { abortSignal: AbortSignal.timeout(Math.max(1, Math.ceil(until - now()))) },
      );
      count += (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0);
      if (!page.IsTruncated) return { count, complete: true };
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    } while (now() < until);
    return { count, complete: false };
  } catch (err) {
    if (isNoSuchBucket(err)) return { count: 0, complete: true };
    deps.logger.warn('Could not finish estimating what remains', { bucket, counted: count, error: describeError(err) });
    return count > 0 ? { count, complete: false } : undefined;
  }
}

/** True when a listing from the start finds nothing; undefined when the listing failed. */
export async function isEmpty(deps: Pick<TeardownDeps, 's3' | 'logger'>, bucket: string): Promise<boolean | undefined> {
  try {
    const page = await deps.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1 }));
    return (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0) === 0;
  } catch (err) {
    if (isNoSuchBucket(err)) return true;
    deps.logger.warn('Could not confirm the bucket is empty', { bucket, error: describeError(err) });
    return undefined;
  }
}

import { GetBucketPolicyCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { describeError } from '../engine/describe-error';
import { FENCE_STATEMENT_SID } from '../resource-contract';
import { errorCode, isNoSuchBucket } from '../engine/s3/s3-errors';
import type { TeardownDeps } from './deps';

/** The deny-PutObject statement that keeps late writers from refilling the bucket. */
function fenceStatement(bucket: string, partition: string): Record<string, unknown> {
  return {
    Sid: FENCE_STATEMENT_SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:PutObject',
    Resource: `arn:${partition}:s3:::${bucket}/*`,
  };
}

/**
 * Adds the fence statement to a bucket policy document, keeping every other
 * statement. Returns `undefined` when the statement is already there.
 * @throws Error when `policy` is not a JSON policy document.
 */
export function withFenceStatement(policy: string | undefined, bucket: string, partition: string): string | undefined {
  const doc = policy ? (JSON.parse(policy) as Record<string, unknown>) : { Version: '2012-10-17' };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('bucket policy is not a JSON object');
  const raw = doc.Statement;
  const statements: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? [...raw] : [raw];
  const present = statements.some(
    (s) => typeof s === 'object' && s !== null && (s as Record<string, unknown>).Sid === FENCE_STATEMENT_SID,
  );
  if (present) return undefined;
  statements.push(fenceStatement(bucket, partition));
  return JSON.stringify({ ...doc, Statement: statements });
}

/** Result of {@link fenceWrites}. */
export type FenceResult = 'fenced' | 'missing' | 'failed';

/**
 * Denies s3:PutObject to everyone on the bucket, merged into its policy.
 * Best effort: a failure is logged and the purge goes on (the engine's
 * confirmation passes still catch late writes); a missing bucket is reported.
 */
export async function fenceWrites(
  deps: Pick<TeardownDeps, 's3' | 'logger' | 'partition'>,
  bucket: string,
): Promise<FenceResult> {
  let current: string | undefined;
  try {
    current = (await deps.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    if (errorCode(err) !== 'NoSuchBucketPolicy') {
      deps.logger.warn('Could not read the bucket policy; writes are not fenced', { bucket, error: describeError(err) });
      return 'failed';
    }
  }
  try {
    const next = withFenceStatement(current, bucket, deps.partition);
    if (next === undefined) return 'fenced';
    await deps.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: next }));
    deps.logger.info('Fenced the bucket against new writes', { bucket, sid: FENCE_STATEMENT_SID });
    return 'fenced';
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    deps.logger.warn('Could not fence the bucket against new writes', { bucket, error: describeError(err) });
    return 'failed';
  }
}

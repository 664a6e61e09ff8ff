import { GetBucketVersioningCommand, GetObjectLockConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { PurgeConfigError } from '../errors';
import { isNoSuchBucket, isTransient } from '../s3/s3-errors';

/** What the engine learns about a bucket before it deletes anything. */
export interface BucketFacts {
  readonly exists: boolean;
  /** `Enabled`, `Suspended`, or undefined for a bucket never versioned. */
  readonly versioning?: string;
  readonly objectLockEnabled: boolean;
}

const MFA_DELETE_MESSAGE = (bucket: string) =>
  `Bucket ${bucket} has MFA Delete enabled. S3 then refuses every version deletion without a token from ` +
  `the root account's MFA device, which no automated purge can supply. Nothing was deleted. ` +
  `Disable MFA Delete (as the root user: aws s3api put-bucket-versioning --bucket ${bucket} ` +
  `--versioning-configuration Status=Enabled,MFADelete=Disabled --mfa "SERIAL CODE") and run again.`;

/**
 * Reads versioning and Object Lock settings. Throws {@link PurgeConfigError}
 * when MFA Delete is on: every deletion would fail, so fail before the first.
 */
export async function inspectBucket(client: S3Client, bucket: string): Promise<BucketFacts> {
  let versioning: string | undefined;
  try {
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    if (out.MFADelete === 'Enabled') throw new PurgeConfigError(MFA_DELETE_MESSAGE(bucket));
    versioning = out.Status;
  } catch (err) {
    if (isNoSuchBucket(err)) return { exists: false, objectLockEnabled: false };
    throw err;
  }
  return { exists: true, versioning, objectLockEnabled: await hasObjectLock(client, bucket) };
}

/**
 * True when Object Lock is enabled. BypassGovernanceRetention is sent only
 * then: other buckets, and some S3-compatible stores, can reject the header.
 */
async function hasObjectLock(client: S3Client, bucket: string): Promise<boolean> {
  try {
    const out = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (err) {
    // A fault that outlasted the client's retries says nothing about the bucket:
    // guessing "no lock" would silently drop the bypass header.
    if (isTransient(err)) throw err;
    // ObjectLockConfigurationNotFoundError is the normal answer; stores without
    // Object Lock answer NotImplemented. Without permission to read it, do not
    // send the bypass header either: governance-locked versions are then reported.
    return false;
  }
}

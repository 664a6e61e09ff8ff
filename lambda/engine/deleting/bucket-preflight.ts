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
  // Both reads at once: one round trip before the first listing instead of two (a small bucket's
  // teardown is a handful of round trips). The versioning answer decides first: a missing bucket or
  // MFA Delete ends the run whatever the Object Lock read said.
  const [versioningRead, lockRead] = await Promise.allSettled([
    client.send(new GetBucketVersioningCommand({ Bucket: bucket })),
    hasObjectLock(client, bucket),
  ]);
  if (versioningRead.status === 'rejected') {
    if (isNoSuchBucket(versioningRead.reason)) return { exists: false, objectLockEnabled: false };
    throw versioningRead.reason;
  }
  if (versioningRead.value.MFADelete === 'Enabled') throw new PurgeConfigError(MFA_DELETE_MESSAGE(bucket));
  if (lockRead.status === 'rejected') throw lockRead.reason;
  return { exists: true, versioning: versioningRead.value.Status, objectLockEnabled: lockRead.value };
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

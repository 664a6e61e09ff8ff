import { GetBucketTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { PURGE_TAG_KEY, PURGE_TAG_VALUE } from './resource-contract';
import { errorCode, isNoSuchBucket } from './s3-errors';

/** Whether the bucket carries the ownership tag. */
export type PurgeTagCheck = 'tagged' | 'untagged' | 'missing';

/** Reads the bucket's tags: purge only a bucket tagged by a live `VersionPurger`. */
export async function checkPurgeTag(s3: S3Client, bucket: string): Promise<PurgeTagCheck> {
  try {
    const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    const tagged = (out.TagSet ?? []).some((t) => t.Key === PURGE_TAG_KEY && t.Value === PURGE_TAG_VALUE);
    return tagged ? 'tagged' : 'untagged';
  } catch (err) {
    if (isNoSuchBucket(err)) return 'missing';
    if (errorCode(err) === 'NoSuchTagSet') return 'untagged';
    throw err;
  }
}

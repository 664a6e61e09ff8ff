import { GetBucketTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { PURGE_TAG_KEY } from '../resource-contract';
import { errorCode, isNoSuchBucket } from '../engine/s3/s3-errors';

/**
 * Who owns the bucket, by its ownership tag:
 * - `owned`: the tag names the resource asking;
 * - `other-owner`: the tag names another `VersionPurger` (the construct was
 *   renamed or moved, and its new resource now owns the bucket);
 * - `untagged`: no ownership tag (the construct was removed, or
 *   `purgeOnDelete` was turned off);
 * - `missing`: the bucket does not exist.
 */
export type BucketOwnership =
  | { readonly kind: 'owned' }
  | { readonly kind: 'other-owner'; readonly owner: string }
  | { readonly kind: 'untagged' }
  | { readonly kind: 'missing' };

/**
 * Reads the bucket's tags and compares the ownership tag with `ownerId`, the
 * id the resource being deleted carries in its properties. An empty or absent
 * `ownerId` never owns anything.
 */
export async function checkOwnership(s3: S3Client, bucket: string, ownerId: string | undefined): Promise<BucketOwnership> {
  let tagSet;
  try {
    tagSet = (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet ?? [];
  } catch (err) {
    if (isNoSuchBucket(err)) return { kind: 'missing' };
    if (errorCode(err) === 'NoSuchTagSet') return { kind: 'untagged' };
    throw err;
  }
  const owner = tagSet.find((t) => t.Key === PURGE_TAG_KEY)?.Value;
  if (owner === undefined) return { kind: 'untagged' };
  return ownerId && owner === ownerId ? { kind: 'owned' } : { kind: 'other-owner', owner };
}

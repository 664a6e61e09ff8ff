import { PHYSICAL_ID_PREFIX } from '../resource-contract';

/**
 * The physical id of a purger resource: `version-purger:<bucket>:<owner id>`.
 *
 * It binds the two properties a Delete acts on to CloudFormation's own record:
 * CloudFormation confirms which physical id it is deleting, and a Delete whose
 * `BucketName` or `OwnerId` do not spell that id is refused. So a forged event
 * cannot borrow a real deletion in progress to name another bucket or owner.
 * Bucket names cannot contain `:`. Resources without an owner id (created
 * before owner ids existed) have `version-purger:<bucket>`.
 */
export function physicalIdFor(bucket: string, ownerId: string | undefined): string {
  return ownerId ? `${PHYSICAL_ID_PREFIX}${bucket}:${ownerId}` : `${PHYSICAL_ID_PREFIX}${bucket}`;
}

/** The bucket a purger's physical id names, or undefined for another kind of id. */
export function bucketOfPhysicalId(id: string | undefined): string | undefined {
  if (!id?.startsWith(PHYSICAL_ID_PREFIX)) return undefined;
  return id.slice(PHYSICAL_ID_PREFIX.length).split(':')[0] || undefined;
}

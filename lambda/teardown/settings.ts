import { PROPERTY } from '../resource-contract';

/** CloudFormation's default and largest custom-resource ServiceTimeout (s). */
export const MAX_SERVICE_TIMEOUT_SECONDS = 3600;

/** The custom resource's settings, parsed from `ResourceProperties`. */
export interface TeardownSettings {
  readonly bucket: string;
  /**
   * The owner id the bucket's ownership tag must carry for a Delete to purge.
   * Undefined for resources created before owner ids existed: they own nothing.
   */
  readonly ownerId: string | undefined;
  readonly purgeOnDelete: boolean;
  readonly fenceWrites: boolean;
  readonly bypassGovernanceRetention: boolean;
  /** The custom resource's ServiceTimeout, seconds. */
  readonly serviceTimeoutSeconds: number;
}

/** Reads a boolean property; CloudFormation passes booleans as strings. */
function readBool(value: unknown, fallback: boolean): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fallback;
}

/**
 * Parses the custom resource's properties.
 * @throws Error when `BucketName` is missing.
 */
export function readSettings(props: Record<string, unknown> | undefined): TeardownSettings {
  const p = props ?? {};
  const bucket = p[PROPERTY.bucketName];
  if (typeof bucket !== 'string' || bucket.length === 0) {
    throw new Error(`The custom resource has no ${PROPERTY.bucketName} property.`);
  }
  const timeout = Number(p[PROPERTY.serviceTimeout]);
  const ownerId = p[PROPERTY.ownerId];
  return {
    bucket,
    ownerId: typeof ownerId === 'string' && ownerId.length > 0 ? ownerId : undefined,
    purgeOnDelete: readBool(p[PROPERTY.purgeOnDelete], true),
    fenceWrites: readBool(p[PROPERTY.fenceWrites], true),
    bypassGovernanceRetention: readBool(p[PROPERTY.bypassGovernanceRetention], false),
    serviceTimeoutSeconds:
      Number.isFinite(timeout) && timeout >= 1 ? Math.min(timeout, MAX_SERVICE_TIMEOUT_SECONDS) : MAX_SERVICE_TIMEOUT_SECONDS,
  };
}

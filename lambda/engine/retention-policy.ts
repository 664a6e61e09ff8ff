import { createKeyFilter } from './key-filter';

/**
 * What scheduled retention cleanup deletes. Modelled on S3 Lifecycle's
 * noncurrent-version rules, but applied on the run's own clock, without
 * rounding to midnight and without the cap of 100 on kept versions.
 *
 * The current entry of a key is never deleted, except a current delete
 * marker under {@link RetentionPolicy.expiredDeleteMarkers}. At least one of
 * `noncurrentVersionsOlderThanMs`, `keepNoncurrentVersions`,
 * `expiredDeleteMarkers: true` or `abortIncompleteUploadsOlderThanMs` is
 * required: retention never means "delete everything".
 */
export interface RetentionPolicy {
  /**
   * Deletes noncurrent versions that have been noncurrent for at least this
   * many milliseconds. A version becomes noncurrent when the next newer entry
   * of its key is created, so its age counts from that entry's LastModified,
   * not its own. `0` means any noncurrent version, whatever its age.
   *
   * Noncurrent delete markers follow the same age rule.
   * @default - no age rule
   */
  readonly noncurrentVersionsOlderThanMs?: number;
  /**
   * Keeps the N newest noncurrent versions of each key whatever their age.
   * Delete markers are not counted. With `noncurrentVersionsOlderThanMs`, a
   * version is deleted only when it is both old enough and not among the N
   * newest; alone, every noncurrent version beyond the N newest is deleted.
   * @default - no count rule
   */
  readonly keepNoncurrentVersions?: number;
  /**
   * Deletes a current delete marker when, after this run's deletions, no other
   * entry of its key is left (S3's "expired object delete marker").
   * @default false
   */
  readonly expiredDeleteMarkers?: boolean;
  /**
   * Aborts incomplete multipart uploads initiated at least this many
   * milliseconds before the run's `asOf` (S3 Lifecycle's
   * AbortIncompleteMultipartUpload, to the millisecond instead of whole
   * days). Subject to `prefixes` and `exclude` like versions. Alone, it
   * deletes no version and no delete marker.
   * @default - uploads are left alone
   */
  readonly abortIncompleteUploadsOlderThanMs?: number;
  /**
   * Only keys starting with one of these plain prefixes are touched.
   * @default - every key
   */
  readonly prefixes?: readonly string[];
  /**
   * Keys never touched: plain prefixes, or glob patterns matched against the
   * whole key (see `isGlobPattern` in key-filter.ts).
   * @default - nothing excluded
   */
  readonly exclude?: readonly string[];
}

const POLICY_PROPERTIES: readonly string[] = [
  'noncurrentVersionsOlderThanMs',
  'keepNoncurrentVersions',
  'expiredDeleteMarkers',
  'abortIncompleteUploadsOlderThanMs',
  'prefixes',
  'exclude',
];

function fail(reason: string): never {
  throw new Error(`Invalid retention policy: ${reason}`);
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Throws an Error explaining the first problem found in `policy`: a missing
 * rule, an out-of-range number, an empty prefix or pattern, an unknown
 * property (a misspelt rule would otherwise silently disable itself).
 */
export function validateRetentionPolicy(policy: unknown): asserts policy is RetentionPolicy {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    fail('expected an object.');
  }
  const fields = policy as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !POLICY_PROPERTIES.includes(name));
  if (unknown.length > 0) {
    fail(`unknown propert${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}.`);
  }
  const { noncurrentVersionsOlderThanMs: olderThan, keepNoncurrentVersions: keep, expiredDeleteMarkers } = fields;

  if (olderThan !== undefined && (typeof olderThan !== 'number' || !Number.isFinite(olderThan) || olderThan < 0)) {
    fail(`noncurrentVersionsOlderThanMs must be a finite number of milliseconds >= 0, got ${String(olderThan)}.`);
  }
  if (keep !== undefined && (typeof keep !== 'number' || !Number.isSafeInteger(keep) || keep < 0)) {
    fail(`keepNoncurrentVersions must be a whole number >= 0, got ${String(keep)}.`);
  }
  if (expiredDeleteMarkers !== undefined && typeof expiredDeleteMarkers !== 'boolean') {
    fail(`expiredDeleteMarkers must be a boolean, got ${String(expiredDeleteMarkers)}.`);
  }
  const uploadsAfter = fields.abortIncompleteUploadsOlderThanMs;
  if (uploadsAfter !== undefined && (typeof uploadsAfter !== 'number' || !Number.isSafeInteger(uploadsAfter) || uploadsAfter < 0)) {
    fail(`abortIncompleteUploadsOlderThanMs must be a whole number of milliseconds >= 0, got ${String(uploadsAfter)}.`);
  }
  if (olderThan === undefined && keep === undefined && expiredDeleteMarkers !== true && uploadsAfter === undefined) {
    fail(
      'no rule given. Set noncurrentVersionsOlderThanMs, keepNoncurrentVersions, expiredDeleteMarkers or abortIncompleteUploadsOlderThanMs: ' +
        'retention never means "delete everything".',
    );
  }

  const { prefixes, exclude } = fields;
  if (prefixes !== undefined && !isStringArray(prefixes)) {
    fail('prefixes must be an array of strings.');
  }
  if (exclude !== undefined && !isStringArray(exclude)) {
    fail('exclude must be an array of strings.');
  }
  try {
    createKeyFilter({ prefixes, exclude });
  } catch (error) {
    fail((error as Error).message);
  }
}

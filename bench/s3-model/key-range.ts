import type { Bucket } from './bucket';
import { compareOrderedKeys, orderedKey } from './key-order';
import type { KeyVersions } from './key-versions';
import { SortedKeys, type Cursor } from './sorted-keys';

/** The common prefix `key` rolls up into under `prefix` and `delimiter`, if any. */
export function rollUp(key: string, prefix: string, delimiter: string): string | undefined {
  if (!delimiter || !key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/** Cursor at the first key that neither sorts before `commonPrefix` nor starts with it. */
export function cursorPastPrefix(bucket: Bucket, commonPrefix: string): Cursor {
  const probe = orderedKey(commonPrefix);
  return bucket.keys.partitionPoint((e: KeyVersions) => e.key.startsWith(commonPrefix) || compareOrderedKeys(e, probe) < 0);
}

/**
 * Cursor at the first key a listing resumes at after `marker` (exclusive):
 * past the marker, past the common prefix the marker rolls up into, and not
 * before `prefix`.
 */
export function cursorAfterMarker(bucket: Bucket, marker: string, prefix: string, delimiter: string): Cursor {
  let cursor = marker ? bucket.keys.upperBound(orderedKey(marker)) : bucket.keys.start();
  const markerPrefix = marker ? rollUp(marker, prefix, delimiter) : undefined;
  if (markerPrefix) cursor = SortedKeys.later(cursor, cursorPastPrefix(bucket, markerPrefix));
  if (prefix) cursor = SortedKeys.later(cursor, bucket.keys.lowerBound(orderedKey(prefix)));
  return cursor;
}

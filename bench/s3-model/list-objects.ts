import type { Bucket } from './bucket';
import type { KeyVersions } from './key-versions';
import { cursorAfterMarker, cursorPastPrefix, rollUp } from './key-range';

export interface ListObjectsQuery {
  readonly prefix: string;
  readonly delimiter: string;
  /** Exclusive start: the larger of start-after and the continuation position. */
  readonly after: string;
  readonly maxKeys: number;
}

export interface ListedObject {
  readonly key: string;
  readonly lastModifiedMs: number;
  readonly etag: string;
  readonly size: number;
}

export interface ListObjectsPage {
  readonly contents: ListedObject[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned, from which the next page starts. */
  readonly lastReturned?: string;
}

function currentObject(bucket: Bucket, entry: KeyVersions): ListedObject | undefined {
  const slot = entry.newestSlot();
  if (slot < 0 || entry.isDeleteMarker(slot)) return undefined;
  const record = entry.record(slot);
  return { key: entry.key, lastModifiedMs: record.lastModifiedMs, etag: bucket.etags.etag(record.etagId), size: record.size };
}

/** Whether any key under `commonPrefix` has a current (non-deleted) object, scanning from `entry`. */
function prefixHasCurrentObject(bucket: Bucket, commonPrefix: string, from: KeyVersions): boolean {
  const cursor = bucket.keys.lowerBound(from);
  for (let e = bucket.keys.at(cursor); e && e.key.startsWith(commonPrefix); e = bucket.keys.at(cursor)) {
    if (currentObject(bucket, e)) return true;
    bucket.keys.advance(cursor);
  }
  return false;
}

/** One ListObjects / ListObjectsV2 page: current objects only, keys hidden by a delete marker skipped. */
export function listObjects(bucket: Bucket, query: ListObjectsQuery): ListObjectsPage {
  const { prefix, delimiter, maxKeys } = query;
  const contents: ListedObject[] = [];
  const commonPrefixes: string[] = [];
  let isTruncated = false;
  let lastReturned: string | undefined;
  const cursor = cursorAfterMarker(bucket, query.after, prefix, delimiter);

  for (let entry = bucket.keys.at(cursor); entry && entry.key.startsWith(prefix); entry = bucket.keys.at(cursor)) {
    const commonPrefix = rollUp(entry.key, prefix, delimiter);
    const object = commonPrefix === undefined ? currentObject(bucket, entry) : undefined;
    const visible = commonPrefix !== undefined ? prefixHasCurrentObject(bucket, commonPrefix, entry) : object !== undefined;
    if (visible) {
      if (contents.length + commonPrefixes.length === maxKeys) {
        isTruncated = true;
        break;
      }
      if (commonPrefix !== undefined) commonPrefixes.push(commonPrefix);
      else if (object) contents.push(object);
      lastReturned = commonPrefix ?? entry.key;
    }
    if (commonPrefix !== undefined) Object.assign(cursor, cursorPastPrefix(bucket, commonPrefix));
    else bucket.keys.advance(cursor);
  }
  return { contents, commonPrefixes, isTruncated, lastReturned };
}

import type { Bucket } from './bucket';
import { invalidArgument } from './errors';
import { orderedKey } from './key-order';
import type { KeyVersions } from './key-versions';
import { cursorAfterMarker, cursorPastPrefix, rollUp } from './key-range';
import { decodeVersionId, encodeVersionId, NULL_VERSION_ID } from './version-id';

export interface ListVersionsQuery {
  readonly prefix: string;
  readonly delimiter: string;
  readonly keyMarker: string;
  readonly versionIdMarker: string;
  readonly maxKeys: number;
}

export interface ListedVersion {
  readonly key: string;
  readonly versionId: string;
  readonly isLatest: boolean;
  readonly isDeleteMarker: boolean;
  readonly lastModifiedMs: number;
  readonly etag: string;
  readonly size: number;
}

/** Page entries in listing order; common prefixes count towards max-keys like versions do. */
export type ListedEntry = { readonly commonPrefix: string } | { readonly version: ListedVersion };

export interface ListVersionsPage {
  readonly entries: ListedEntry[];
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  readonly nextVersionIdMarker?: string;
}

interface ResumePoint {
  readonly entry: KeyVersions;
  /** Only versions older than this sequence number remain to be listed. */
  readonly belowSeq: number;
}

/**
 * Where a listing with key-marker and version-id-marker resumes inside the
 * marker's key. The position comes from the marker id itself, so a listing
 * carries on even when that version was deleted since the previous page.
 */
function resumePoint(bucket: Bucket, query: ListVersionsQuery): ResumePoint | undefined {
  const { keyMarker, versionIdMarker, prefix, delimiter } = query;
  if (!versionIdMarker || !keyMarker.startsWith(prefix) || rollUp(keyMarker, prefix, delimiter)) return undefined;
  const entry = bucket.keys.get(orderedKey(keyMarker));
  if (!entry) return undefined;
  let belowSeq: number | undefined;
  if (versionIdMarker === NULL_VERSION_ID) {
    const slot = entry.slotOfNullVersion();
    belowSeq = slot >= 0 ? entry.seqAt(slot) : bucket.removedNullSeq(keyMarker);
  } else {
    belowSeq = decodeVersionId(versionIdMarker);
  }
  return belowSeq === undefined ? undefined : { entry, belowSeq };
}

function validate(query: ListVersionsQuery): void {
  if (query.versionIdMarker && !query.keyMarker) {
    throw invalidArgument('A version-id marker cannot be specified without a key marker.', 'version-id-marker', query.versionIdMarker);
  }
  if (query.versionIdMarker && query.versionIdMarker !== NULL_VERSION_ID && decodeVersionId(query.versionIdMarker) === undefined) {
    throw invalidArgument('Invalid version id specified', 'version-id-marker', query.versionIdMarker);
  }
}

/** One ListObjectVersions page: keys ascending, each key's versions and delete markers newest first. */
export function listVersions(bucket: Bucket, query: ListVersionsQuery): ListVersionsPage {
  validate(query);
  const { prefix, delimiter, maxKeys } = query;
  if (maxKeys === 0) return { entries: [], isTruncated: false };

  const resume = resumePoint(bucket, query);
  const cursor = resume
    ? bucket.keys.lowerBound(resume.entry)
    : cursorAfterMarker(bucket, query.keyMarker, prefix, delimiter);

  const entries: ListedEntry[] = [];
  let isTruncated = false;
  let nextKeyMarker: string | undefined;
  let nextVersionIdMarker: string | undefined;

  listing: for (let entry = bucket.keys.at(cursor); entry && entry.key.startsWith(prefix); entry = bucket.keys.at(cursor)) {
    const commonPrefix = rollUp(entry.key, prefix, delimiter);
    if (commonPrefix !== undefined) {
      if (entries.length === maxKeys) {
        isTruncated = true;
        break;
      }
      entries.push({ commonPrefix });
      nextKeyMarker = commonPrefix;
      nextVersionIdMarker = undefined;
      Object.assign(cursor, cursorPastPrefix(bucket, commonPrefix));
      continue;
    }

    const newest = entry.newestSlot();
    let slot = resume?.entry === entry ? entry.newestSlotBelowSeq(resume.belowSeq) : newest;
    for (; slot >= 0; slot = entry.nextOlderSlot(slot)) {
      if (entries.length === maxKeys) {
        isTruncated = true;
        break listing;
      }
      const version = toListedVersion(bucket, entry, slot, slot === newest);
      entries.push({ version });
      nextKeyMarker = entry.key;
      nextVersionIdMarker = version.versionId;
    }
    bucket.keys.advance(cursor);
  }

  return isTruncated ? { entries, isTruncated, nextKeyMarker, nextVersionIdMarker } : { entries, isTruncated };
}

function toListedVersion(bucket: Bucket, entry: KeyVersions, slot: number, isLatest: boolean): ListedVersion {
  const record = entry.record(slot);
  return {
    key: entry.key,
    versionId: record.isNullVersion ? NULL_VERSION_ID : encodeVersionId(record.seq),
    isLatest,
    isDeleteMarker: record.isDeleteMarker,
    lastModifiedMs: record.lastModifiedMs,
    etag: record.isDeleteMarker ? '' : bucket.etags.etag(record.etagId),
    size: record.size,
  };
}

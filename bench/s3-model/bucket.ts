import type { EtagTable } from './etag-table';
import { orderedKey } from './key-order';
import { KeyVersions, type NewVersion } from './key-versions';
import { SortedKeys } from './sorted-keys';
import { decodeVersionId, encodeVersionId, NULL_VERSION_ID } from './version-id';

/** "Unversioned" is a bucket that never had versioning enabled (GetBucketVersioning shows no Status). */
export type VersioningState = 'Unversioned' | 'Enabled' | 'Suspended';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** What the store lends a bucket: sequence numbers, the clock, shared ETags and global counters. */
export interface VersionSource {
  readonly etags: EtagTable;
  allocateSeq(count: number): number;
  now(): number;
  readonly counters: { versionsRemoved: number; deleteMarkersCreated: number; objectsPut: number };
}

/** Result of a delete, in the terms of S3's x-amz-delete-marker / x-amz-version-id headers. */
export interface DeleteOutcome {
  /** True when a delete marker was created or the removed version was one. */
  readonly deleteMarker: boolean;
  /** The version removed or the marker created; undefined for unversioned deletes. */
  readonly versionId?: string;
}

export interface PutOutcome {
  /** Undefined on a bucket that was never versioned (S3 sends no x-amz-version-id then). */
  readonly versionId?: string;
}

export class Bucket {
  versioning: VersioningState = 'Unversioned';
  tags: Tag[] | undefined;
  policy: string | undefined;
  readonly keys = new SortedKeys<KeyVersions>();
  readonly createdAt: number;
  private objectVersions = 0;
  private deleteMarkers = 0;
  // Where a removed null version stood, so a listing resumed at (key, "null") keeps its place.
  private readonly removedNullSeqs = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly source: VersionSource,
  ) {
    this.createdAt = source.now();
  }

  get objectVersionCount(): number {
    return this.objectVersions;
  }

  get deleteMarkerCount(): number {
    return this.deleteMarkers;
  }

  /** Versions and delete markers together, as DeleteBucket sees them. */
  get entryCount(): number {
    return this.objectVersions + this.deleteMarkers;
  }

  get etags(): EtagTable {
    return this.source.etags;
  }

  keyVersions(key: string): KeyVersions | undefined {
    return this.keys.get(orderedKey(key));
  }

  /** Replaces all contents with pre-built, sorted keys (seeding). */
  loadSorted(entries: readonly KeyVersions[], objectVersions: number, deleteMarkers: number): void {
    this.keys.loadSorted(entries);
    this.objectVersions = objectVersions;
    this.deleteMarkers = deleteMarkers;
    this.removedNullSeqs.clear();
  }

  putObject(key: string, size: number, etagId: number): PutOutcome {
    const isNullVersion = this.versioning !== 'Enabled';
    if (isNullVersion) this.removeNullVersion(key, false);
    const seq = this.appendVersion(key, { lastModifiedMs: this.source.now(), size, etagId, isDeleteMarker: false, isNullVersion });
    this.source.counters.objectsPut++;
    if (this.versioning === 'Unversioned') return {};
    return { versionId: isNullVersion ? NULL_VERSION_ID : encodeVersionId(seq) };
  }

  /** DeleteObject without a version id. */
  deleteObject(key: string): DeleteOutcome {
    if (this.versioning === 'Unversioned') {
      this.removeNullVersion(key, true);
      return { deleteMarker: false };
    }
    const isNullVersion = this.versioning === 'Suspended';
    if (isNullVersion) this.removeNullVersion(key, true);
    const seq = this.appendVersion(key, {
      lastModifiedMs: this.source.now(),
      size: 0,
      etagId: 0,
      isDeleteMarker: true,
      isNullVersion,
    });
    this.source.counters.deleteMarkersCreated++;
    return { deleteMarker: true, versionId: isNullVersion ? NULL_VERSION_ID : encodeVersionId(seq) };
  }

  /**
   * Permanently removes one version. Removing a version that does not exist
   * succeeds, as on S3; an id this model never issued returns undefined.
   */
  deleteVersion(key: string, versionId: string): DeleteOutcome | undefined {
    if (versionId === NULL_VERSION_ID) {
      const wasMarker = this.removeNullVersion(key, true);
      return { deleteMarker: wasMarker, versionId };
    }
    const seq = decodeVersionId(versionId);
    if (seq === undefined) return undefined;
    const entry = this.keyVersions(key);
    const slot = entry ? entry.slotOfSeq(seq) : -1;
    if (!entry || slot < 0) return { deleteMarker: false, versionId };
    const wasMarker = entry.isDeleteMarker(slot);
    this.removeSlot(entry, slot);
    this.source.counters.versionsRemoved++;
    return { deleteMarker: wasMarker, versionId };
  }

  /** The sequence number a removed null version of `key` had, if any. */
  removedNullSeq(key: string): number | undefined {
    return this.removedNullSeqs.get(key);
  }

  private appendVersion(key: string, version: NewVersion): number {
    const seq = this.source.allocateSeq(1);
    let entry = this.keyVersions(key);
    if (!entry) {
      entry = new KeyVersions(key);
      this.keys.insert(entry);
    }
    entry.append(seq, version);
    if (version.isDeleteMarker) this.deleteMarkers++;
    else this.objectVersions++;
    return seq;
  }

  /** Returns whether the removed null version was a delete marker (false when there was none). */
  private removeNullVersion(key: string, isDelete: boolean): boolean {
    const entry = this.keyVersions(key);
    const slot = entry ? entry.slotOfNullVersion() : -1;
    if (!entry || slot < 0) return false;
    const wasMarker = entry.isDeleteMarker(slot);
    this.removedNullSeqs.set(key, entry.seqAt(slot));
    this.removeSlot(entry, slot);
    if (isDelete) this.source.counters.versionsRemoved++;
    return wasMarker;
  }

  private removeSlot(entry: KeyVersions, slot: number): void {
    if (entry.isDeleteMarker(slot)) this.deleteMarkers--;
    else this.objectVersions--;
    entry.remove(slot);
    if (entry.liveCount === 0) this.keys.remove(entry);
  }
}

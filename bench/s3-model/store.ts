import { Bucket, type VersionSource } from './bucket';
import { EtagTable } from './etag-table';
import { noSuchBucket, S3Error } from './errors';

export interface StoreCounters {
  /** Versions and delete markers removed by delete requests (overwrites of null versions excluded). */
  versionsRemoved: number;
  deleteMarkersCreated: number;
  objectsPut: number;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}

/** All buckets of one model server, plus what their versions share. */
export class ModelStore implements VersionSource {
  private buckets = new Map<string, Bucket>();
  private nextSeq = 1;
  private lastTime = 0;
  etags = new EtagTable();
  counters: StoreCounters = { versionsRemoved: 0, deleteMarkersCreated: 0, objectsPut: 0 };

  allocateSeq(count: number): number {
    const first = this.nextSeq;
    this.nextSeq += count;
    return first;
  }

  /** Milliseconds, never going backwards, so newer versions never look older. */
  now(): number {
    this.lastTime = Math.max(this.lastTime, Date.now());
    return this.lastTime;
  }

  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  allBuckets(): Bucket[] {
    return [...this.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  createBucket(name: string): Bucket {
    if (!isValidBucketName(name)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
    if (this.buckets.has(name)) {
      throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', {
        BucketName: name,
      });
    }
    const bucket = new Bucket(name, this);
    this.buckets.set(name, bucket);
    return bucket;
  }

  /** Creates the bucket, dropping any bucket of that name first (seeding). */
  replaceBucket(name: string): Bucket {
    this.buckets.delete(name);
    return this.createBucket(name);
  }

  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.entryCount > 0) {
      throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
    }
    this.buckets.delete(name);
  }

  reset(): void {
    this.buckets = new Map();
    this.etags = new EtagTable();
    this.counters = { versionsRemoved: 0, deleteMarkersCreated: 0, objectsPut: 0 };
  }
}

import {
  CreateBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';

/** The endpoint the jest global setup started (moto, or AWS_ENDPOINT_URL_S3). */
export function testEndpoint(): string {
  const endpoint = process.env.VERSION_PURGER_TEST_ENDPOINT;
  if (!endpoint) throw new Error('VERSION_PURGER_TEST_ENDPOINT is not set: run the tests through jest (global setup starts moto_server)');
  return endpoint;
}

/** A plain SDK client for test setup and independent checks (SDK retries on). */
export function testClient(): S3Client {
  return new S3Client({
    endpoint: testEndpoint(),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

export function uniqueBucketName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

/** Creates a bucket with versioning on (or `Suspended`, or none). */
export async function createBucket(
  client: S3Client,
  name: string,
  options: { versioning?: 'Enabled' | 'Suspended' | 'none'; objectLock?: boolean } = {},
): Promise<string> {
  await client.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: options.objectLock || undefined }));
  const versioning = options.versioning ?? 'Enabled';
  if (versioning !== 'none') {
    await client.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: versioning } }));
  }
  return name;
}

export async function put(client: S3Client, bucket: string, key: string, body = 'x'): Promise<string | undefined> {
  const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return out.VersionId;
}

export async function deleteMarker(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Writes `count` versions of each key, keys in parallel, versions of one key in order. */
export async function fill(client: S3Client, bucket: string, keys: string[], versionsPerKey: number, parallel = 8): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        for (let v = 0; v < versionsPerKey; v++) await put(client, bucket, key, `${key}#${v}`);
      }
    }),
  );
}

/** An entry as an independent listing sees it. */
export interface ListedEntry {
  key: string;
  versionId: string;
  isDeleteMarker: boolean;
  isLatest: boolean;
}

/** Lists every version and delete marker, simply and sequentially, without the engine. */
export async function listAll(client: S3Client, bucket: string): Promise<ListedEntry[]> {
  const all: ListedEntry[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const out = await client.send(
      new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
    );
    for (const v of out.Versions ?? []) {
      all.push({ key: v.Key!, versionId: v.VersionId ?? 'null', isDeleteMarker: false, isLatest: !!v.IsLatest });
    }
    for (const m of out.DeleteMarkers ?? []) {
      all.push({ key: m.Key!, versionId: m.VersionId ?? 'null', isDeleteMarker: true, isLatest: !!m.IsLatest });
    }
    if (!out.IsTruncated) return all;
    keyMarker = out.NextKeyMarker;
    versionIdMarker = out.NextVersionIdMarker;
  }
}

/**
 * The shim that makes moto's bare-KeyMarker listings behave as S3's, checked against moto itself:
 * a listing after a marker, paged, holds exactly the entries of the keys after the marker.
 */
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { MotoKeyMarkerShim } from './moto-key-marker-shim';
import { createBucket, deleteMarker, fill, type ListedEntry, listAll, testClient, testEndpoint, uniqueBucketName } from './s3';

let shim: MotoKeyMarkerShim;
let viaShim: S3Client;
const s3 = testClient();

beforeAll(async () => {
  shim = new MotoKeyMarkerShim(testEndpoint());
  await shim.start();
  viaShim = new S3Client({ endpoint: shim.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});

afterAll(async () => {
  viaShim.destroy();
  await shim.stop();
});

/** Every entry after `marker` (a bare KeyMarker), paged by `maxKeys`. */
async function listAfter(client: S3Client, bucket: string, marker: string, maxKeys: number): Promise<string[]> {
  const found: string[] = [];
  let keyMarker: string | undefined = marker;
  let versionIdMarker: string | undefined;
  for (;;) {
    const out = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: maxKeys }));
    for (const v of [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]) found.push(`${v.Key}@${v.VersionId}`);
    if (!out.IsTruncated) return found.sort();
    keyMarker = out.NextKeyMarker;
    versionIdMarker = out.NextVersionIdMarker;
  }
}

test('a bare KeyMarker lists every entry of the keys after it, as S3 does (moto alone drops one, or keeps the marker key)', async () => {
  // GIVEN keys with several versions, a key with only a delete marker, and a folder-like marker
  const bucket = await createBucket(s3, uniqueBucketName('km-shim'));
  await fill(s3, bucket, ['a/1', 'b/1', 'b/2', 'c/1'], 3);
  // b/1's latest entry is a delete marker: the entry moto drops after the marker 'b/'
  await deleteMarker(s3, bucket, 'b/1');
  const all: ListedEntry[] = await listAll(s3, bucket);
  const after = (marker: string) => all.filter((e) => e.key > marker).map((e) => `${e.key}@${e.versionId}`).sort();

  for (const marker of ['a/', 'b/', 'c/', 'z']) {
    // WHEN / THEN, paged small and large (markers between keys, as key ranges' lower bounds are)
    expect(await listAfter(viaShim, bucket, marker, 2)).toEqual(after(marker));
    expect(await listAfter(viaShim, bucket, marker, 1000)).toEqual(after(marker));
  }
  // A marker that is a key: right within one page (see the shim's limit for later pages)
  for (const marker of ['a/1', 'b/1']) expect(await listAfter(viaShim, bucket, marker, 1000)).toEqual(after(marker));
  // AND in moto's order, kind by kind (a reader may take the document's order)
  for (const marker of ['a/', 'b/', 'b/1']) {
    const out = await viaShim.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: marker }));
    const full = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const ids = (list: Array<{ Key?: string; VersionId?: string }> | undefined) => (list ?? []).filter((v) => v.Key! > marker).map((v) => `${v.Key}@${v.VersionId}`);
    expect(ids(out.Versions)).toEqual(ids(full.Versions));
    expect(ids(out.DeleteMarkers)).toEqual(ids(full.DeleteMarkers));
  }
  // AND moto alone does not (the reason for the shim)
  expect(await listAfter(s3, bucket, 'b/', 1000)).not.toEqual(after('b/'));
  expect(shim.fixed).toBeGreaterThan(0);
});

test('a key whose newest entry is a delete marker (moto drops that marker, not a version) lists whole, once', async () => {
  // GIVEN b/1 with a version and, over a second later, a current delete marker
  const bucket = await createBucket(s3, uniqueBucketName('km-shim-dm'));
  await fill(s3, bucket, ['a/1', 'b/1'], 1);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  await deleteMarker(s3, bucket, 'b/1');
  const all: ListedEntry[] = await listAll(s3, bucket);
  const afterA = all.filter((e) => e.key > 'a/~').map((e) => `${e.key}@${e.versionId}`).sort();

  // WHEN / THEN the listing after a/ holds b/1's version and its delete marker, each once
  expect(afterA).toHaveLength(2);
  expect(await listAfter(viaShim, bucket, 'a/~', 1000)).toEqual(afterA);
});

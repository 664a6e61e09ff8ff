/**
 * The test-only shim that makes moto carry on a listing from a deleted marker
 * version, as S3 does (see test/support/moto-marker-shim.ts for why).
 */
import { DeleteObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { MotoMarkerShim } from './moto-marker-shim';
import { createBucket, put, testClient, testEndpoint, uniqueBucketName } from './s3';

let shim: MotoMarkerShim;
let setup: S3Client;

beforeAll(async () => {
  shim = new MotoMarkerShim(testEndpoint());
  await shim.start();
  setup = testClient();
});
afterAll(() => shim.stop());

function clientFor(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
}

async function listFrom(client: S3Client, bucket: string, keyMarker: string, versionIdMarker: string): Promise<string[]> {
  const out = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
  return [...(out.Versions ?? [])].map((v) => `${v.Key}@${v.VersionId}`);
}

describe('MotoMarkerShim', () => {
  test('a listing from a deleted marker version ends on moto, and carries on through the shim as on S3', async () => {
    // GIVEN a: 3 versions, b: 2 versions, listed once through the shim (so it knows their order)
    const bucket = await createBucket(setup, uniqueBucketName('shim'));
    const a = [await put(setup, bucket, 'a', '1'), await put(setup, bucket, 'a', '2'), await put(setup, bucket, 'a', '3')];
    const b = [await put(setup, bucket, 'b', '1'), await put(setup, bucket, 'b', '2')];
    const viaShim = clientFor(shim.endpoint);
    await viaShim.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    // AND a's middle version deleted
    await setup.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a', VersionId: a[1] }));

    // WHEN the listing continues from that deleted version
    const direct = await listFrom(setup, bucket, 'a', a[1]!);
    const shimmed = await listFrom(viaShim, bucket, 'a', a[1]!);

    // THEN moto ends it, and the shim carries on after it: a's older version, then b
    expect(direct).toEqual([]);
    expect(shimmed).toEqual([`a@${a[0]}`, `b@${b[1]}`, `b@${b[0]}`]);
    expect(shim.rewrites).toBe(1);
  });

  test('from a deleted version with nothing before it left, the shim lists from the start; an existing marker is left alone', async () => {
    const bucket = await createBucket(setup, uniqueBucketName('shim-start'));
    const a = await put(setup, bucket, 'a', '1');
    const b = await put(setup, bucket, 'b', '1');
    const viaShim = clientFor(shim.endpoint);
    await viaShim.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const before = shim.rewrites;
    expect(await listFrom(viaShim, bucket, 'b', b!)).toEqual([]);
    expect(shim.rewrites).toBe(before);
    await setup.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a', VersionId: a }));
    expect(await listFrom(viaShim, bucket, 'a', a!)).toEqual([`b@${b}`]);
  });
});

/**
 * One behaviour suite run against moto and against the S3 model server, so
 * the model is checked against a second implementation. Assertions stick to
 * real S3 semantics both share; moto's known deviations (no interleaving of
 * versions and delete markers, ignored Quiet and EncodingType) are not
 * asserted either way.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startModelServer, INSTANT_CONFIG, type ModelServer } from '../../bench/s3-model';

interface Target {
  readonly name: string;
  start(): Promise<string>;
  stop(): Promise<void>;
}

function motoTarget(): Target {
  return {
    name: 'moto',
    start: async () => {
      const endpoint = process.env.VERSION_PURGER_TEST_ENDPOINT;
      if (!endpoint) throw new Error('VERSION_PURGER_TEST_ENDPOINT is not set; run through jest');
      return endpoint;
    },
    stop: async () => undefined,
  };
}

function modelTarget(): Target {
  let server: ModelServer | undefined;
  return {
    name: 'model',
    start: async () => {
      server = await startModelServer({ ...INSTANT_CONFIG });
      return server.endpoint;
    },
    stop: async () => server?.stop(),
  };
}

interface Entry {
  key: string;
  versionId: string;
  isDeleteMarker: boolean;
  isLatest: boolean;
}

function pageEntries(page: ListObjectVersionsCommandOutput): Entry[] {
  return [
    ...(page.Versions ?? []).map((v) => ({ key: v.Key!, versionId: v.VersionId!, isDeleteMarker: false, isLatest: !!v.IsLatest })),
    ...(page.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, versionId: m.VersionId!, isDeleteMarker: true, isLatest: !!m.IsLatest })),
  ];
}

async function listAllPages(s3: S3Client, bucket: string, maxKeys?: number): Promise<Entry[][]> {
  const pages: Entry[][] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: maxKeys, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    pages.push(pageEntries(page));
    if (!page.IsTruncated) return pages;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe.each([motoTarget(), modelTarget()])('S3 conformance: $name', (target) => {
  let s3: S3Client;
  const bucket = `conformance-${randomBytes(4).toString('hex')}`;
  const multiKey = 'docs/multi.txt';
  const oddKey = 'odd dir/a b+c%25 ü€😀.txt';
  const plainKeys = ['alpha', 'zeta/last'];
  const multiVersions: string[] = [];
  let multiMarker = '';
  const allIds = new Set<string>();

  beforeAll(async () => {
    const endpoint = await target.start();
    s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  });

  afterAll(async () => {
    s3?.destroy();
    await target.stop();
  });

  it('creates a versioned bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    expect(versioning.Status).toBe('Enabled');
  });

  it('assigns a new version id to every put and creates delete markers', async () => {
    for (let i = 0; i < 5; i++) {
      const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: multiKey, Body: `v${i}` }));
      expect(out.VersionId).toBeTruthy();
      multiVersions.push(out.VersionId!);
    }
    expect(new Set(multiVersions).size).toBe(5);
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: multiKey }));
    expect(marker.DeleteMarker).toBe(true);
    expect(marker.VersionId).toBeTruthy();
    multiMarker = marker.VersionId!;

    for (const key of [oddKey, ...plainKeys]) {
      const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
      allIds.add(out.VersionId!);
    }
    for (const id of [...multiVersions, multiMarker]) allIds.add(id);
  });

  it('pages through every entry once, in key order, with MaxKeys=2', async () => {
    const pages = await listAllPages(s3, bucket, 2);
    const entries = pages.flat();
    expect(pages.every((p) => p.length <= 2)).toBe(true);
    expect(entries.map((e) => e.versionId).sort()).toEqual([...allIds].sort());

    const keysInOrder = pages.flatMap((p) => [...new Set(p.map((e) => e.key))].sort(byUtf8));
    expect(keysInOrder).toEqual([...keysInOrder].sort(byUtf8));

    // A key's versions come newest first; moto places its markers apart, so only versions are compared.
    const multiVersionsListed = entries.filter((e) => e.key === multiKey && !e.isDeleteMarker).map((e) => e.versionId);
    expect(multiVersionsListed).toEqual([...multiVersions].reverse());

    const latest = entries.filter((e) => e.isLatest);
    expect(latest.map((e) => e.key).sort(byUtf8)).toEqual([multiKey, oddKey, ...plainKeys].sort(byUtf8));
    expect(latest.find((e) => e.key === multiKey)).toMatchObject({ isDeleteMarker: true, versionId: multiMarker });
    expect(entries.find((e) => e.key === oddKey)).toBeDefined();
  });

  it('deletes exactly the listed versions with DeleteObjects', async () => {
    const doomed = [multiVersions[1], multiVersions[3]];
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: doomed.map((VersionId) => ({ Key: multiKey, VersionId })) } }),
    );
    expect(out.Errors ?? []).toEqual([]);
    expect((out.Deleted ?? []).map((d) => d.VersionId).sort()).toEqual([...doomed].sort());

    const remaining = (await listAllPages(s3, bucket)).flat();
    const remainingIds = new Set(remaining.map((e) => e.versionId));
    for (const id of doomed) expect(remainingIds.has(id)).toBe(false);
    expect(remaining).toHaveLength(allIds.size - 2);
    for (const id of doomed) allIds.delete(id);
  });

  it('creates a delete marker for a DeleteObjects entry without a version id', async () => {
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'alpha' }] } }));
    expect(out.Deleted?.[0]).toMatchObject({ Key: 'alpha', DeleteMarker: true });
    expect(out.Deleted?.[0]?.DeleteMarkerVersionId).toBeTruthy();
    allIds.add(out.Deleted![0].DeleteMarkerVersionId!);
    const alpha = (await listAllPages(s3, bucket)).flat().filter((e) => e.key === 'alpha');
    expect(alpha.filter((e) => e.isLatest)).toEqual([expect.objectContaining({ isDeleteMarker: true })]);
  });

  it('round-trips bucket tagging', async () => {
    const TagSet = [
      { Key: 'aws-cdk:auto-delete-objects', Value: 'true' },
      { Key: 'team', Value: 'storage & co' },
    ];
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet } }));
    const got = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    expect(got.TagSet).toEqual(expect.arrayContaining(TagSet));
    expect(got.TagSet).toHaveLength(2);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: bucket }));
    await expect(s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchTagSet' });
  });

  it('round-trips the bucket policy', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${bucket}/*`] }],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    const got = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }));
    expect(JSON.parse(got.Policy!)).toEqual(policy);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    await expect(s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchBucketPolicy' });
  });

  it('refuses to delete a bucket that still holds versions, then deletes it once empty', async () => {
    await expect(s3.send(new DeleteBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'BucketNotEmpty' });

    const everything = (await listAllPages(s3, bucket)).flat();
    expect(everything).toHaveLength(allIds.size);
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: everything.map((e) => ({ Key: e.key, VersionId: e.versionId })) } }),
    );
    expect(out.Errors ?? []).toEqual([]);
    expect((await listAllPages(s3, bucket)).flat()).toEqual([]);

    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await expect(s3.send(new ListObjectVersionsCommand({ Bucket: bucket }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('answers NoSuchBucket for a bucket that never existed', async () => {
    await expect(s3.send(new ListObjectVersionsCommand({ Bucket: `missing-${randomBytes(4).toString('hex')}` }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
      $metadata: expect.objectContaining({ httpStatusCode: 404 }),
    });
  });
});

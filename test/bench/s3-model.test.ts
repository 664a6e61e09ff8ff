/** Behaviour of the S3 model server that moto cannot check: real-S3 details, throttling, seeding, scale. */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { INSTANT_CONFIG, startModelServer, type ModelServer } from '../../bench/s3-model';
import { listVersions } from '../../bench/s3-model/list-versions';
import { parseArguments } from '../../bench/s3-model/main';
import { partitionOf, PartitionThrottle } from '../../bench/s3-model/token-bucket';

function clientFor(server: ModelServer): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
}

interface Entry {
  key: string;
  versionId: string;
  isDeleteMarker: boolean;
  isLatest: boolean;
}

function entriesOf(page: ListObjectVersionsCommandOutput): Entry[] {
  return [
    ...(page.Versions ?? []).map((v) => ({ key: v.Key!, versionId: v.VersionId!, isDeleteMarker: false, isLatest: !!v.IsLatest })),
    ...(page.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, versionId: m.VersionId!, isDeleteMarker: true, isLatest: !!m.IsLatest })),
  ];
}

async function listEverything(s3: S3Client, bucket: string, maxKeys?: number): Promise<{ entries: Entry[]; pages: number }> {
  const entries: Entry[] = [];
  let pages = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: maxKeys, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    pages++;
    entries.push(...entriesOf(page));
    if (!page.IsTruncated) return { entries, pages };
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/** Versions and delete markers of a ListVersionsResult in document order. */
function xmlEntryOrder(xml: string): Array<{ kind: string; key: string; versionId: string; isLatest: boolean }> {
  const found = [...xml.matchAll(/<(Version|DeleteMarker)>(.*?)<\/\1>/g)];
  return found.map(([, kind, body]) => ({
    kind,
    key: /<Key>(.*?)<\/Key>/.exec(body)![1],
    versionId: /<VersionId>(.*?)<\/VersionId>/.exec(body)![1],
    isLatest: /<IsLatest>true<\/IsLatest>/.test(body),
  }));
}

async function versionedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

async function put(s3: S3Client, bucket: string, key: string, body = 'x'): Promise<string> {
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId ?? 'null';
}

describe('S3 model server', () => {
  let server: ModelServer;
  let s3: S3Client;

  beforeAll(async () => {
    server = await startModelServer({ ...INSTANT_CONFIG });
    s3 = clientFor(server);
  });

  afterAll(async () => {
    s3.destroy();
    await server.stop();
  });

  it('seeds a versioned bucket in memory with the requested shape', async () => {
    const result = server.seed({ bucket: 'seeded', prefixes: 4, versionsPerKey: 3, keys: 1000, deleteMarkerEvery: 10, hotKeyVersions: 50 });
    expect(result).toMatchObject({ keys: 1001, objectVersions: 3050, deleteMarkers: 100, totalVersions: 3150 });
    expect(server.stats().buckets.seeded).toEqual({ keys: 1001, objectVersions: 3050, deleteMarkers: 100, versionsRemaining: 3150 });

    const { entries, pages } = await listEverything(s3, 'seeded');
    expect(pages).toBe(4);
    expect(entries).toHaveLength(3150);
    expect(new Set(entries.map((e) => e.versionId)).size).toBe(3150);
    const latest = entries.filter((e) => e.isLatest);
    expect(new Set(latest.map((e) => e.key)).size).toBe(1001);
    expect(latest.filter((e) => e.isDeleteMarker)).toHaveLength(100);
    expect(entries.map((e) => e.key)).toContain('p03/obj-000249');
    expect(entries.filter((e) => e.key === 'hot/object')).toHaveLength(50);
  });

  it('interleaves versions and delete markers in true order, newest first', async () => {
    await versionedBucket(s3, 'interleave');
    const v1 = await put(s3, 'interleave', 'k');
    const m1 = (await s3.send(new DeleteObjectCommand({ Bucket: 'interleave', Key: 'k' }))).VersionId!;
    const v2 = await put(s3, 'interleave', 'k');
    const m2 = (await s3.send(new DeleteObjectCommand({ Bucket: 'interleave', Key: 'k' }))).VersionId!;
    const xml = await (await fetch(`${server.endpoint}/interleave?versions`)).text();
    expect(xmlEntryOrder(xml)).toEqual([
      { kind: 'DeleteMarker', key: 'k', versionId: m2, isLatest: true },
      { kind: 'Version', key: 'k', versionId: v2, isLatest: false },
      { kind: 'DeleteMarker', key: 'k', versionId: m1, isLatest: false },
      { kind: 'Version', key: 'k', versionId: v1, isLatest: false },
    ]);
  });

  it('ends pages in the middle of a key and resumes there', async () => {
    server.seed({ bucket: 'hot-key', keys: 2, prefixes: 0, hotKeyVersions: 2500 });
    const first = await s3.send(new ListObjectVersionsCommand({ Bucket: 'hot-key' }));
    expect(first.IsTruncated).toBe(true);
    expect(first.NextKeyMarker).toBe('hot/object');
    expect(first.Versions).toHaveLength(1000);
    const { entries, pages } = await listEverything(s3, 'hot-key');
    expect(pages).toBe(3);
    expect(entries).toHaveLength(2502);
    expect(entries.map((e) => e.key)).toEqual([...Array(2500).fill('hot/object'), 'obj-000000', 'obj-000001']);
  });

  it('carries on from a version-id-marker whose version was deleted meanwhile', async () => {
    await versionedBucket(s3, 'marker-gone');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await put(s3, 'marker-gone', 'k', `v${i}`));
    await put(s3, 'marker-gone', 'later');
    const newestFirst = [...ids].reverse();

    const page1 = await s3.send(new ListObjectVersionsCommand({ Bucket: 'marker-gone', MaxKeys: 2 }));
    expect(entriesOf(page1).map((e) => e.versionId)).toEqual(newestFirst.slice(0, 2));
    expect(page1.NextVersionIdMarker).toBe(newestFirst[1]);
    await s3.send(
      new DeleteObjectsCommand({ Bucket: 'marker-gone', Delete: { Objects: newestFirst.slice(0, 2).map((VersionId) => ({ Key: 'k', VersionId })) } }),
    );

    const page2 = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'marker-gone', MaxKeys: 2, KeyMarker: page1.NextKeyMarker, VersionIdMarker: page1.NextVersionIdMarker }),
    );
    expect(entriesOf(page2).map((e) => e.versionId)).toEqual(newestFirst.slice(2, 4));
    expect(entriesOf(page2)[0].isLatest).toBe(true);

    // Even the whole key gone: the listing moves on to the next key instead of ending.
    await s3.send(
      new DeleteObjectsCommand({ Bucket: 'marker-gone', Delete: { Objects: newestFirst.slice(2).map((VersionId) => ({ Key: 'k', VersionId })) } }),
    );
    const page3 = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'marker-gone', MaxKeys: 2, KeyMarker: page2.NextKeyMarker, VersionIdMarker: page2.NextVersionIdMarker }),
    );
    expect(entriesOf(page3).map((e) => e.key)).toEqual(['later']);
  });

  it('keeps null versions in place: unversioned, then enabled, then suspended', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'nulls' }));
    expect(await put(s3, 'nulls', 'k', 'unversioned')).toBe('null');
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'nulls', VersioningConfiguration: { Status: 'Enabled' } }));
    const v2 = await put(s3, 'nulls', 'k', 'enabled');
    let listed = entriesOf(await s3.send(new ListObjectVersionsCommand({ Bucket: 'nulls' })));
    expect(listed.map((e) => e.versionId)).toEqual([v2, 'null']);

    // A listing resumed at (k, "null") after the null version is deleted still carries on.
    await put(s3, 'nulls', 'm');
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: 'nulls', MaxKeys: 2 }));
    expect(page.NextVersionIdMarker).toBe('null');
    await s3.send(new DeleteObjectCommand({ Bucket: 'nulls', Key: 'k', VersionId: 'null' }));
    const next = await s3.send(new ListObjectVersionsCommand({ Bucket: 'nulls', KeyMarker: 'k', VersionIdMarker: 'null' }));
    expect(entriesOf(next).map((e) => e.key)).toEqual(['m']);

    await s3.send(new PutBucketVersioningCommand({ Bucket: 'nulls', VersioningConfiguration: { Status: 'Suspended' } }));
    expect(await put(s3, 'nulls', 'k', 'suspended-1')).toBe('null');
    expect(await put(s3, 'nulls', 'k', 'suspended-2')).toBe('null');
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'nulls', Key: 'k' }));
    expect(marker).toMatchObject({ DeleteMarker: true, VersionId: 'null' });
    listed = entriesOf(await s3.send(new ListObjectVersionsCommand({ Bucket: 'nulls', Prefix: 'k' })));
    expect(listed).toEqual(
      expect.arrayContaining([
        { key: 'k', versionId: 'null', isDeleteMarker: true, isLatest: true },
        { key: 'k', versionId: v2, isDeleteMarker: false, isLatest: false },
      ]),
    );
    expect(listed).toHaveLength(2);
  });

  it('orders keys by UTF-8 bytes, not UTF-16 code units', async () => {
    await versionedBucket(s3, 'utf8-order');
    const keys = ['😀', '\uFF5E', 'a', 'ä', 'Z'];
    for (const key of keys) await put(s3, 'utf8-order', key);
    const { entries } = await listEverything(s3, 'utf8-order', 1);
    expect(entries.map((e) => e.key)).toEqual(['Z', 'a', 'ä', '\uFF5E', '😀']);
  });

  it('URL-encodes keys, markers and prefixes with encoding-type=url', async () => {
    await versionedBucket(s3, 'encoded');
    for (const key of ['enc/a b+c%.txt', 'enc/ü/x', 'enc/z']) await put(s3, 'encoded', key);

    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: 'encoded', Prefix: 'enc/', MaxKeys: 1, EncodingType: 'url' }));
    expect(page.EncodingType).toBe('url');
    expect(page.Versions?.[0].Key).toBe('enc/a+b%2Bc%25.txt');
    expect(page.NextKeyMarker).toBe('enc/a+b%2Bc%25.txt');
    expect(page.Prefix).toBe('enc/');

    const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    const next = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: 'encoded',
        Prefix: 'enc/',
        Delimiter: '/',
        EncodingType: 'url',
        KeyMarker: decode(page.NextKeyMarker!),
        VersionIdMarker: page.NextVersionIdMarker,
      }),
    );
    expect(next.CommonPrefixes).toEqual([{ Prefix: 'enc/%C3%BC/' }]);
    expect(next.Versions?.map((v) => v.Key)).toEqual(['enc/z']);

    const raw = await s3.send(new ListObjectVersionsCommand({ Bucket: 'encoded', Prefix: 'enc/a' }));
    expect(raw.EncodingType).toBeUndefined();
    expect(raw.Versions?.[0].Key).toBe('enc/a b+c%.txt');
  });

  it('counts common prefixes towards MaxKeys and resumes past them', async () => {
    await versionedBucket(s3, 'delimited');
    for (const key of ['a/1', 'a/2', 'b/1', 'c']) await put(s3, 'delimited', key);
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: 'delimited', Delimiter: '/', MaxKeys: 1, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
      );
      seen.push(...(page.CommonPrefixes ?? []).map((p) => `prefix:${p.Prefix}`), ...(page.Versions ?? []).map((v) => `key:${v.Key}`));
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    expect(seen).toEqual(['prefix:a/', 'prefix:b/', 'key:c']);
  });

  it('rejects DeleteObjects with more than 1000 keys as MalformedXML', async () => {
    const Objects = Array.from({ length: 1001 }, (_, i) => ({ Key: `k${i}` }));
    await expect(s3.send(new DeleteObjectsCommand({ Bucket: 'seeded', Delete: { Objects } }))).rejects.toMatchObject({
      name: 'MalformedXML',
      $metadata: expect.objectContaining({ httpStatusCode: 400 }),
    });
  });

  it('honours Quiet mode and reports missing versions, even ids it never issued, as Deleted', async () => {
    await versionedBucket(s3, 'quiet');
    const id = await put(s3, 'quiet', 'k');
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'quiet',
        Delete: { Quiet: true, Objects: [{ Key: 'k', VersionId: id }, { Key: 'k', VersionId: 'not-a-version-id' }, { Key: 'gone', VersionId: id }] },
      }),
    );
    expect(out.Deleted ?? []).toEqual([]);
    expect(out.Errors ?? []).toEqual([]);
    expect(server.stats().buckets.quiet.versionsRemaining).toBe(0);
    const loud = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'quiet', Delete: { Objects: [{ Key: 'k', VersionId: id }, { Key: 'k', VersionId: 'not-a-version-id' }] } }),
    );
    expect(loud.Errors ?? []).toEqual([]);
    expect(loud.Deleted).toEqual([
      { Key: 'k', VersionId: id },
      { Key: 'k', VersionId: 'not-a-version-id' },
    ]);
    await expect(s3.send(new DeleteObjectCommand({ Bucket: 'quiet', Key: 'k', VersionId: 'not-a-version-id' }))).rejects.toMatchObject({
      name: 'InvalidArgument',
    });
  });

  it('answers MalformedXML for a batch holding a control-character key; DeleteObject still works', async () => {
    await versionedBucket(s3, 'control-chars');
    const key = 'bad\u0001key';
    const id = await put(s3, 'control-chars', key);
    await expect(
      s3.send(new DeleteObjectsCommand({ Bucket: 'control-chars', Delete: { Objects: [{ Key: key, VersionId: id }, { Key: 'fine' }] } })),
    ).rejects.toMatchObject({ name: 'MalformedXML' });
    await s3.send(new DeleteObjectCommand({ Bucket: 'control-chars', Key: key, VersionId: id }));
    expect(server.stats().buckets['control-chars'].versionsRemaining).toBe(0);
  });

  it('decodes aws-chunked streaming uploads', async () => {
    await versionedBucket(s3, 'chunked');
    const body = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
    const out = await s3.send(new PutObjectCommand({ Bucket: 'chunked', Key: 'streamed', Body: body, ContentLength: 11 }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'chunked', Key: 'streamed' }));
    expect(head.ContentLength).toBe(11);
    expect(head.ETag).toBe(`"${createHash('md5').update('hello world').digest('hex')}"`);
    expect(head.VersionId).toBe(out.VersionId);
  });

  it('lists only current objects with ListObjectsV2', async () => {
    await versionedBucket(s3, 'v2-list');
    for (const key of ['a', 'b', 'c', 'd/1', 'd/2']) await put(s3, 'v2-list', key);
    await s3.send(new DeleteObjectCommand({ Bucket: 'v2-list', Key: 'b' }));
    const first = await s3.send(new ListObjectsV2Command({ Bucket: 'v2-list', MaxKeys: 2, Delimiter: '/' }));
    expect(first.Contents?.map((c) => c.Key)).toEqual(['a', 'c']);
    const second = await s3.send(new ListObjectsV2Command({ Bucket: 'v2-list', Delimiter: '/', ContinuationToken: first.NextContinuationToken }));
    expect(second.CommonPrefixes).toEqual([{ Prefix: 'd/' }]);
    expect(second.IsTruncated).toBe(false);
  });
});

describe('S3 model throttling', () => {
  let server: ModelServer;
  let s3: S3Client;
  const keysIn = (prefix: string, n: number): Array<{ Key: string }> => Array.from({ length: n }, (_, i) => ({ Key: `${prefix}obj-${i}` }));

  beforeAll(async () => {
    server = await startModelServer({ ...INSTANT_CONFIG, throttle: true, rate: 50 });
    s3 = clientFor(server);
    await versionedBucket(s3, 'throttled');
  });

  afterAll(async () => {
    s3.destroy();
    await server.stop();
  });

  it('answers 503 SlowDown once a prefix is over its rate, and counts it', async () => {
    await s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: keysIn('p00/', 50) } }));
    await expect(s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: keysIn('p00/', 50) } }))).rejects.toMatchObject({
      name: 'SlowDown',
      message: 'Please reduce your request rate.',
      $metadata: expect.objectContaining({ httpStatusCode: 503 }),
    });
    expect(server.stats().slowDown503).toBe(1);
    // Another prefix has its own budget.
    await s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: keysIn('p01/', 50) } }));
  });

  it('refuses a request spanning partitions as a whole and charges none of them', async () => {
    await s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: keysIn('p02/', 50) } }));
    const spanning = [...keysIn('p02/', 10), ...keysIn('p03/', 40)];
    await expect(s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: spanning } }))).rejects.toMatchObject({ name: 'SlowDown' });
    await s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: keysIn('p03/', 50) } }));
  });

  it('charges single-key writes one token each', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: 'throttled', Key: `p04/k${i}`, Body: 'x' }))),
    );
    // 50 tokens up front; the rest is refused apart from what trickles in while the requests arrive.
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeLessThanOrEqual(50);
  });

  it('can be switched off at runtime through /__model/config', async () => {
    const res = await fetch(`${server.endpoint}/__model/config`, { method: 'POST', body: JSON.stringify({ throttle: false }) });
    expect(await res.json()).toMatchObject({ throttle: false, rate: 50 });
    for (let i = 0; i < 3; i++) await s3.send(new DeleteObjectsCommand({ Bucket: 'throttled', Delete: { Objects: keysIn('p00/', 1000) } }));
    server.configure({ throttle: true });
  });

  it('refills partitions at the configured rate up to one burst', () => {
    let now = 0;
    const throttle = new PartitionThrottle({ ratePerSecond: 100, burstSeconds: 1 }, () => now);
    const cost = (n: number): Map<string, number> => new Map([['b\u0000p/', n]]);
    expect(throttle.tryTake(cost(100))).toBe(true);
    expect(throttle.tryTake(cost(1))).toBe(false);
    now = 500;
    expect(throttle.tryTake(cost(51))).toBe(false);
    expect(throttle.tryTake(cost(50))).toBe(true);
    now = 60_000;
    expect(throttle.tryTake(cost(101))).toBe(false);
    expect(throttle.tryTake(cost(100))).toBe(true);
  });

  it('partitions keys at their first slash', () => {
    expect(partitionOf('p07/obj-1')).toBe('p07/');
    expect(partitionOf('a/b/c')).toBe('a/');
    expect(partitionOf('flat')).toBe('');
  });
});

describe('S3 model admin API and CLI', () => {
  let server: ModelServer;

  beforeAll(async () => {
    server = await startModelServer({ ...INSTANT_CONFIG });
  });

  afterAll(async () => server.stop());

  const post = async (path: string, body: unknown): Promise<Response> =>
    fetch(`${server.endpoint}/__model/${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('seeds, reports, reconfigures and resets over HTTP', async () => {
    const seeded = await post('seed', { bucket: 'admin-seed', keys: 10, versionsPerKey: 2, tags: { 'aws-cdk:auto-delete-objects': 'true' } });
    expect(await seeded.json()).toMatchObject({ totalVersions: 20 });
    const tagging = await (await fetch(`${server.endpoint}/admin-seed?tagging`)).text();
    expect(tagging).toContain('<Key>aws-cdk:auto-delete-objects</Key><Value>true</Value>');

    const stats = await (await fetch(`${server.endpoint}/__model/stats`)).json();
    expect(stats.buckets['admin-seed']).toEqual({ keys: 10, objectVersions: 20, deleteMarkers: 0, versionsRemaining: 20 });
    expect(stats.requestsByOperation.GetBucketTagging).toBe(1);

    const config = await (await post('config', { listLatencyMs: 7, rate: 100 })).json();
    expect(config).toMatchObject({ listLatencyMs: 7, rate: 100, throttle: false });
    expect((await post('config', { listLatencyMs: -1 })).status).toBe(400);
    expect((await post('config', { unknownSetting: 1 })).status).toBe(400);
    expect((await post('seed', { bucket: 'x', keys: 1 })).status).toBe(400);

    await post('reset', {});
    expect((await (await fetch(`${server.endpoint}/__model/stats`)).json()).buckets).toEqual({});
  });

  it('delays list pages by the configured latency', async () => {
    server.configure({ listLatencyMs: 100, jitter: 0 });
    server.seed({ bucket: 'slow-list', keys: 1 });
    const started = performance.now();
    await fetch(`${server.endpoint}/slow-list?versions`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    server.configure({ listLatencyMs: 0 });
  });

  it('parses the CLI flags', () => {
    const { options, seeds } = parseArguments([
      '--port',
      '0',
      '--list-latency-ms=50',
      '--delete-base-ms',
      '100',
      '--delete-per-key-ms',
      '0.5',
      '--rate',
      '1000',
      '--jitter',
      '0',
      '--no-throttle',
      '--seed',
      '{"bucket":"cli-seed","keys":5}',
    ]);
    expect(options).toEqual({ port: 0, listLatencyMs: 50, deleteBaseMs: 100, deletePerKeyMs: 0.5, rate: 1000, jitter: 0, throttle: false });
    expect(seeds).toEqual([{ bucket: 'cli-seed', keys: 5 }]);
    expect(() => parseArguments(['--rate', 'fast'])).toThrow(/non-negative number/);
    expect(() => parseArguments(['--bogus'])).toThrow(/unknown argument/);
  });

  it('parses the fault injection flags', () => {
    const { options } = parseArguments(['--internal-error-rate', '0.05', '--connection-reset-rate', '0.01', '--key-error-rate', '0.05', '--fault-seed', '42']);
    expect(options).toEqual({ internalErrorRate: 0.05, connectionResetRate: 0.01, keyErrorRate: 0.05, faultSeed: 42 });
  });
});

/** One raw HTTP request: the status, or the network error code when the connection was dropped. */
function rawRequest(endpoint: string, method: string, path: string, body?: string): Promise<{ status?: number; error?: string; body: string }> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}${path}`, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, body: '' }));
    req.end(body);
  });
}

describe('S3 model fault injection', () => {
  let server: ModelServer;

  beforeEach(async () => {
    server = await startModelServer({ ...INSTANT_CONFIG });
  });

  afterEach(async () => server.stop());

  it('answers the configured fraction of S3 requests 500 InternalError, before applying them, and never the admin API', async () => {
    // GIVEN every request is to fail
    server.seed({ bucket: 'f500', keys: 1 });
    server.configure({ internalErrorRate: 1 });

    // WHEN a version is deleted and the stats are read
    const answer = await rawRequest(server.endpoint, 'DELETE', '/f500/obj-000000');
    const stats = await rawRequest(server.endpoint, 'GET', '/__model/stats');

    // THEN S3 said InternalError and nothing changed; the admin API answered normally
    expect(answer.status).toBe(500);
    expect(answer.body).toContain('<Code>InternalError</Code>');
    expect(stats.status).toBe(200);
    expect(server.stats().buckets.f500.versionsRemaining).toBe(1);
    expect(server.stats().faultsInjected).toEqual({ internalErrors: 1, connectionResets: 0, keyInternalErrors: 0 });
    expect(server.stats().errorsByCode.InternalError).toBe(1);
  });

  it('drops the connection of the configured fraction of requests, some before applying them and some after', async () => {
    // GIVEN every connection is to be reset
    await rawRequest(server.endpoint, 'PUT', '/freset');
    server.configure({ connectionResetRate: 1 });

    // WHEN 100 PutObject requests are sent
    const answers = [];
    for (let i = 0; i < 100; i++) answers.push(await rawRequest(server.endpoint, 'PUT', `/freset/k${i}`, 'x'));

    // THEN no request got an answer: every one saw the connection reset
    expect(new Set(answers.map((a) => a.error))).toEqual(new Set(['ECONNRESET']));
    expect(server.stats().faultsInjected.connectionResets).toBe(100);
    // AND some were applied before their answer was lost, some were not
    const applied = server.stats().buckets.freset.keys;
    expect(applied).toBeGreaterThan(20);
    expect(applied).toBeLessThan(80);
  });

  it('answers the configured fraction of keys inside a DeleteObjects InternalError in a 200, and deletes only the others', async () => {
    // GIVEN 200 versions and half of the keys to fail
    server.seed({ bucket: 'fkeys', keys: 200, prefixes: 0 });
    server.configure({ keyErrorRate: 0.5 });
    const s3 = clientFor(server);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'fkeys' }));

    // WHEN all of them are deleted in one request
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'fkeys', Delete: { Objects: (listed.Versions ?? []).map((v) => ({ Key: v.Key, VersionId: v.VersionId })) } }),
    );
    s3.destroy();

    // THEN the answer is a 200 whose errors are InternalError, and exactly the failed keys are still there
    const errors = out.Errors ?? [];
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(errors.length).toBeGreaterThan(60);
    expect(errors.length).toBeLessThan(140);
    expect(new Set(errors.map((e) => e.Code))).toEqual(new Set(['InternalError']));
    expect(server.stats().faultsInjected.keyInternalErrors).toBe(errors.length);
    expect(server.stats().buckets.fkeys.objectVersions).toBe(errors.length);
    expect((out.Deleted ?? []).length).toBe(200 - errors.length);
  });

  it('draws the same faults from the same seed, and other faults from another seed', async () => {
    // GIVEN 30% of requests fail
    server.seed({ bucket: 'fseed', keys: 1 });
    const pattern = async (): Promise<string> => {
      let out = '';
      for (let i = 0; i < 60; i++) out += (await rawRequest(server.endpoint, 'GET', '/fseed?versioning')).status === 500 ? 'x' : '.';
      return out;
    };

    // WHEN the same 60 requests are sent after a reset with seed 7, twice, then with seed 8
    server.configure({ internalErrorRate: 0.3, faultSeed: 7 });
    const first = await pattern();
    server.reset();
    server.seed({ bucket: 'fseed', keys: 1 });
    const again = await pattern();
    server.configure({ faultSeed: 8 });
    const other = await pattern();

    // THEN the sequence repeats with its seed and differs with another
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(first).toMatch(/x/);
    expect(first).toMatch(/\./);
  });

  it('rejects fault rates outside 0 to 1', () => {
    expect(() => server.configure({ keyErrorRate: 1.5 })).toThrow(/fraction from 0 to 1/);
    expect(() => server.configure({ internalErrorRate: -0.1 })).toThrow(/non-negative/);
  });
});

describe('S3 model at scale', () => {
  it('seeds a million versions, then lists and deletes every one of them', async () => {
    const server = await startModelServer({ ...INSTANT_CONFIG });
    try {
      const result = server.seed({ bucket: 'million', prefixes: 16, keys: 100_000, versionsPerKey: 10 });
      expect(result.totalVersions).toBe(1_000_000);

      const s3 = clientFor(server);
      const middle = await s3.send(new ListObjectVersionsCommand({ Bucket: 'million', KeyMarker: 'p08/obj-003000' }));
      expect(middle.Versions).toHaveLength(1000);
      expect(middle.Versions?.[0].Key).toBe('p08/obj-003001');
      s3.destroy();

      // Page through in process and delete in listing order, as a purger would.
      const bucket = server.model.store.bucket('million');
      let keyMarker = '';
      let versionIdMarker = '';
      let deleted = 0;
      for (;;) {
        const page = listVersions(bucket, { prefix: '', delimiter: '', keyMarker, versionIdMarker, maxKeys: 1000 });
        for (const entry of page.entries) {
          if ('version' in entry) {
            bucket.deleteVersion(entry.version.key, entry.version.versionId);
            deleted++;
          }
        }
        if (!page.isTruncated) break;
        keyMarker = page.nextKeyMarker!;
        versionIdMarker = page.nextVersionIdMarker!;
      }
      expect(deleted).toBe(1_000_000);
      expect(server.stats().buckets.million).toEqual({ keys: 0, objectVersions: 0, deleteMarkers: 0, versionsRemaining: 0 });
    } finally {
      await server.stop();
    }
  });
});

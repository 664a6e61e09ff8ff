import {
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import type { PurgeResult, ResumeToken } from '../../lambda/engine/purge-types';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { createBucket, deleteMarker, fill, listAll, put, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

let setup: S3Client;
const engineClient = () => createS3Client({ endpoint: testEndpoint(), region: 'us-east-1' });
const identities = (entries: Array<{ key: string; versionId: string }>) => entries.map((e) => `${e.key}@${e.versionId}`).sort();

beforeAll(() => {
  setup = testClient();
});

describe('purgeBucket against a real S3-compatible server', () => {
  test('empties a bucket with versions, delete markers and keys spread over folders', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('mixed'));
    await fill(setup, bucket, ['a', 'b/1', 'b/2', 'c/x/1', 'd', 'e/1'], 3);
    await deleteMarker(setup, bucket, 'a');
    await deleteMarker(setup, bucket, 'b/1');
    expect(await listAll(setup, bucket)).toHaveLength(20);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(result.deleted).toBe(18);
    expect(result.deleteMarkersDeleted).toBe(2);
    const bodyBytes = ['a', 'b/1', 'b/2', 'c/x/1', 'd', 'e/1'].reduce((sum, key) => sum + 3 * `${key}#0`.length, 0);
    expect(result.bytesDeleted).toBe(bodyBytes);
    expect(result.failed).toBe(0);
    expect(result.resumeToken).toBeNull();
  });

  test('deletes keys that need escaping, including a control character that XML cannot carry', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('tricky'));
    const keys = ['with space', 'plus+sign', 'percent%20sign', 'a%b', `amp&lt<gt>quot"apos'`, 'ünïcödé/日本語', 'emoji/🪣', 'ctrl\u0001key', 'esc\u001bkey', 'folder/'];
    for (const key of keys) {
      await put(setup, bucket, key, 'one');
      await put(setup, bucket, key, 'two');
    }
    await deleteMarker(setup, bucket, 'ctrl\u0001key');
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(result.deleted).toBe(20);
    expect(result.deleteMarkersDeleted).toBe(1);
    expect(result.failed).toBe(0);
  });

  test('deletes a hot key whose versions span several list pages', async () => {
    // GIVEN: 1,050 versions of one key (a page holds 1,000), written in order
    const bucket = await createBucket(setup, uniqueBucketName('hotkey'));
    await fill(setup, bucket, ['hot'], 1050);
    await fill(setup, bucket, ['after/1', 'before'], 2);
    const before = await listAll(setup, bucket);
    expect(before).toHaveLength(1054);
    const selected = new Set<string>();
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket, onSelected: (e) => selected.add(`${e.key}@${e.versionId}`) });
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect([...selected].sort()).toEqual(identities(before));
    // moto is not thread-safe for concurrent deletes of one key's versions and can
    // bring a few back; the confirming pass deletes them again, so counts may exceed
    // the bucket's size here (on S3 they are exact).
    expect(result.deleted).toBeGreaterThanOrEqual(1054);
    expect(result.failed).toBe(0);
  }, 180_000);

  test('deletes null versions written before versioning and while it was suspended', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('nullver'), { versioning: 'none' });
    await put(setup, bucket, 'pre-versioning');
    await setup.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await put(setup, bucket, 'pre-versioning');
    await put(setup, bucket, 'suspended');
    await setup.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
    await put(setup, bucket, 'suspended');
    await deleteMarker(setup, bucket, 'pre-versioning');
    const before = await listAll(setup, bucket);
    expect(before.some((e) => e.versionId === 'null')).toBe(true);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(result.deleted + result.deleteMarkersDeleted).toBe(before.length);
  });

  test('empties a bucket that was never versioned', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('unversioned'), { versioning: 'none' });
    await fill(setup, bucket, ['x/1', 'x/2', 'y', 'z/deep/er'], 1);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(result.deleted).toBe(4);
  });

  test('deletes only keys under the given prefixes', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('prefixes'));
    await fill(setup, bucket, ['logs/a', 'logs/b', 'logsX', 'exports/1', 'keep/1', 'keep/2', 'root'], 2);
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket, prefixes: ['logs/', 'exports/', 'logs/a'] });
    // THEN
    const left = await listAll(setup, bucket);
    expect([...new Set(left.map((e) => e.key))].sort()).toEqual(['keep/1', 'keep/2', 'logsX', 'root']);
    expect(left).toHaveLength(8);
    expect(result.deleted).toBe(6);
  });

  test('a dry run lists and selects but deletes nothing', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('dryrun'));
    await fill(setup, bucket, ['a', 'b/c'], 3);
    await deleteMarker(setup, bucket, 'a');
    const before = await listAll(setup, bucket);
    const selected: string[] = [];
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket, dryRun: true, onSelected: (e) => selected.push(`${e.key}@${e.versionId}`) });
    // THEN
    expect(identities(await listAll(setup, bucket))).toEqual(identities(before));
    expect(result.deleted + result.deleteMarkersDeleted).toBe(0);
    expect(result.selected).toBe(before.length);
    expect(selected.sort()).toEqual(identities(before));
  });

  test('a bucket that does not exist is reported as nothing to delete', async () => {
    const result = await purgeBucket({ client: engineClient(), bucket: uniqueBucketName('missing') });
    expect(result.bucketMissing).toBe(true);
    expect(result.deleted + result.failed).toBe(0);
  });

  test('a late writer during the first pass is caught by the confirming pass', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('latewriter'));
    await fill(setup, bucket, ['a/1', 'b/1', 'c/1'], 2);
    let wrote: Promise<unknown> | undefined;
    // WHEN: a writer adds a key while the first pass runs
    const result = await purgeBucket({
      client: engineClient(),
      bucket,
      onSelected: () => {
        wrote ??= setup.send(new PutObjectCommand({ Bucket: bucket, Key: 'late/writer', Body: 'late' }));
      },
    });
    await wrote;
    // THEN
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(result.passes).toBeGreaterThanOrEqual(2);
    expect(result.deleted).toBe(7);
  });

  test('a run stopped by its deadline resumes from its token until the bucket is empty', async () => {
    // GIVEN: six folders, so seven key ranges listed two at a time
    const bucket = await createBucket(setup, uniqueBucketName('resume'));
    const keys = ['f1/a', 'f2/a', 'f3/a', 'f4/a', 'f5/a', 'f6/a', 'f6/b'];
    await fill(setup, bucket, keys, 3);
    await deleteMarker(setup, bucket, 'f3/a');
    const total = (await listAll(setup, bucket)).length;
    // WHEN: every list page takes 300 ms, every run gets 1 s, and the token travels as JSON
    const client = engineClient();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectVersionsCommand') await new Promise((r) => setTimeout(r, 300));
        return next(args);
      },
      { step: 'initialize', name: 'slowListing' },
    );
    let token: ResumeToken | null = null;
    let runs = 0;
    let last: PurgeResult;
    do {
      last = await purgeBucket({
        client,
        bucket,
        listConcurrency: 2,
        deadline: Date.now() + 1000,
        resumeToken: token,
      });
      token = last.resumeToken ? (JSON.parse(JSON.stringify(last.resumeToken)) as ResumeToken) : null;
      runs++;
    } while (token && runs < 60);
    // THEN
    expect(token).toBeNull();
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(last.deleted + last.deleteMarkersDeleted).toBe(total);
  }, 120_000);

  test('an aborted run stops cleanly with a token that finishes the job', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('abort'));
    await fill(setup, bucket, ['p1/a', 'p2/a', 'p3/a', 'p4/a'], 2);
    const abort = new AbortController();
    // WHEN
    const first = await purgeBucket({ client: engineClient(), bucket, listConcurrency: 1, signal: abort.signal, onSelected: () => abort.abort() });
    const second = await purgeBucket({ client: engineClient(), bucket, resumeToken: first.resumeToken });
    // THEN
    expect(first.resumeToken).not.toBeNull();
    expect(await listAll(setup, bucket)).toEqual([]);
    expect(second.deleted).toBe(8);
  });
});

describe('purgeBucket on an Object Lock bucket', () => {
  const retainUntil = () => new Date(Date.now() + 24 * 3600 * 1000);

  async function lockedBucket(label: string) {
    const bucket = await createBucket(setup, uniqueBucketName(label), { objectLock: true });
    const gov = await setup.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'governance', Body: 'g', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: retainUntil() }),
    );
    const comp = await setup.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'compliance', Body: 'c', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: retainUntil() }),
    );
    const hold = await setup.send(new PutObjectCommand({ Bucket: bucket, Key: 'legal-hold', Body: 'h' }));
    await setup.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: 'legal-hold', VersionId: hold.VersionId, LegalHold: { Status: 'ON' } }));
    await put(setup, bucket, 'free');
    await put(setup, bucket, 'free');
    return { bucket, gov: gov.VersionId!, comp: comp.VersionId!, hold: hold.VersionId! };
  }

  test('without bypass, every locked version is reported with its lock and nothing else is left', async () => {
    // GIVEN
    const { bucket, gov, comp, hold } = await lockedBucket('lock-nobypass');
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket });
    // THEN
    expect(identities(await listAll(setup, bucket))).toEqual(identities([
      { key: 'compliance', versionId: comp },
      { key: 'governance', versionId: gov },
      { key: 'legal-hold', versionId: hold },
    ]));
    expect(result.failed).toBe(3);
    expect(result.deleted).toBe(2);
    const byKey = Object.fromEntries(result.errors.map((e) => [e.key, e]));
    expect(byKey.compliance).toMatchObject({ versionId: comp, code: 'AccessDenied', message: expect.stringMatching(/COMPLIANCE retention until/) });
    expect(byKey.governance).toMatchObject({ versionId: gov, message: expect.stringMatching(/GOVERNANCE retention until .*bypassGovernanceRetention/) });
    expect(byKey['legal-hold']).toMatchObject({ versionId: hold, message: expect.stringMatching(/legal hold is ON/) });
  });

  test('with bypass, governance versions go and compliance and legal holds stay, reported', async () => {
    // GIVEN
    const { bucket, comp, hold } = await lockedBucket('lock-bypass');
    // WHEN
    const result = await purgeBucket({ client: engineClient(), bucket, bypassGovernanceRetention: true });
    // THEN
    expect(identities(await listAll(setup, bucket))).toEqual(identities([
      { key: 'compliance', versionId: comp },
      { key: 'legal-hold', versionId: hold },
    ]));
    expect(result.failed).toBe(2);
    expect(result.errors.map((e) => e.key).sort()).toEqual(['compliance', 'legal-hold']);
  });
});

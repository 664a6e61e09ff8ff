import { PutObjectCommand, PutObjectLegalHoldCommand, type S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import type { PurgeOptions } from '../../lambda/engine/purge-types';
import type { RetentionPolicy } from '../../lambda/engine/retention-policy';
import { retentionSelector } from '../../lambda/retention/selector';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { identities, identity, listVersions, putSequentially, writeTimeline, type Timeline, type TimelinePlan } from '../support/histories';
import { createBucket, deleteMarker, listAll, put, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

/*
 * Scheduled-retention semantics against moto, on histories written in real
 * time. moto's LastModified has 1-second resolution, so every step of the
 * timeline lands in its own second (see support/histories.ts), and each
 * test's `asOf` sits 0.5 s away from any threshold, computed from the
 * LastModified values moto reported. Steps are numbered 0 to 4; "since Tn"
 * below means "noncurrent since step n" (the step its successor was written).
 *
 * Every test first previews with a dry run, then runs for real with the same
 * asOf, and checks what is left with a plain listing of its own.
 */

const TWO_SECONDS = 2_000;
const engineClient = () => createS3Client({ endpoint: testEndpoint(), region: 'us-east-1' });

const B = {
  age: uniqueBucketName('ret-age'),
  keep: uniqueBucketName('ret-keep'),
  keepAge: uniqueBucketName('ret-keep-age'),
  markers: uniqueBucketName('ret-markers'),
  expired: uniqueBucketName('ret-expired'),
  scope: uniqueBucketName('ret-scope'),
  cap: uniqueBucketName('ret-cap'),
  mix: uniqueBucketName('ret-mix'),
};
const HOT_BUCKET = uniqueBucketName('ret-hot');
const HOT_VERSIONS = 1_005;

/** One pattern character per step: P put, D delete marker, R remove the oldest version for good, . nothing. */
const PLAN: TimelinePlan = {
  [B.age]: {
    'a/single': 'P....', // only a current version: never deleted however old
    'a/chain': 'PP.P.', // v0 since T1, v1 since T3
    'a/late-successor': 'P...P', // v0 written at T0 but noncurrent only since T4
    'a/all-old': 'PPP..', // v0 since T1, v1 since T2
    'a/current-marker': 'PPD..', // current delete marker; v1 since T2, v0 since T1
    'a/young': '..PPP', // v2 since T3, v3 since T4
  },
  [B.keep]: {
    'b/count': 'PPDPP', // noncurrent, newest first: v3, dm2, v1, v0
    'b/one': 'PP...',
    'b/two': 'PPP..',
    'b/four': 'PPPPP',
    'b/current-marker': 'PPPD.',
  },
  [B.keepAge]: {
    'c/four': 'PPPPP', // v3 since T4 (1st), v2 since T3 (2nd), v1 since T2 (3rd), v0 since T1 (4th)
    'c/old-newest': 'PP...', // v0 since T1: old, but the newest noncurrent version
    'c/old-two': 'PPP..', // v1 since T2 (1st), v0 since T1 (2nd)
    'c/marker': 'PDPP.', // v2 since T3 (1st), dm1 since T2, v0 since T1 (2nd)
    'c/marker-behind-newest': 'PPD..', // current marker; v1 since T2 (1st), v0 since T1 (2nd)
    'c/lonely-marker': 'PDR..', // a current marker with nothing behind it
  },
  [B.markers]: {
    'd/old': 'PDP..', // dm1 since T2, v0 since T1
    'd/young': 'P..DP', // dm3 since T4, v0 since T3
    'd/mid': 'PD.P.', // dm1 written at T1 but noncurrent only since T3; v0 since T1
    'd/two': 'PDPDP', // dm3 since T4, v2 since T3, dm1 since T2, v0 since T1
  },
  [B.expired]: {
    'e/gone': 'PPD..', // v1 since T2, v0 since T1, then the current marker: all go
    'e/partly': 'PPP.D', // v2 since T4 stays, so the current marker stays
    'e/young': 'P..PD', // nothing old enough: the current marker stays
    'e/lonely': 'PDR..', // nothing behind the current marker already
    'e/old-marker-behind': 'PDPD.', // v2 since T3 stays; dm1 since T2 and v0 since T1 go
    'e/live': 'PP...',
  },
  [B.scope]: {
    'logs/app.log': 'PP...',
    'logs/keep/x.log': 'PP...',
    'logs/y.tmp': 'PP...',
    'logsX': 'PP...',
    'data/c.txt': 'PP...',
    'data/b.tmpx': 'PP...',
    'data/deep/er/b.tmp': 'PP...',
    'other/z': 'PP...',
    'top.tmp': 'PP...',
  },
  [B.cap]: {
    'f/1': 'PPP..',
    'f/2': 'PPP..',
    'f/3': 'PPP..',
    'f/4': 'PPD..',
    'f/5': 'P..PP',
  },
  [B.mix]: {
    'm/a': 'PPPPP',
    'm/b': 'PPD..',
    'm/c': 'PDR..',
    'n/d': 'PDPD.',
    'n/e': 'P..PP',
  },
};

let setup: S3Client;
let timeline: Timeline;
let hotWrites: Promise<string[]>;

beforeAll(async () => {
  setup = testClient();
  await Promise.all([...Object.values(B), HOT_BUCKET].map((bucket) => createBucket(setup, bucket)));
  // The hot key needs no timing: write it while the timeline runs.
  hotWrites = (async () => {
    await putSequentially(setup, HOT_BUCKET, 'a', 2);
    const ids = await putSequentially(setup, HOT_BUCKET, 'hot', HOT_VERSIONS);
    await putSequentially(setup, HOT_BUCKET, 'z', 2);
    return ids;
  })();
  hotWrites.catch(() => undefined);
  timeline = await writeTimeline(setup, PLAN);
}, 120_000);

async function retain(bucket: string, policy: RetentionPolicy, asOf: Date, options: Partial<PurgeOptions> = {}) {
  const selected: string[] = [];
  const result = await purgeBucket({
    client: engineClient(),
    bucket,
    mode: 'retain',
    selector: retentionSelector(policy, asOf),
    onSelected: (e) => selected.push(identity(e)),
    ...options,
  });
  return { result, selected: selected.sort() };
}

/**
 * Previews with a dry run, then runs for real with the same policy and asOf.
 * Both must choose exactly `expected`; the dry run must leave the bucket as
 * it was, and the real run must leave exactly the rest.
 */
async function previewThenRun(bucket: string, policy: RetentionPolicy, asOf: Date, expected: string[], options: Partial<PurgeOptions> = {}) {
  const before = identities(await listAll(setup, bucket));
  expect(before).toEqual(expect.arrayContaining(expected));
  const dry = await retain(bucket, policy, asOf, { ...options, dryRun: true });
  expect(identities(await listAll(setup, bucket))).toEqual(before);
  expect(dry.selected).toEqual([...expected].sort());
  expect(dry.result).toMatchObject({ mode: 'retain', dryRun: true, selected: expected.length, deleted: 0, deleteMarkersDeleted: 0, capReached: false });

  const run = await retain(bucket, policy, asOf, options);
  const after = identities(await listAll(setup, bucket));
  const gone = new Set(expected);
  expect(after).toEqual(before.filter((id) => !gone.has(id)));
  expect(run.selected).toEqual(dry.selected);
  expect(run.result.deleted + run.result.deleteMarkersDeleted).toBe(expected.length);
  expect(run.result).toMatchObject({ mode: 'retain', dryRun: false, failed: 0, errors: [], capReached: false, resumeToken: null });
  return { before, after, dry, run };
}

describe('scheduled retention against moto', () => {
  test('age rule: a version ages from when its successor was written, not from its own LastModified; current versions stay', async () => {
    // GIVEN
    const bucket = B.age;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const policy: RetentionPolicy = { noncurrentVersionsOlderThanMs: TWO_SECONDS };
    const currents = (await listVersions(setup, bucket)).filter((e) => e.isLatest).map(identity);
    expect(currents).toHaveLength(6);

    // WHEN previewing at other instants: a later asOf selects more
    const at = async (step: number) => (await retain(bucket, policy, timeline.cutoff(step, TWO_SECONDS), { dryRun: true })).selected;
    const sinceT1 = [...ids('a/chain', 0), ...ids('a/all-old', 0), ...ids('a/current-marker', 0)];
    const sinceT2 = [...ids('a/all-old', 1), ...ids('a/current-marker', 1)];
    const sinceT3 = [...ids('a/chain', 1), ...ids('a/young', 2)];
    const sinceT4 = [...ids('a/late-successor', 0), ...ids('a/young', 3)];
    expect(await at(0)).toEqual([]);
    expect(await at(1)).toEqual(sinceT1.sort());
    expect(await at(3)).toEqual([...sinceT1, ...sinceT2, ...sinceT3].sort());
    expect(await at(4)).toEqual([...sinceT1, ...sinceT2, ...sinceT3, ...sinceT4].sort());

    // WHEN running as of 2.5 s after T2: what became noncurrent at T1 or T2 goes
    const { after } = await previewThenRun(bucket, policy, timeline.cutoff(2, TWO_SECONDS), [...sinceT1, ...sinceT2]);

    // THEN: a/late-successor's v0 was written first of all but is kept, and so
    // is a/chain's v1 (written at T1, noncurrent since T3); every current entry,
    // including a current delete marker (no expiredDeleteMarkers), is still there
    expect(after).toEqual(expect.arrayContaining([...ids('a/late-successor', 0, 4), ...ids('a/chain', 1, 3), ...currents]));
    expect(after).toHaveLength(10);
  });

  test('keepNoncurrentVersions alone keeps the N newest noncurrent versions; delete markers are not counted and go', async () => {
    // GIVEN
    const bucket = B.keep;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    // WHEN: the asOf does not matter without an age rule
    const { after } = await previewThenRun(bucket, { keepNoncurrentVersions: 2 }, new Date(), [
      ...ids('b/count', 2, 0), // dm2 is not counted, so v3 and v1 are the two kept
      ...ids('b/four', 1, 0),
      ...ids('b/current-marker', 0),
    ]);
    // THEN
    expect(after).toEqual(
      [
        ...ids('b/count', 4, 3, 1),
        ...ids('b/one', 0, 1),
        ...ids('b/two', 0, 1, 2),
        ...ids('b/four', 4, 3, 2),
        ...ids('b/current-marker', 3, 2, 1),
      ].sort(),
    );
  });

  test('keepNoncurrentVersions with an age rule deletes only versions both old enough and beyond the N newest', async () => {
    // GIVEN
    const bucket = B.keepAge;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const policy: RetentionPolicy = { noncurrentVersionsOlderThanMs: TWO_SECONDS, keepNoncurrentVersions: 1, expiredDeleteMarkers: true };
    // WHEN
    const { after } = await previewThenRun(bucket, policy, timeline.cutoff(2, TWO_SECONDS), [
      ...ids('c/four', 1, 0), // v2 is beyond the newest one but too young
      ...ids('c/old-two', 0),
      ...ids('c/marker', 1, 0), // the noncurrent marker goes by age alone
      ...ids('c/marker-behind-newest', 0),
      ...ids('c/lonely-marker', 1),
    ]);
    // THEN: c/old-newest's v0 is old but the newest noncurrent version, and
    // c/marker-behind-newest's current marker stays because v1 is kept by count
    expect(after).toEqual(
      [
        ...ids('c/four', 4, 3, 2),
        ...ids('c/old-newest', 1, 0),
        ...ids('c/old-two', 2, 1),
        ...ids('c/marker', 3, 2),
        ...ids('c/marker-behind-newest', 2, 1),
      ].sort(),
    );
  });

  test('noncurrent delete markers are deleted by the age rule, aged from their successor', async () => {
    // GIVEN
    const bucket = B.markers;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    // WHEN
    const { run, after } = await previewThenRun(bucket, { noncurrentVersionsOlderThanMs: TWO_SECONDS }, timeline.cutoff(2, TWO_SECONDS), [
      ...ids('d/old', 1, 0),
      ...ids('d/mid', 0), // dm1 was written at T1 but is noncurrent since T3 only
      ...ids('d/two', 1, 0),
    ]);
    // THEN
    expect(run.result).toMatchObject({ deleted: 3, deleteMarkersDeleted: 2 });
    expect(after).toEqual(
      [...ids('d/old', 2), ...ids('d/young', 4, 3, 0), ...ids('d/mid', 3, 1), ...ids('d/two', 4, 3, 2)].sort(),
    );
  });

  test('expired delete markers: a current marker goes in the same run when nothing else of its key is left, and stays otherwise', async () => {
    // GIVEN
    const bucket = B.expired;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const policy: RetentionPolicy = { noncurrentVersionsOlderThanMs: TWO_SECONDS, expiredDeleteMarkers: true };
    // WHEN
    const { run, after } = await previewThenRun(bucket, policy, timeline.cutoff(2, TWO_SECONDS), [
      ...ids('e/gone', 1, 0, 2), // its versions, then its current marker, in one run
      ...ids('e/partly', 1, 0),
      ...ids('e/lonely', 1),
      ...ids('e/old-marker-behind', 1, 0),
      ...ids('e/live', 0),
    ]);
    // THEN
    expect(run.result).toMatchObject({ deleted: 6, deleteMarkersDeleted: 3 });
    expect(after).toEqual(
      [...ids('e/partly', 4, 2), ...ids('e/young', 4, 3, 0), ...ids('e/old-marker-behind', 3, 2), ...ids('e/live', 1)].sort(),
    );
    const keysLeft = new Set((await listAll(setup, bucket)).map((e) => e.key));
    expect(keysLeft.has('e/gone')).toBe(false);
    expect(keysLeft.has('e/lonely')).toBe(false);
  });

  test('prefixes and excludes (a plain prefix and a glob) limit what is touched', async () => {
    // GIVEN: every key has an old noncurrent version
    const bucket = B.scope;
    const v0 = (...keys: string[]) => keys.flatMap((key) => timeline.ids(bucket, key, 0));
    const asOf = timeline.cutoff(2, TWO_SECONDS);
    const exclude = ['logs/keep/', '**/*.tmp'];
    // WHEN excluding only: the glob matches whole keys at any depth, the plain prefix what starts with it
    const excludedOnly = await retain(bucket, { noncurrentVersionsOlderThanMs: TWO_SECONDS, exclude }, asOf, { dryRun: true });
    expect(excludedOnly.selected).toEqual(v0('logs/app.log', 'logsX', 'data/c.txt', 'data/b.tmpx', 'other/z').sort());
    // WHEN adding prefixes to the policy only (the engine lists the whole bucket)
    const policy: RetentionPolicy = { noncurrentVersionsOlderThanMs: TWO_SECONDS, prefixes: ['logs/', 'data/'], exclude };
    const expected = v0('logs/app.log', 'data/c.txt', 'data/b.tmpx');
    const policyOnly = await retain(bucket, policy, asOf, { dryRun: true });
    expect(policyOnly.selected).toEqual([...expected].sort());
    // WHEN the engine also lists only those prefixes, as the CLI does
    const { after } = await previewThenRun(bucket, policy, asOf, expected, { prefixes: policy.prefixes });
    // THEN
    expect(after).toHaveLength(18 - 3);
  });

  test('maxDeletions stops at exactly N deletions, reports capReached, and the next run continues', async () => {
    // GIVEN: 9 entries to delete as of 2.5 s after T2 (2 in each of f/1..f/3; f/4's versions and then its current marker)
    const bucket = B.cap;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const policy: RetentionPolicy = { noncurrentVersionsOlderThanMs: TWO_SECONDS, expiredDeleteMarkers: true };
    const asOf = timeline.cutoff(2, TWO_SECONDS);
    const eligible = new Set([...ids('f/1', 0, 1), ...ids('f/2', 0, 1), ...ids('f/3', 0, 1), ...ids('f/4', 0, 1, 2)]);
    const initial = identities(await listAll(setup, bucket));
    let before = initial;
    const runs = [];
    // WHEN: three runs capped at 4
    for (let i = 0; i < 3; i++) {
      const { result, selected } = await retain(bucket, policy, asOf, { maxDeletions: 4 });
      const after = identities(await listAll(setup, bucket));
      const deleted = before.filter((id) => !after.includes(id));
      // THEN each run deletes exactly what it selected, only eligible entries, nothing else
      expect(deleted).toEqual(selected);
      expect(after).toEqual(before.filter((id) => !selected.includes(id)));
      expect(deleted.every((id) => eligible.has(id))).toBe(true);
      runs.push({ deleted: deleted.length, capReached: result.capReached, reported: result.deleted + result.deleteMarkersDeleted, selected: result.selected });
      expect(result.failed).toBe(0);
      expect(result.resumeToken).toBeNull();
      before = after;
    }
    // THEN
    expect(runs).toEqual([
      { deleted: 4, capReached: true, reported: 4, selected: 4 },
      { deleted: 4, capReached: true, reported: 4, selected: 4 },
      { deleted: 1, capReached: false, reported: 1, selected: 1 },
    ]);
    expect(before).toEqual(initial.filter((id) => !eligible.has(id)));
  });

  test('a dry run deletes nothing, and reports exactly what the real run with the same asOf then deletes', async () => {
    // GIVEN: a mixed history
    const bucket = B.mix;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const policy: RetentionPolicy = { noncurrentVersionsOlderThanMs: TWO_SECONDS, keepNoncurrentVersions: 1, expiredDeleteMarkers: true };
    const asOf = timeline.cutoff(2, TWO_SECONDS);
    const before = identities(await listAll(setup, bucket));
    const reported: string[] = [];
    // WHEN
    const dry = await purgeBucket({
      client: engineClient(),
      bucket,
      mode: 'retain',
      dryRun: true,
      selector: retentionSelector(policy, asOf),
      onSelected: (e) => reported.push(identity(e)),
    });
    // THEN nothing is deleted, and the preview names the entries
    expect(identities(await listAll(setup, bucket))).toEqual(before);
    expect(dry).toMatchObject({ dryRun: true, listed: before.length, selected: reported.length, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 });
    expect(reported.sort()).toEqual(
      [...ids('m/a', 1, 0), ...ids('m/b', 0), ...ids('m/c', 1), ...ids('n/d', 1, 0)].sort(),
    );
    // WHEN running for real with the same asOf
    const deletedByRun: string[] = [];
    const run = await purgeBucket({
      client: engineClient(),
      bucket,
      mode: 'retain',
      selector: retentionSelector(policy, asOf),
      onSelected: (e) => deletedByRun.push(identity(e)),
    });
    // THEN exactly the previewed entries are gone
    const after = identities(await listAll(setup, bucket));
    expect(before.filter((id) => !after.includes(id))).toEqual(reported);
    expect(deletedByRun.sort()).toEqual(reported);
    const previewed = new Set(reported);
    const gone = timeline.written(bucket).filter((e) => previewed.has(identity(e)));
    expect(run).toMatchObject({
      selected: dry.selected,
      deleted: gone.filter((e) => !e.isDeleteMarker).length,
      deleteMarkersDeleted: gone.filter((e) => e.isDeleteMarker).length,
      bytesDeleted: gone.reduce((sum, e) => sum + e.size, 0),
      failed: 0,
    });
    expect(run.deleteMarkersDeleted).toBe(2);
  });

  test('a key with more than 1,000 versions, split across list pages, keeps its current and its 3 newest noncurrent versions', async () => {
    // GIVEN: a (2 versions), hot (1,005 versions written one after another within a
    // few seconds, so many share a LastModified second) and z (2 versions).
    const written = await hotWrites;
    const bucket = HOT_BUCKET;
    const hot = (await listVersions(setup, bucket, 'hot')).filter((e) => e.key === 'hot');
    expect(hot).toHaveLength(HOT_VERSIONS);
    expect(new Set(hot.map((e) => e.versionId))).toEqual(new Set(written));
    // moto 5 sorts a key's entries by its internal sub-second time, newest first, and marks
    // the first one IsLatest, although it reports whole seconds. The expectation follows the
    // listing order (current first, then newest first), whatever it is within one second.
    expect(hot[0].isLatest).toBe(true);
    expect(hot.filter((e) => e.isLatest)).toHaveLength(1);
    const kept = hot.slice(0, 4).map(identity);
    const expected = hot.slice(4).map(identity);
    // WHEN: one DeleteObjects request at a time. moto is not thread-safe for concurrent
    // deletes of one key's versions: with the default concurrency, the 1,001st selected
    // version goes in a second batch while the first 1,000 are being deleted, moto answers
    // Deleted, and the version comes back. A purge's confirming pass would catch it; a
    // retention run has none. (On S3, deletes are exact at any concurrency.)
    const { after, run } = await previewThenRun(bucket, { keepNoncurrentVersions: 3 }, new Date(), expected, { concurrency: 1 });
    // THEN
    expect(after.filter((id) => id.startsWith('hot@'))).toEqual([...kept].sort());
    expect(after).toHaveLength(4 + 2 + 2);
    expect(run.result.listed).toBe(HOT_VERSIONS + 4);
  }, 120_000);
});

describe('expired delete markers when a deletion fails', () => {
  test('a current delete marker stays when a version behind it could not be deleted (legal hold)', async () => {
    // GIVEN: k = [current delete marker, v1, held (legal hold)]
    const bucket = await createBucket(setup, uniqueBucketName('ret-lock'), { objectLock: true });
    const held = await setup.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'held' }));
    await setup.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: 'k', VersionId: held.VersionId, LegalHold: { Status: 'ON' } }));
    await put(setup, bucket, 'k', 'v1');
    await deleteMarker(setup, bucket, 'k');
    const marker = (await listVersions(setup, bucket)).find((e) => e.isDeleteMarker)!;
    // WHEN: every noncurrent version goes, and so would the then-expired marker
    const { result } = await retain(bucket, { noncurrentVersionsOlderThanMs: 0, expiredDeleteMarkers: true }, new Date());
    // THEN: the held version stays, and so does the marker in front of it: the object does not reappear
    expect(result.failed).toBe(1);
    expect(identities(await listAll(setup, bucket))).toEqual([`k@${held.VersionId}`, identity(marker)].sort());
  });
});

import type { S3Client } from '@aws-sdk/client-s3';
import { identities, writeTimeline, type Timeline, type TimelinePlan } from '../support/histories';
import { cli, requireBuiltCli } from '../support/cli';
import { createBucket, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

/*
 * `version-purger retain` end to end against moto, on histories written in
 * real time (see support/histories.ts): every step lands in its own
 * LastModified second, and `--as-of` sits 0.5 s away from any threshold.
 * Usage errors, including a retain without a rule, are in cli.integ.test.ts.
 */



/** Runs the CLI with `--json` and parses its one line of output. */
function cliJson(...args: string[]) {
  const { code, stdout, stderr } = cli(...args, '--json');
  const lines = stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got:\n${stdout}\nstderr:\n${stderr}`);
  return { code, report: JSON.parse(lines[0]) as Record<string, unknown> & { byPrefix: Record<string, unknown> } };
}

const B = {
  json: uniqueBucketName('cli-ret-json'),
  rules: uniqueBucketName('cli-ret-rules'),
  dry: uniqueBucketName('cli-ret-dry'),
  cap: uniqueBucketName('cli-ret-cap'),
};

/** One pattern character per step: P put, D delete marker, . nothing. "since Tn": noncurrent since step n. */
const PLAN: TimelinePlan = {
  [B.json]: {
    'logs/a': 'PPP..', // v1 since T2, v0 since T1
    'logs/b': 'PPD..', // current marker; v1 since T2, v0 since T1
    'data/x': 'P..P.', // v0 since T3
    'top': 'PP...', // v0 since T1
  },
  [B.rules]: {
    'logs/a': 'PPPP.', // v2 since T3 (1st), v1 since T2 (2nd), v0 since T1 (3rd)
    'logs/keep/a': 'PPPP.',
    'data/t/x.tmp': 'PPPP.',
    'data/x': 'PPP..', // v1 since T2 (1st), v0 since T1 (2nd)
    'other/a': 'PPPP.',
  },
  [B.dry]: {
    'k/a': 'PPP..',
    'k/b': 'PPD..',
    'k/c': 'P.P.P', // v2 since T4, v0 since T2
  },
  [B.cap]: {
    'c/1': 'PPP..',
    'c/2': 'PPP..',
    'c/3': 'PPP..',
  },
};

let setup: S3Client;
let timeline: Timeline;

beforeAll(async () => {
  requireBuiltCli();
  setup = testClient();
  await Promise.all(Object.values(B).map((bucket) => createBucket(setup, bucket)));
  timeline = await writeTimeline(setup, PLAN);
}, 120_000);

/** `--as-of` 2.5 s after step 2: with `--older-than 2s`, what became noncurrent at T1 or T2 is old enough, at T3 or later not. */
const asOfAfterT2 = () => timeline.cutoff(2, 2_000).toISOString();

/** The selected-per-prefix totals the report should carry for `ids` of `bucket`. */
function totals(bucket: string, ids: string[]) {
  const wanted = new Set(ids);
  const chosen = timeline.written(bucket).filter((e) => wanted.has(`${e.key}@${e.versionId}`));
  const versions = chosen.filter((e) => !e.isDeleteMarker);
  return {
    versions: versions.length,
    deleteMarkers: chosen.length - versions.length,
    bytes: versions.reduce((sum, e) => sum + e.size, 0),
  };
}

describe('version-purger retain', () => {
  test('--older-than with --as-of deletes what is old enough, and --json reports it with byPrefix and capReached', async () => {
    // GIVEN
    const bucket = B.json;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const before = identities(await listAll(setup, bucket));
    const logs = [...ids('logs/a', 1, 0), ...ids('logs/b', 1, 0, 2)];
    const top = ids('top', 0);
    // WHEN
    const { code, report } = cliJson(
      'retain', '--bucket', bucket, '--endpoint', testEndpoint(),
      '--older-than', '2s', '--as-of', asOfAfterT2(), '--expired-delete-markers',
    );
    // THEN
    expect(code).toBe(0);
    const after = identities(await listAll(setup, bucket));
    expect(after).toEqual([...ids('logs/a', 2), ...ids('data/x', 0, 3), ...ids('top', 1)].sort());
    expect(before.filter((id) => !after.includes(id))).toEqual([...logs, ...top].sort());
    expect(report).toMatchObject({
      bucket,
      mode: 'retain',
      dryRun: false,
      listed: before.length,
      selected: 6,
      deleted: 5,
      deleteMarkersDeleted: 1,
      bytesDeleted: totals(bucket, [...logs, ...top]).bytes,
      failed: 0,
      errors: [],
      durationMs: expect.any(Number),
      resumeToken: null,
      byPrefix: { 'logs/': totals(bucket, logs), '': totals(bucket, top) },
      capReached: false,
      bucketMissing: false,
      throttled: expect.any(Number),
      passes: expect.any(Number),
    });
    // THEN the fields are purge's, plus byPrefix and capReached
    const purge = cliJson('purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--dry-run');
    expect(purge.report.mode).toBe('purge');
    expect(Object.keys(report).sort()).toEqual([...Object.keys(purge.report), 'byPrefix', 'capReached'].sort());
  });

  test('--keep-noncurrent, --prefix and --exclude (a plain prefix and a glob) combine with --older-than', async () => {
    // GIVEN
    const bucket = B.rules;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const before = identities(await listAll(setup, bucket));
    const expected = [...ids('logs/a', 1, 0), ...ids('data/x', 0)];
    // WHEN
    const { code, report } = cliJson(
      'retain', '--bucket', bucket, '--endpoint', testEndpoint(),
      '--older-than', '2s', '--keep-noncurrent', '1', '--as-of', asOfAfterT2(),
      '--prefix', 'logs/', '--prefix', 'data/', '--exclude', 'logs/keep/', '--exclude', '**/*.tmp',
    );
    // THEN
    expect(code).toBe(0);
    expect(identities(await listAll(setup, bucket))).toEqual(before.filter((id) => !expected.includes(id)));
    expect(report).toMatchObject({ mode: 'retain', selected: 3, deleted: 3, deleteMarkersDeleted: 0, failed: 0, capReached: false });
    expect(report.byPrefix).toEqual({ 'logs/': totals(bucket, ids('logs/a', 1, 0)), 'data/': totals(bucket, ids('data/x', 0)) });
  });

  test('--dry-run deletes nothing, and --as-of in the future previews more than now', async () => {
    // GIVEN
    const bucket = B.dry;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const before = identities(await listAll(setup, bucket));
    const common = ['retain', '--bucket', bucket, '--endpoint', testEndpoint(), '--dry-run', '--expired-delete-markers'];
    // WHEN previewing as of 2.5 s after T2
    const preview = cliJson(...common, '--older-than', '2s', '--as-of', asOfAfterT2());
    // THEN
    const previewed = [...ids('k/a', 1, 0), ...ids('k/b', 1, 0, 2), ...ids('k/c', 0)];
    expect(preview.code).toBe(0);
    expect(preview.report).toMatchObject({
      mode: 'retain',
      dryRun: true,
      listed: before.length,
      selected: previewed.length,
      deleted: 0,
      deleteMarkersDeleted: 0,
      bytesDeleted: 0,
      capReached: false,
    });
    expect(preview.report.byPrefix).toEqual({ 'k/': totals(bucket, previewed) });

    // WHEN previewing --older-than 1h now, and two hours from now
    const now = cliJson(...common, '--older-than', '1h');
    const later = cliJson(...common, '--older-than', '1h', '--as-of', new Date(Date.now() + 2 * 3_600_000).toISOString());
    // THEN: nothing is an hour old yet; in two hours every noncurrent version is, and k/b's marker expires
    expect(now).toMatchObject({ code: 0, report: { dryRun: true, selected: 0, byPrefix: {} } });
    const everyNoncurrent = [...ids('k/a', 1, 0), ...ids('k/b', 1, 0, 2), ...ids('k/c', 2, 0)];
    expect(later).toMatchObject({ code: 0, report: { dryRun: true, selected: everyNoncurrent.length, deleted: 0 } });
    expect(later.report.byPrefix).toEqual({ 'k/': totals(bucket, everyNoncurrent) });

    // WHEN previewing without --json
    const human = cli(...common, '--older-than', '2s', '--as-of', asOfAfterT2());
    // THEN
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`Retention dry run of s3://${bucket} .*nothing was deleted`));
    expect(human.stdout).toMatch(new RegExp(`would delete\\s+${previewed.length}\\b`));
    expect(human.stdout).toMatch(/k\/\s+5 versions .*, 1 delete markers/);

    // THEN nothing was deleted by any of them
    expect(identities(await listAll(setup, bucket))).toEqual(before);
  });

  test('--max-deletions stops at the cap with capReached, exits 0, and the next run continues', async () => {
    // GIVEN: 6 versions old enough
    const bucket = B.cap;
    const ids = (key: string, ...steps: number[]) => timeline.ids(bucket, key, ...steps);
    const eligible = [...ids('c/1', 0, 1), ...ids('c/2', 0, 1), ...ids('c/3', 0, 1)];
    const before = identities(await listAll(setup, bucket));
    const args = ['retain', '--bucket', bucket, '--endpoint', testEndpoint(), '--older-than', '2s', '--as-of', asOfAfterT2()];
    // WHEN
    const capped = cliJson(...args, '--max-deletions', '4');
    // THEN
    expect(capped.code).toBe(0);
    expect(capped.report).toMatchObject({ selected: 4, deleted: 4, failed: 0, capReached: true, resumeToken: null });
    const middle = identities(await listAll(setup, bucket));
    const first = before.filter((id) => !middle.includes(id));
    expect(first).toHaveLength(4);
    expect(eligible).toEqual(expect.arrayContaining(first));
    // WHEN the next run has no cap
    const rest = cliJson(...args);
    // THEN
    expect(rest.code).toBe(0);
    expect(rest.report).toMatchObject({ selected: 2, deleted: 2, failed: 0, capReached: false });
    expect(identities(await listAll(setup, bucket))).toEqual(before.filter((id) => !eligible.includes(id)));
  });
});

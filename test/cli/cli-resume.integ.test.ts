/**
 * Stopping and continuing CLI runs, through pipes as scripts run them,
 * against moto behind two proxies: one that answers DeleteObjects with
 * SlowDown on demand, and one that makes moto carry on a listing from a
 * deleted marker version as S3 does (test/support/moto-marker-shim.ts), since
 * a resumed run lists again from the last entry it had deleted.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { MAX_RESUME_TOKEN_BYTES } from '../../lambda/engine/resume-token';
import { CLI, cliAsync, requireBuiltCli, runAsync, TEST_CREDENTIALS } from '../support/cli';
import { MotoMarkerShim } from '../support/moto-marker-shim';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';
import { ThrottlingProxy } from '../support/throttling-proxy';

let setup: S3Client;
let shim: MotoMarkerShim;
let proxy: ThrottlingProxy;

beforeAll(async () => {
  requireBuiltCli();
  setup = testClient();
  shim = new MotoMarkerShim(testEndpoint());
  await shim.start();
  proxy = new ThrottlingProxy(shim.endpoint);
  await proxy.start();
});

afterAll(async () => {
  await proxy.stop();
  await shim.stop();
});

beforeEach(() => proxy.reset());

const tempDir = () => mkdtempSync(join(tmpdir(), 'vp-cli-resume-'));

/** Keys in `folders` folders, so that the first pass lists one range per folder. */
const keysIn = (folders: number, perFolder: number, prefix = '') =>
  Array.from({ length: folders }, (_, f) => Array.from({ length: perFolder }, (_, k) => `${prefix}f${String(f).padStart(2, '0')}/k${k}`)).flat();

/** A --json run that is stopped by `timeLimit` while every DeleteObjects is throttled. */
async function throttledRun(timeLimit: string, ...args: string[]) {
  proxy.throttleDeletesAfter = 0;
  const run = await cliAsync({}, ...args, '--endpoint', proxy.endpoint, '--time-limit', timeLimit, '--json');
  proxy.throttleDeletesAfter = undefined;
  return { ...run, report: JSON.parse(run.stdout) };
}

describe('stopped and continued CLI runs', () => {
  test('a run stopped with 32 batches in flight under throttling prints a token under 8 KiB, and the token finishes the job with the totals of one run', async () => {
    // GIVEN 40 folders of 3 keys with 2 versions: 41 key ranges, each ending in its own batch
    const bucket = await createBucket(setup, uniqueBucketName('cli-bound'));
    await fill(setup, bucket, keysIn(40, 3), 2);
    const total = (await listAll(setup, bucket)).length;

    // WHEN a purge runs with every DeleteObjects throttled until its time limit
    // (the limit leaves time to list 32 ranges on a busy machine; listing then waits for a free slot)
    const first = await throttledRun('8s', 'purge', '--bucket', bucket);

    // THEN it stopped with 32 distinct batches in flight (the default concurrency), none of them deleted
    expect(first.code).toBe(1);
    expect(first.stderr).toBe('');
    expect(proxy.throttledBatches.size).toBeGreaterThanOrEqual(32);
    expect(first.report).toMatchObject({ deleted: 0, throttled: expect.any(Number) });
    expect(first.report.throttled).toBeGreaterThan(0);
    // AND its token holds positions, not the entries in flight: under 8 KiB
    const tokenBytes = Buffer.byteLength(JSON.stringify(first.report.resumeToken), 'utf8');
    expect(tokenBytes).toBeLessThan(MAX_RESUME_TOKEN_BYTES);
    expect(JSON.stringify(first.report.resumeToken)).not.toMatch(/k2"/);
    expect(await listAll(setup, bucket)).toHaveLength(total);

    // WHEN the run continues with the whole --json output as its token, S3 no longer throttling
    const dir = tempDir();
    writeFileSync(join(dir, 'first.json'), first.stdout);
    const second = await cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', proxy.endpoint, '--json', '--resume-token', `@${join(dir, 'first.json')}`);

    // THEN the bucket is empty, and the totals and duration are those of the whole run
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report).toMatchObject({ listed: total, selected: total, deleted: total, failed: 0, resumeToken: null });
    expect(report.durationMs).toBeGreaterThanOrEqual(first.report.durationMs);
    expect(await listAll(setup, bucket)).toEqual([]);
  }, 120_000);

  test('a dry run given the token of a real run is refused and deletes nothing', async () => {
    // GIVEN a real run stopped while all its deletions were throttled
    const bucket = await createBucket(setup, uniqueBucketName('cli-dry-token'));
    await fill(setup, bucket, keysIn(3, 2), 2);
    const first = await throttledRun('3s', 'purge', '--bucket', bucket);
    expect(first.report.resumeToken).not.toBeNull();
    const dir = tempDir();
    writeFileSync(join(dir, 'token.json'), JSON.stringify(first.report.resumeToken));

    // WHEN a dry run is given that token
    const dry = await cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', proxy.endpoint, '--dry-run', '--json', '--resume-token', `@${join(dir, 'token.json')}`);

    // THEN it exits 2 saying the dry-run setting differs, as one JSON object, and every version is still there
    expect(dry.code).toBe(2);
    expect(JSON.parse(dry.stdout)).toEqual({
      error: { code: 'ResumeTokenError', message: expect.stringMatching(/dryRun differs \(token: false, this run: true\).*--dry-run/) },
    });
    expect(await listAll(setup, bucket)).toHaveLength(12);
  }, 60_000);

  test('a retention token is refused by a run with another policy, naming the option', async () => {
    const bucket = await createBucket(setup, uniqueBucketName('cli-policy-token'));
    await fill(setup, bucket, keysIn(2, 2), 3);
    const first = await throttledRun('3s', 'retain', '--bucket', bucket, '--keep-noncurrent', '0');
    expect(first.report.resumeToken).not.toBeNull();
    const other = await cliAsync({}, 'retain', '--bucket', bucket, '--endpoint', proxy.endpoint, '--keep-noncurrent', '1', '--resume-token', JSON.stringify(first.report.resumeToken));
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/policy\.keepNoncurrentVersions differs \(token: 0, this run: 1\)\. Use the same --keep-noncurrent/);
    expect(await listAll(setup, bucket)).toHaveLength(12);
  }, 60_000);

  test('without --json a stopped run writes its token to a file and prints a continue command that a shell runs as is', async () => {
    // GIVEN keys under a prefix that needs quoting, and a key outside it
    const bucket = await createBucket(setup, uniqueBucketName('cli-continue'));
    const prefix = "it's a dir/";
    await fill(setup, bucket, [...keysIn(3, 2, prefix), 'keep/me'], 2);
    const dir = tempDir();

    // WHEN a purge of the prefix, its endpoint given by AWS_ENDPOINT_URL_S3, stops with some batches throttled
    proxy.throttleDeletesAfter = 1;
    const first = await cliAsync({ env: { AWS_ENDPOINT_URL_S3: proxy.endpoint }, cwd: dir }, 'purge', '--bucket', bucket, '--prefix', prefix, '--time-limit', '3s');
    proxy.throttleDeletesAfter = undefined;

    // THEN it exits 1, says where the token is (in the current directory, under 8 KiB), and how to continue
    expect(first.code).toBe(1);
    const [tokenFile] = readdirSync(dir).filter((f) => f.endsWith('.resume.json'));
    expect(first.stdout).toContain(`the resume token is in ${join(dir, tokenFile)}`);
    expect(statSync(join(dir, tokenFile)).size).toBeLessThan(MAX_RESUME_TOKEN_BYTES);
    const line = first.stdout.split('\n').find((l) => l.startsWith('continue with: '));
    expect(line).toBeDefined();
    const command = line!.slice('continue with: '.length);
    expect(command).toContain(`--endpoint ${proxy.endpoint}`);
    expect(command).toContain(`--prefix 'it'\\''s a dir/'`);

    // WHEN that command is pasted into a shell that has `version-purger` on its PATH but no endpoint variable
    const bin = tempDir();
    symlinkSync(CLI, join(bin, 'version-purger'));
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: dir, ...TEST_CREDENTIALS };
    const second = await runAsync('sh', ['-c', command], { env, cwd: tempDir(), replaceEnv: true });

    // THEN it finishes the prefix and leaves the key outside it
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/deleted versions 12 /);
    expect((await listAll(setup, bucket)).map((e) => e.key)).toEqual(['keep/me', 'keep/me']);
    expect(readFileSync(join(dir, tokenFile), 'utf8')).toMatch(/^\{"v":2,/);
  }, 60_000);

  test('the --json output of a run that finished is refused as a token: nothing to resume', async () => {
    const bucket = await createBucket(setup, uniqueBucketName('cli-finished'));
    await fill(setup, bucket, ['a'], 1);
    const done = await cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--json');
    expect(JSON.parse(done.stdout).resumeToken).toBeNull();
    const again = await cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--resume-token', done.stdout);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--resume-token is the output of a run that finished \(its resumeToken is null\): there is nothing to resume/);
  });
});

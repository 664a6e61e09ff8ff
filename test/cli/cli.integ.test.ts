import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { cli, cliIntoSlowReader, cliWith, requireBuiltCli } from '../support/cli';
import { createBucket, deleteMarker, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

let setup: S3Client;

beforeAll(() => {
  requireBuiltCli();
  setup = testClient();
});

describe('version-purger purge', () => {
  test('--json prints exactly one JSON object with the contract fields and exits 0 when the bucket is emptied', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('cli-json'));
    await fill(setup, bucket, ['a', 'b/c'], 2);
    await deleteMarker(setup, bucket, 'a');
    // WHEN
    const { code, stdout } = cli('purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--json');
    // THEN
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]);
    expect(report).toMatchObject({
      bucket,
      mode: 'purge',
      dryRun: false,
      listed: 5,
      selected: 5,
      deleted: 4,
      deleteMarkersDeleted: 1,
      failed: 0,
      errors: [],
      resumeToken: null,
    });
    expect(report.bytesDeleted).toBeGreaterThan(0);
    expect(typeof report.durationMs).toBe('number');
    expect(await listAll(setup, bucket)).toEqual([]);
  });

  test('without --json it prints a plain summary with no terminal decoration when stdout is not a TTY', async () => {
    const bucket = await createBucket(setup, uniqueBucketName('cli-human'));
    await fill(setup, bucket, ['x'], 2);
    const { code, stdout } = cli('purge', '--bucket', bucket, '--endpoint', testEndpoint());
    expect(code).toBe(0);
    expect(stdout).toMatch(/deleted versions 2/);
    expect(stdout).not.toMatch(/\u001b\[/);
  });

  test('a dry run deletes nothing and exits 0', async () => {
    const bucket = await createBucket(setup, uniqueBucketName('cli-dry'));
    await fill(setup, bucket, ['x', 'y/z'], 2);
    const { code, stdout } = cli('purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--dry-run', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ dryRun: true, listed: 4, selected: 4, deleted: 0 });
    expect(await listAll(setup, bucket)).toHaveLength(4);
  });

  test('exits 1 and reports key, version and code when a version cannot be deleted', async () => {
    // GIVEN a COMPLIANCE-locked version
    const bucket = await createBucket(setup, uniqueBucketName('cli-locked'), { objectLock: true });
    const locked = await setup.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'locked', Body: 'l', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000) }),
    );
    await fill(setup, bucket, ['free'], 1);
    // WHEN
    const { code, stdout } = cli('purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--json');
    // THEN
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.failed).toBe(1);
    expect(report.errors).toEqual([
      { key: 'locked', versionId: locked.VersionId, code: 'AccessDenied', message: expect.stringMatching(/COMPLIANCE/) },
    ]);
    expect((await listAll(setup, bucket)).map((e) => e.key)).toEqual(['locked']);
  });

  test('retain on a bucket that does not exist exits 2 saying so (a typo must not pass silently)', () => {
    const bucket = uniqueBucketName('cli-missing');
    const human = cli('retain', '--bucket', bucket, '--keep-noncurrent', '1', '--endpoint', testEndpoint());
    expect(human.code).toBe(2);
    expect(human.stderr).toMatch(new RegExp(`bucket ${bucket} does not exist`));
    const json = cli('retain', '--bucket', bucket, '--keep-noncurrent', '1', '--endpoint', testEndpoint(), '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'NoSuchBucket', message: `bucket ${bucket} does not exist` } });
  });

  test('a bucket that does not exist is nothing to delete and exits 0', () => {
    const { code, stdout } = cli('purge', '--bucket', uniqueBucketName('cli-missing'), '--endpoint', testEndpoint());
    expect(code).toBe(0);
    expect(stdout).toMatch(/does not exist: nothing to delete/);
  });

  test.each([
    [['purge'], /--bucket/],
    [['purge', '--bucket', 'b', '--concurrency', '0'], /--concurrency must be from 1 to 1000, got 0/],
    [['purge', '--bucket', 'b', '--concurrency', '-1'], /--concurrency must be from 1 to 1000, got -1/],
    [['purge', '--bucket', 'b', '--concurrency', 'lots'], /--concurrency must be a whole number from 1 to 1000, got "lots"/],
    [['purge', '--bucket', 'b', '--resume-token', '{nope'], /not valid JSON/],
    [['purge', '--bucket', 'b', '--resume-token', '@/nonexistent/token.json'], /--resume-token @\/nonexistent\/token\.json: no such file/],
    [['purge', '--bucket', 'b', '--resume-token', '{"v":1,"bucket":"b","mode":"purge"}'], /--resume-token: the resume token has format version 1/],
    [['purge', '--bucket', 'b', '--bogus'], /unknown option/],
    [['retain', '--bucket', 'b'], /at least one rule/],
    [['retain', '--bucket', 'b', '--older-than', '30 days'], /Invalid duration/],
    [['retain', '--bucket', 'b', '--older-than', '1d', '--as-of', 'tomorrow'], /ISO-8601/],
    [['retain', '--bucket', 'b', '--keep-noncurrent', '-1'], /--keep-noncurrent must be 0 or more, got -1/],
    [['retain', '--bucket', 'b', '--keep-noncurrent', '1', '--max-deletions', '0'], /--max-deletions must be 1 or more, got 0/],
  ])('usage error %j exits 2 with a message saying what is wrong', (args, message) => {
    const { code, stderr } = cli(...(args as string[]), '--endpoint', testEndpoint());
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  test('an --endpoint without a scheme is refused, saying that the scheme is missing', () => {
    const { code, stderr, stdout } = cli('purge', '--bucket', 'b', '--endpoint', '127.0.0.1:9000', '--json');
    expect(code).toBe(2);
    expect(stderr).toMatch(/--endpoint needs a scheme: use http:\/\/127\.0\.0\.1:9000/);
    expect(JSON.parse(stdout)).toEqual({ error: { code: 'UsageError', message: expect.stringMatching(/needs a scheme/) } });
  });

  test('with --json, a usage error is one JSON object on stdout with the exit code unchanged', () => {
    const { code, stdout } = cli('purge', '--concurrency', '0', '--json');
    expect(code).toBe(2);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual({ error: { code: 'UsageError', message: expect.stringMatching(/--bucket|--concurrency/) } });
  });

  test('without any credentials, a run against --endpoint says how to set them for a local S3, and deletes nothing', async () => {
    // GIVEN a bucket, and an environment with no credentials anywhere (no variables, no files, no instance metadata)
    const bucket = await createBucket(setup, uniqueBucketName('cli-nocreds'));
    await fill(setup, bucket, ['a'], 1);
    const home = mkdtempSync(join(tmpdir(), 'vp-nocreds-'));
    const env = {
      AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined,
      HOME: home, AWS_CONFIG_FILE: join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined, AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    };
    // WHEN
    const { code, stderr, stdout } = cliWith({ env }, 'purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--json');
    // THEN
    expect(code).toBe(2);
    expect(stderr).toMatch(/no AWS credentials found\. A local S3 .* set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(JSON.parse(stdout).error.code).toBe('NoCredentials');
    expect(await listAll(setup, bucket)).toHaveLength(1);
  });

  test('the AWS SDK\'s Node version warning does not appear', async () => {
    const bucket = await createBucket(setup, uniqueBucketName('cli-nowarn'));
    const { code, stderr } = cliWith({ env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined } }, 'purge', '--bucket', bucket, '--endpoint', testEndpoint());
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  test('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const { code, stdout } = cli('--version');
    expect(code).toBe(0);
    expect(stdout).toBe(`${version}\n`);
  });

  test('a --json report larger than a pipe buffer (64 KiB) reaches the reader whole', async () => {
    // GIVEN 100 COMPLIANCE-locked versions with long keys: their failures make the report about 90 KiB
    // (keys without "/": one listing range, since moto drops the first entry of a range that starts at a
    // bare KeyMarker, and a pass that deletes nothing has no confirming pass to find it)
    const bucket = await createBucket(setup, uniqueBucketName('cli-bigjson'), { objectLock: true });
    const retainUntil = new Date(Date.now() + 86_400_000);
    const keys = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')}-${'long-key-segment-'.repeat(45)}end`);
    for (let i = 0; i < keys.length; i += 10) {
      await Promise.all(
        keys.slice(i, i + 10).map((Key) => setup.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: retainUntil }))),
      );
    }
    // WHEN it is purged with --json, stdout a pipe whose reader starts reading only after a second
    const { code, stdout } = await cliIntoSlowReader(1_000, 'purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--json');
    // THEN the whole object arrives and parses
    expect(code).toBe(1);
    expect(stdout.length).toBeGreaterThan(64 * 1024);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ failed: 100, deleted: 0 });
    expect(report.errors).toHaveLength(100);
  }, 60_000);

  test('--help works and exits 0', () => {
    const { code, stdout } = cli('purge', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/--bypass-governance-retention/);
  });
});

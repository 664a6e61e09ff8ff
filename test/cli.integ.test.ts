import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { cli, requireBuiltCli } from './support/cli';
import { createBucket, deleteMarker, fill, listAll, testClient, testEndpoint, uniqueBucketName } from './support/s3';

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

  test('a bucket that does not exist is nothing to delete and exits 0', () => {
    const { code, stdout } = cli('purge', '--bucket', uniqueBucketName('cli-missing'), '--endpoint', testEndpoint());
    expect(code).toBe(0);
    expect(stdout).toMatch(/does not exist: nothing to delete/);
  });

  test.each([
    [['purge'], /--bucket/],
    [['purge', '--bucket', 'b', '--concurrency', '0'], /--concurrency must be from 1/],
    [['purge', '--bucket', 'b', '--concurrency', 'lots'], /whole number/],
    [['purge', '--bucket', 'b', '--resume-token', '{nope'], /not valid JSON/],
    [['purge', '--bucket', 'b', '--bogus'], /unknown option/],
    [['retain', '--bucket', 'b'], /at least one rule/],
    [['retain', '--bucket', 'b', '--older-than', '30 days'], /Invalid duration/],
    [['retain', '--bucket', 'b', '--older-than', '1d', '--as-of', 'tomorrow'], /ISO-8601/],
    [['retain', '--bucket', 'b', '--keep-noncurrent', '-1'], /whole number/],
  ])('usage error %j exits 2 with a message saying what is wrong', (args, message) => {
    const { code, stderr } = cli(...(args as string[]), '--endpoint', testEndpoint());
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  test('--help works and exits 0', () => {
    const { code, stdout } = cli('purge', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/--bypass-governance-retention/);
  });
});

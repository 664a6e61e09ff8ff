import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { cli, requireBuiltCli } from '../support/cli';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

/*
 * Incomplete multipart uploads through the built CLI, run through pipes as
 * scripts run it, against moto. moto reports every upload as initiated on
 * 2010-11-10T20:48:33Z (/work/shared/s3-facts.md), so `--as-of` sets the
 * uploads' age relative to that instant.
 */

const MOTO_INITIATED_MS = Date.parse('2010-11-10T20:48:33.000Z');
const HOUR_MS = 3_600_000;

let setup: S3Client;

beforeAll(() => {
  requireBuiltCli();
  setup = testClient();
});

async function givenBucketWithUploads(label: string, keys: string[]): Promise<string> {
  const bucket = await createBucket(setup, uniqueBucketName(label));
  for (const key of keys) await setup.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  return bucket;
}

async function uploadKeys(bucket: string): Promise<string[]> {
  return ((await setup.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key!).sort();
}

/** Runs the CLI with `--json` and parses its one line of output. */
function cliJson(...args: string[]) {
  const { code, stdout, stderr } = cli(...args, '--json');
  const lines = stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one line of JSON, got:\n${stdout}\nstderr:\n${stderr}`);
  return { code, report: JSON.parse(lines[0]) as Record<string, unknown> };
}

describe('version-purger and incomplete multipart uploads', () => {
  test('purge aborts every upload and reports uploadsAborted in --json', async () => {
    // GIVEN
    const bucket = await givenBucketWithUploads('cli-mpu-purge', ['a.bin', 'x/b.bin']);
    await fill(setup, bucket, ['k'], 2);
    // WHEN
    const { code, report } = cliJson('purge', '--bucket', bucket, '--endpoint', testEndpoint());
    // THEN
    expect(code).toBe(0);
    expect(report).toMatchObject({ uploadsSelected: 2, uploadsAborted: 2, uploadsFailed: 0, uploadErrors: [], deleted: 2 });
    expect(await uploadKeys(bucket)).toEqual([]);
    expect(await listAll(setup, bucket)).toEqual([]);
  });

  test('purge --dry-run says how many uploads it would abort, and aborts none', async () => {
    // GIVEN
    const bucket = await givenBucketWithUploads('cli-mpu-dry', ['a.bin', 'b.bin']);
    // WHEN
    const { code, stdout } = cli('purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--dry-run');
    // THEN
    expect(code).toBe(0);
    expect(stdout).toMatch(/would abort\s+2 incomplete uploads/);
    expect(await uploadKeys(bucket)).toEqual(['a.bin', 'b.bin']);
  });

  test('retain --abort-uploads-older-than aborts only uploads old enough as of --as-of, under --prefix and not excluded', async () => {
    // GIVEN
    const bucket = await givenBucketWithUploads('cli-mpu-retain', ['logs/a.bin', 'logs/b.keep', 'data/c.bin']);
    const common = ['retain', '--bucket', bucket, '--endpoint', testEndpoint(), '--abort-uploads-older-than', '1h', '--prefix', 'logs/', '--exclude', '**/*.keep'];

    // WHEN: one millisecond short of an hour old
    const young = cliJson(...common, '--as-of', new Date(MOTO_INITIATED_MS + HOUR_MS - 1).toISOString());
    // THEN
    expect(young.code).toBe(0);
    expect(young.report).toMatchObject({ uploadsSelected: 0, uploadsAborted: 0 });
    expect(await uploadKeys(bucket)).toHaveLength(3);

    // WHEN: exactly an hour old
    const { code, stdout } = cli(...common, '--as-of', new Date(MOTO_INITIATED_MS + HOUR_MS).toISOString());
    // THEN
    expect(code).toBe(0);
    expect(stdout).toMatch(/aborted uploads\s+1/);
    expect(await uploadKeys(bucket)).toEqual(['data/c.bin', 'logs/b.keep']);
  });

  test('retain with --abort-uploads-older-than as its only rule deletes no version', async () => {
    // GIVEN noncurrent versions, and an old upload
    const bucket = await givenBucketWithUploads('cli-mpu-only', ['u.bin']);
    await fill(setup, bucket, ['k'], 3);
    // WHEN
    const { code, report } = cliJson('retain', '--bucket', bucket, '--endpoint', testEndpoint(), '--abort-uploads-older-than', '0s');
    // THEN
    expect(code).toBe(0);
    expect(report).toMatchObject({ uploadsAborted: 1, deleted: 0, deleteMarkersDeleted: 0 });
    expect(await listAll(setup, bucket)).toHaveLength(3);
  });

  test('a malformed --abort-uploads-older-than is a usage error that aborts and deletes nothing', async () => {
    // GIVEN
    const bucket = await givenBucketWithUploads('cli-mpu-bad', ['u.bin']);
    // WHEN
    const { code, stdout, stderr } = cli('retain', '--bucket', bucket, '--endpoint', testEndpoint(), '--abort-uploads-older-than', '1.5h');
    // THEN
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/--abort-uploads-older-than.*Invalid duration "1.5h".*for example "45s", "90m", "12h", "30d"/s);
    expect(await uploadKeys(bucket)).toEqual(['u.bin']);
  });
});

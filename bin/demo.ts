/**
 * `npm start`: the main job, offline. Starts moto (or uses AWS_ENDPOINT_URL_S3),
 * fills a versioned bucket with a few thousand versions and delete markers,
 * purges it through the `version-purger` CLI and shows the bucket empty.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startLocalS3 } from './local-s3';

const CLI = join(__dirname, 'cli.js');
const FOLDERS = ['logs/', 'exports/', 'images/', 'tmp/'];
const KEYS_PER_FOLDER = 100;
const VERSIONS_PER_KEY = 5;

function say(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

async function countEntries(client: S3Client, bucket: string): Promise<{ versions: number; deleteMarkers: number }> {
  let versions = 0;
  let deleteMarkers = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    versions += page.Versions?.length ?? 0;
    deleteMarkers += page.DeleteMarkers?.length ?? 0;
    if (!page.IsTruncated) return { versions, deleteMarkers };
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/** Writes every key's versions in order (moto loses versions written to one key concurrently). */
async function fillBucket(client: S3Client, bucket: string): Promise<void> {
  const keys = FOLDERS.flatMap((folder) => Array.from({ length: KEYS_PER_FOLDER }, (_, i) => `${folder}object-${String(i).padStart(4, '0')}.json`));
  let done = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let key = keys.shift(); key !== undefined; key = keys.shift()) {
        for (let v = 0; v < VERSIONS_PER_KEY; v++) {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ key, v }) }));
        }
        if (key.endsWith('0.json')) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        if (++done % 100 === 0) process.stdout.write(`   ${done} keys written\n`);
      }
    }),
  );
}

function runCli(endpoint: string, args: string[]): number {
  process.stdout.write(`$ version-purger ${args.join(' ')}\n`);
  const out = spawnSync(process.execPath, [CLI, ...args, '--endpoint', endpoint], { stdio: 'inherit', env: process.env });
  return out.status ?? 1;
}

async function main(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= 'demo';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'demo';
  process.env.AWS_REGION ??= 'us-east-1';
  // The SDK's notice that it will need Node 22 in 2027 is not news to a demo viewer.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = await startLocalS3();
  try {
    say(`Local S3 at ${s3.endpoint}${s3.owned ? ' (moto_server, started for this demo)' : ''}`);
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
    const bucket = `demo-${Date.now().toString(36)}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    say(`Filling s3://${bucket}: ${FOLDERS.length * KEYS_PER_FOLDER} keys x ${VERSIONS_PER_KEY} versions, plus delete markers`);
    await fillBucket(client, bucket);
    const before = await countEntries(client, bucket);
    say(`Bucket holds ${before.versions} versions and ${before.deleteMarkers} delete markers`);

    say('Purging through the CLI');
    const code = runCli(s3.endpoint, ['purge', '--bucket', bucket]);
    const after = await countEntries(client, bucket);
    say(`Independent listing after the purge: ${after.versions} versions, ${after.deleteMarkers} delete markers`);
    if (code !== 0 || after.versions + after.deleteMarkers > 0) {
      throw new Error(`the purge did not empty the bucket (exit ${code})`);
    }
    say('Done: the bucket is empty.');
  } finally {
    await s3.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});

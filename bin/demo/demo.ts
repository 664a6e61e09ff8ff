/**
 * `npm start`: the main job, offline. Uses AWS_ENDPOINT_URL_S3, else starts
 * moto_server, else the project's own S3 model (so a first run needs only Node), and:
 * 1. fills a versioned bucket with a few thousand versions and delete markers;
 * 2. previews a retention policy (dry run), then applies it, through the CLI;
 * 3. purges the bucket through the CLI and shows it empty;
 * 4. plays CloudFormation and Step Functions: the bundled Lambda handler (the file `cdk synth`
 *    ships) receives a Delete event for a second bucket, starts the workflow, whose
 *    steps (the same bundle) empty it, and the
 *    demo prints the response CloudFormation would receive.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { PHYSICAL_ID_PREFIX, PURGE_TAG_KEY, RESOURCE_TYPE } from '../../lambda/resource-contract';
import { shellCommand } from '../cli/shell-quote';
import { startDemoS3 } from './demo-s3';
import { captureCloudFormationResponse, LocalCloudFormationApi } from './local-cloudformation';
import { LocalWorkflow, type WorkflowHandler } from './local-workflow';

/**
 * The owner id a VersionPurger would write into the bucket's tag and its
 * resource's properties (its construct address); any matching pair will do here.
 */
const DEMO_OWNER_ID = 'c8demo0000000000000000000000000000000000';
/** Dummy credentials: a local S3 wants some, and checks none. */
const DEMO_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'demo', AWS_SECRET_ACCESS_KEY: 'demo', AWS_REGION: 'us-east-1' } as const;

const CLI = join(__dirname, '..', 'cli.js');
/** The bundled handler, as `npm run build` leaves it and `cdk synth` stages it. */
const HANDLER_BUNDLE = join(__dirname, '..', '..', '..', 'assets', 'handler', 'index.js');
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

async function createVersionedBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

/** Writes every key's versions in order (moto loses versions written to one key concurrently). */
async function fillBucket(client: S3Client, bucket: string, keysPerFolder = KEYS_PER_FOLDER): Promise<void> {
  const keys = FOLDERS.flatMap((folder) => Array.from({ length: keysPerFolder }, (_, i) => `${folder}object-${String(i).padStart(4, '0')}.json`));
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

/**
 * Runs the CLI as the printed command would (`npx version-purger` from this
 * directory finds the package's own bin), echoing its report. Returns its exit
 * code and report.
 */
async function runCli(endpoint: string, args: string[]): Promise<{ status: number; stdout: string }> {
  const full = [...args, '--endpoint', endpoint];
  process.stdout.write(`$ npx version-purger ${shellCommand(full)}\n`);
  // Asynchronous: the S3 model may be serving from this very process.
  const child = spawn(process.execPath, [CLI, ...full], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    process.stdout.write(chunk);
  });
  const status = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  return { status, stdout };
}

/** Why a purge took more than one pass, read from the CLI's report ("(4.7 s, 3 passes)"). */
function explainPasses(report: string): void {
  const passes = Number(/(\d+) passes\)/.exec(report)?.[1] ?? 1);
  if (passes < 2) return;
  process.stdout.write(
    `   Why ${passes} passes: the first pass lists the bucket in parallel key ranges and deletes what it finds; every\n` +
      '   further pass lists it again from the start and deletes whatever is still there (late writes, entries a\n' +
      '   listing missed). The purge stops after a pass that deletes nothing, so "empty" is always confirmed (at most 5).\n',
  );
}

/** Prints fields of an object as two aligned columns. */
function printFields(fields: Record<string, unknown>, names: readonly string[]): void {
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    if (fields[name] !== undefined) process.stdout.write(`   ${name.padEnd(width)}  ${String(fields[name])}\n`);
  }
}

/** Sends the bundled handler the Delete event CloudFormation sends when the stack is deleted. */
async function deleteThroughCloudFormation(endpoint: string, bucket: string): Promise<Record<string, unknown>> {
  if (!existsSync(HANDLER_BUNDLE)) throw new Error(`${HANDLER_BUNDLE} is missing: run npm run build`);
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  // The handler logs JSON lines for CloudWatch, one per step; the demo prints a summary instead.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  // Its teardown metrics are one EMF line for CloudWatch too.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { handler } = require(HANDLER_BUNDLE) as { handler: (event: unknown, context: unknown) => Promise<void> };
  const response = await captureCloudFormationResponse();
  // The handler purges only when CloudFormation confirms that the stack is deleting this resource:
  // a local stand-in for CloudFormation's read API says so.
  const cloudFormation = new LocalCloudFormationApi();
  await cloudFormation.start();
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.endpoint;
  // The handler hands the purge to the stack's Step Functions workflow, which it finds from its stack id;
  // a local stand-in runs the workflow's steps with the same bundle.
  const workflow = new LocalWorkflow(handler as WorkflowHandler);
  await workflow.start();
  process.env.AWS_ENDPOINT_URL_SFN = workflow.endpoint;
  process.env.VERSION_PURGER_STACK_ID = `arn:aws:cloudformation:us-east-1:123456789012:stack/Demo/${randomUUID()}`;
  const stackId = `arn:aws:cloudformation:us-east-1:123456789012:stack/Demo/${randomUUID()}`;
  const physicalId = `${PHYSICAL_ID_PREFIX}${bucket}:${DEMO_OWNER_ID}`;
  cloudFormation.stacks.set(stackId, {
    status: 'DELETE_IN_PROGRESS',
    resources: new Map([['DataPurger', { physicalResourceId: physicalId, resourceType: RESOURCE_TYPE, resourceStatus: 'DELETE_IN_PROGRESS' }]]),
  });
  const event = {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:demo-version-purger',
    ResponseURL: response.url,
    StackId: stackId,
    RequestId: randomUUID(),
    LogicalResourceId: 'DataPurger',
    PhysicalResourceId: physicalId,
    ResourceType: RESOURCE_TYPE,
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:demo-version-purger',
      BucketName: bucket,
      OwnerId: DEMO_OWNER_ID,
    },
  };
  const deadline = Date.now() + 15 * 60_000;
  const context = {
    functionName: 'demo-version-purger',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:demo-version-purger',
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    await handler(event, context);
    return await response.answer;
  } finally {
    await workflow.stop();
    response.close();
    await cloudFormation.stop();
  }
}

/** Fills a bucket, previews and applies a retention policy, then purges it, all through the CLI. */
async function cliPath(client: S3Client, endpoint: string): Promise<void> {
  const bucket = `demo-${Date.now().toString(36)}`;
  await createVersionedBucket(client, bucket);
  say(`Filling s3://${bucket}: ${FOLDERS.length * KEYS_PER_FOLDER} keys x ${VERSIONS_PER_KEY} versions, plus delete markers`);
  await fillBucket(client, bucket);
  const before = await countEntries(client, bucket);
  say(`Bucket holds ${before.versions} versions and ${before.deleteMarkers} delete markers`);

  const policy = ['--bucket', bucket, '--keep-noncurrent', '2', '--prefix', 'logs/', '--prefix', 'exports/'];
  say('Retention preview: keep the 2 newest noncurrent versions of each key (dry run deletes nothing)');
  await runCli(endpoint, ['retain', ...policy, '--dry-run']);
  say('Retention run: the same policy, for real');
  if ((await runCli(endpoint, ['retain', ...policy])).status !== 0) throw new Error('the retention run failed');
  const retained = await countEntries(client, bucket);
  say(`After retention: ${retained.versions} versions and ${retained.deleteMarkers} delete markers`);

  say('Purging the bucket through the CLI');
  const purge = await runCli(endpoint, ['purge', '--bucket', bucket]);
  explainPasses(purge.stdout);
  const after = await countEntries(client, bucket);
  say(`Independent listing after the purge: ${after.versions} versions, ${after.deleteMarkers} delete markers`);
  if (purge.status !== 0 || after.versions + after.deleteMarkers > 0) {
    throw new Error(`the purge did not empty the bucket (exit ${purge.status})`);
  }
}

/** Plays CloudFormation deleting a stack: the bundled handler empties the stack's bucket. */
async function cloudFormationPath(client: S3Client, endpoint: string): Promise<void> {
  const stackBucket = `demo-stack-${Date.now().toString(36)}`;
  await createVersionedBucket(client, stackBucket);
  await client.send(new PutBucketTaggingCommand({ Bucket: stackBucket, Tagging: { TagSet: [{ Key: PURGE_TAG_KEY, Value: DEMO_OWNER_ID }] } }));
  say(`CloudFormation path: s3://${stackBucket} belongs to a stack (tagged ${PURGE_TAG_KEY}=${DEMO_OWNER_ID}, its owner)`);
  await fillBucket(client, stackBucket, 25);
  const stackBefore = await countEntries(client, stackBucket);
  say(`It holds ${stackBefore.versions} versions and ${stackBefore.deleteMarkers} delete markers; the stack is deleted, so the bundled handler gets a Delete event`);
  const answer = await deleteThroughCloudFormation(endpoint, stackBucket);
  say('The response CloudFormation would receive (the handler\'s JSON logs are off: POWERTOOLS_LOG_LEVEL=INFO npm start shows them):');
  printFields(answer, ['Status', 'PhysicalResourceId', 'LogicalResourceId', 'Reason']);
  const stackAfter = await countEntries(client, stackBucket);
  say(`Independent listing: ${stackAfter.versions} versions, ${stackAfter.deleteMarkers} delete markers`);
  if (answer.Status !== 'SUCCESS' || stackAfter.versions + stackAfter.deleteMarkers > 0) {
    throw new Error('the CloudFormation Delete did not empty the bucket');
  }
}

async function main(): Promise<void> {
  for (const [name, value] of Object.entries(DEMO_CREDENTIALS)) process.env[name] ??= value;
  // The SDK's notice that it will need Node 22 in 2027 is not news to a demo viewer.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = await startDemoS3();
  try {
    say(`Local S3 at ${s3.endpoint}: ${s3.description}`);
    const credentials = Object.keys(DEMO_CREDENTIALS).map((name) => `${name}=${process.env[name]}`).join(' ');
    process.stdout.write(`   The commands below run as printed from this directory while the demo runs, after: export ${credentials}\n`);
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true });
    await cliPath(client, s3.endpoint);
    await cloudFormationPath(client, s3.endpoint);
    say('Done: both buckets are empty, and CloudFormation could now delete them.');
  } finally {
    await s3.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});

/**
 * `npm start`: the main job, offline. Uses AWS_ENDPOINT_URL_S3, else starts
 * moto_server, else the project's own S3 model (so a first run needs only Node), and:
 * 1. fills a versioned bucket with a few thousand versions and delete markers;
 * 2. previews a retention policy (dry run), then applies it, through the CLI;
 * 3. purges the bucket through the CLI and shows it empty;
 * 4. plays CloudFormation: synthesizes a stack with a VersionPurger on a
 *    second bucket; the bundled Lambda handler (the file `cdk synth` ships)
 *    receives its Delete event and starts the stack's Step Functions workflow,
 *    which runs locally (aws-local-stepfunctions, the synthesized definition,
 *    every task the bundled handler), empties the bucket and answers; the demo
 *    prints the response CloudFormation would receive.
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
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { VersionPurger } from '../../lib';
import { PHYSICAL_ID_PREFIX, PURGE_TAG_KEY, RESOURCE_TYPE } from '../../lambda/resource-contract';
import { STATE } from '../../lambda/workflow/contract';
import { shellCommand } from '../cli/shell-quote';
import { startDemoS3 } from './demo-s3';
import { captureCloudFormationResponse, LocalCloudFormationApi } from './local-cloudformation';
import { type LambdaHandler, LocalStepFunctions, stateMachineFromTemplate, type TemplateJson } from './local-step-functions';

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

/** Where the demo's stack "is deployed": the stack id names its state machine (`VersionPurger-<uuid>`). */
const DEMO_STACK_ID = `arn:aws:cloudformation:us-east-1:123456789012:stack/Demo/${randomUUID()}`;
const DEMO_FUNCTION_NAME = 'demo-version-purger';

/** The demo's stack, synthesized in-process: a VersionPurger on the bucket, its provider function and workflow. */
function synthesizeDemoStack(bucket: string): { template: TemplateJson; purgerLogicalId: string; ownerId: string; functionLogicalId: string } {
  const app = new App();
  const stack = new Stack(app, 'Demo');
  new VersionPurger(stack, 'DataPurger', { bucket: new Bucket(stack, 'Data', { bucketName: bucket, versioned: true, removalPolicy: RemovalPolicy.DESTROY }) });
  const template = app.synth().getStackByName(stack.stackName).template as TemplateJson;
  const idOf = (type: string) => {
    const ids = Object.entries(template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
    if (ids.length !== 1) throw new Error(`expected one ${type} in the demo stack, found ${ids.length}`);
    return ids[0];
  };
  const purgerLogicalId = idOf(RESOURCE_TYPE);
  const ownerId = String(template.Resources[purgerLogicalId].Properties?.OwnerId);
  return { template, purgerLogicalId, ownerId, functionLogicalId: idOf('AWS::Lambda::Function') };
}

/**
 * Plays CloudFormation deleting the stack: sends the bundled handler the Delete event, and runs the
 * workflow it starts, the state machine definition from the synthesized template, on a local Step
 * Functions (an ASL interpreter) whose every Lambda task is the bundled handler.
 */
async function deleteThroughCloudFormation(
  bucket: string,
  demo: ReturnType<typeof synthesizeDemoStack>,
): Promise<{ answer: Record<string, unknown>; ranges: number; status: string }> {
  if (!existsSync(HANDLER_BUNDLE)) throw new Error(`${HANDLER_BUNDLE} is missing: run npm run build`);
  // The handler logs JSON lines for CloudWatch, one per step; the demo prints a summary instead.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  // Its teardown metrics are one EMF line for CloudWatch too.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.AWS_LAMBDA_FUNCTION_NAME = DEMO_FUNCTION_NAME;
  // The construct sets this to AWS::StackId: the handler finds its state machine by it.
  process.env.VERSION_PURGER_STACK_ID = DEMO_STACK_ID;
  // A fresh instance of the self-contained bundle per Lambda sandbox, as Lambda loads it.
  const loadHandler = (): LambdaHandler => {
    delete require.cache[require.resolve(HANDLER_BUNDLE)];
    return (require(HANDLER_BUNDLE) as { handler: LambdaHandler }).handler;
  };
  const stepFunctions = new LocalStepFunctions({ loadHandler });
  const response = await captureCloudFormationResponse();
  // The handler purges only when CloudFormation confirms that the stack is deleting this resource:
  // a local stand-in for CloudFormation's read API says so.
  const cloudFormation = new LocalCloudFormationApi();
  await Promise.all([cloudFormation.start(), stepFunctions.start()]);
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.endpoint;
  process.env.AWS_ENDPOINT_URL_SFN = stepFunctions.endpoint;
  stepFunctions.createStateMachine(
    stateMachineFromTemplate(demo.template, { stackId: DEMO_STACK_ID, physicalIds: { [demo.functionLogicalId]: DEMO_FUNCTION_NAME } }),
  );
  const physicalId = `${PHYSICAL_ID_PREFIX}${bucket}:${demo.ownerId}`;
  cloudFormation.stacks.set(DEMO_STACK_ID, {
    status: 'DELETE_IN_PROGRESS',
    resources: new Map([[demo.purgerLogicalId, { physicalResourceId: physicalId, resourceType: RESOURCE_TYPE, resourceStatus: 'DELETE_IN_PROGRESS' }]]),
  });
  const serviceToken = `arn:aws:lambda:us-east-1:123456789012:function:${DEMO_FUNCTION_NAME}`;
  const properties: Record<string, string> = {};
  for (const [name, value] of Object.entries(demo.template.Resources[demo.purgerLogicalId].Properties ?? {})) {
    if (typeof value !== 'object') properties[name] = String(value); // CloudFormation sends scalars as strings
  }
  const event = {
    RequestType: 'Delete',
    ServiceToken: serviceToken,
    ResponseURL: response.url,
    StackId: DEMO_STACK_ID,
    RequestId: randomUUID(),
    LogicalResourceId: demo.purgerLogicalId,
    PhysicalResourceId: physicalId,
    ResourceType: RESOURCE_TYPE,
    ResourceProperties: { ...properties, ServiceToken: serviceToken, BucketName: bucket },
  };
  const deadline = Date.now() + 15 * 60_000;
  const context = {
    functionName: DEMO_FUNCTION_NAME,
    invokedFunctionArn: serviceToken,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    await loadHandler()(event, context);
    const answer = await response.answer;
    const execution = stepFunctions.executions[0];
    if (!execution) return { answer, ranges: 0, status: 'not started' };
    const done = await stepFunctions.waitFor(execution.executionArn);
    const ranges = done.invocations.filter((i) => i.stateName === STATE.teardownSlice).map((i) => JSON.stringify(i.event.state?.range));
    return { answer, ranges: new Set(ranges).size, status: done.status };
  } finally {
    response.close();
    await Promise.all([cloudFormation.stop(), stepFunctions.stop()]);
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
  say('CloudFormation path: synthesizing a stack with a VersionPurger on a second bucket (aws-cdk-lib, in-process)');
  const demo = synthesizeDemoStack(stackBucket);
  await client.send(new PutBucketTaggingCommand({ Bucket: stackBucket, Tagging: { TagSet: [{ Key: PURGE_TAG_KEY, Value: demo.ownerId }] } }));
  say(`s3://${stackBucket} belongs to that stack (tagged ${PURGE_TAG_KEY}=${demo.ownerId}, its purger's address)`);
  // More than one listing page (1,000 entries), so that the workflow splits it into key ranges.
  await fillBucket(client, stackBucket, 60);
  const stackBefore = await countEntries(client, stackBucket);
  say(`It holds ${stackBefore.versions} versions and ${stackBefore.deleteMarkers} delete markers; the stack is deleted, so the bundled handler gets a Delete event`);
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  const { answer, ranges, status } = await deleteThroughCloudFormation(stackBucket, demo);
  const fanOut = ranges > 0 ? `its Distributed Map worked on ${ranges} key ranges in parallel` : 'Plan purged the small bucket inline';
  say(`The handler started the stack's Step Functions workflow (run locally from the synthesized definition): ${status}; ${fanOut}`);
  say('The response the workflow sent CloudFormation (the handler\'s JSON logs are off: POWERTOOLS_LOG_LEVEL=INFO npm start shows them):');
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

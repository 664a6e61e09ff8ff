/**
 * Baseline: runs aws-cdk-lib's unmodified autoDeleteObjects handler against
 * an S3 endpoint, as CloudFormation would on stack delete, and prints
 * {"versions","ms"} as JSON on stdout.
 *
 * usage: node dist/bench/baselines/cdk-auto-delete.js ENDPOINT BUCKET
 *
 * The handler builds its S3 client (`new S3({})`) when the module loads, so
 * the endpoint must be in the environment before it is required:
 * AWS_ENDPOINT_URL_S3 is honoured by SDK v3, and an IP endpoint makes the
 * SDK use path-style addressing without forcePathStyle. The handler only
 * empties buckets tagged `aws-cdk:auto-delete-objects=true`.
 */
import { dirname, join } from 'node:path';

const HANDLER_PATH = 'custom-resource-handlers/dist/aws-s3/auto-delete-objects-handler/index.js';

interface AutoDeleteModule {
  autoDeleteHandler(event: Record<string, unknown>): Promise<unknown>;
}

/** Remaining versions of `bucket` per the model's stats, or undefined when the endpoint is not a model. */
async function remainingVersions(endpoint: string, bucket: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${endpoint}/__model/stats`);
    if (!res.ok) return undefined;
    const stats = (await res.json()) as { buckets: Record<string, { versionsRemaining: number }> };
    return stats.buckets[bucket]?.versionsRemaining ?? 0;
  } catch {
    return undefined;
  }
}

function deleteEvent(bucket: string): Record<string, unknown> {
  return {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:baseline',
    ResponseURL: 'https://cloudformation-response.invalid/',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/baseline/00000000-0000-0000-0000-000000000000',
    RequestId: 'baseline-request',
    LogicalResourceId: 'BucketAutoDeleteObjectsCustomResource',
    PhysicalResourceId: bucket,
    ResourceType: 'Custom::S3AutoDeleteObjects',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:baseline', BucketName: bucket },
  };
}

export async function runCdkAutoDelete(endpoint: string, bucket: string): Promise<{ versions: number | null; ms: number }> {
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'x';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'x';
  const handlerFile = join(dirname(require.resolve('aws-cdk-lib/package.json')), HANDLER_PATH);
  const handler = require(handlerFile) as AutoDeleteModule;

  const before = await remainingVersions(endpoint, bucket);
  const started = performance.now();
  await handler.autoDeleteHandler(deleteEvent(bucket));
  const ms = Math.round(performance.now() - started);
  const after = await remainingVersions(endpoint, bucket);
  return { versions: before !== undefined && after !== undefined ? before - after : null, ms };
}

async function main(): Promise<void> {
  const [endpoint, bucket] = process.argv.slice(2);
  if (!endpoint || !bucket) {
    process.stderr.write('usage: cdk-auto-delete.js ENDPOINT BUCKET\n');
    process.exit(2);
  }
  // The handler logs with console.log; keep stdout for the JSON result.
  console.log = (...args: unknown[]): void => console.error(...args);
  const result = await runCdkAutoDelete(endpoint, bucket);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

/**
 * The workflow's steps, as the bundled handler (assets/handler/index.js, built
 * by `npm run build`) runs them, called in the workflow's order by this test
 * instead of by Step Functions, against moto: Plan, every range's slices until
 * done, Confirm (another pass when it says so), Answer; and for retention
 * Plan, rounds of slices, Finish. The state passes from step to step as the
 * state machine passes it (lib/private/purge-workflow.ts). The end-to-end runs
 * of the synthesized definition itself are in the local Step Functions tests.
 *
 * moto drops the first entry of a listing that starts at a bare KeyMarker
 * (/work/shared/s3-facts.md): a range that starts after a folder misses one
 * entry on moto, never on S3. The teardown's second pass (a listing from the
 * start) deletes it: the test expects 1 or 2 passes. For retention it means
 * a few noncurrent versions are not seen in this run; the cap is still met
 * exactly because more than the cap is selectable.
 */
import * as path from 'node:path';
import { PutBucketTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { VersionPurger } from '../../lib';
import { fakeContext, ResponseServer } from '../support/lifecycle';
import { runRetentionSteps, runTeardownSteps } from '../support/workflow-driver';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

type Handler = (event: unknown, context: ReturnType<typeof fakeContext>) => Promise<any>;

const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'handler', 'index.js');
const FUNCTION_STACK = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Steps/5e1c0b2a-0000-4000-8000-000000000001';
const OWNER = 'c8stepsowner';
const responses = new ResponseServer();
const cloudFormation = new LocalCloudFormationApi();
const savedEnv = { ...process.env };
let handler: Handler;
let s3: S3Client;

beforeAll(async () => {
  await Promise.all([responses.start(), cloudFormation.start()]);
  process.env.AWS_ENDPOINT_URL_S3 = testEndpoint();
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.endpoint;
  process.env.VERSION_PURGER_STACK_ID = FUNCTION_STACK;
  process.env.VERSION_PURGER_SAFETY_MARGIN_MS = '50';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  jest.isolateModules(() => {
    handler = require(BUNDLE).handler as Handler;
  });
  s3 = testClient();
});

afterAll(async () => {
  await Promise.all([responses.stop(), cloudFormation.stop()]);
  process.env = savedEnv;
});

const step = (name: string, run: unknown, state: unknown, remainingMs = 60_000) =>
  handler({ kind: 'workflow', v: 1, step: name, run, state }, fakeContext(remainingMs));

/** A tagged bucket of four folders, more than one listing page (1,100 versions), and the Delete CloudFormation sends for it. */
async function givenDeletingStack(label: string) {
  const bucket = await createBucket(s3, uniqueBucketName(label));
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: VersionPurger.PURGE_TAG_KEY, Value: OWNER }] } }));
  await fill(s3, bucket, Array.from({ length: 220 }, (_, i) => `${'abcd'[i % 4]}/k${String(i).padStart(3, '0')}`), 5, 16);
  const stackId = `arn:aws:cloudformation:us-east-1:123456789012:stack/Steps/${label}-${Date.now()}`;
  const physicalId = `version-purger:${bucket}:${OWNER}`;
  cloudFormation.stacks.set(stackId, {
    status: 'DELETE_IN_PROGRESS',
    resources: new Map([['Purger', { physicalResourceId: physicalId, resourceType: 'Custom::VersionPurger', resourceStatus: 'DELETE_IN_PROGRESS' }]]),
  });
  const requestId = `req-${label}-${Date.now()}`;
  const event = {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ResponseURL: responses.urlFor(requestId),
    StackId: stackId,
    RequestId: requestId,
    LogicalResourceId: 'Purger',
    ResourceType: 'Custom::VersionPurger',
    PhysicalResourceId: physicalId,
    ResourceProperties: { BucketName: bucket, OwnerId: OWNER, ServiceTimeout: '600', FenceWrites: 'false' },
  };
  return { bucket, stackId, event, run: { kind: 'teardown', v: 1, event, startedAt: Date.now(), fenced: false } };
}

describe('teardown, step by step', () => {
  test('several ranges, a slice that runs out of time and resumes from its token, one answer', async () => {
    // GIVEN
    const { bucket, event, run } = await givenDeletingStack('steps');

    // WHEN the steps run in the workflow's order; the first slice of a range with keys (the first range, up to
    // the first folder, holds none) gets too little Lambda time to finish
    let first = true;
    const { answer: answered, slicesPerRange, resumedFromToken } = await runTeardownSteps(
      (name, r, state) => {
        const short = first && name === 'teardown-slice' && state.range.after !== undefined;
        if (short) first = false;
        return step(name, r, state, short ? 120 : 60_000);
      },
      run,
    );

    // THEN the first pass had several ranges, one slice resumed from its token, and the bucket is empty
    expect(slicesPerRange.length).toBeGreaterThanOrEqual(4);
    expect(resumedFromToken).toBe(true);
    expect(Math.max(...slicesPerRange)).toBeGreaterThanOrEqual(2);
    expect(answered).toMatchObject({ status: 'SUCCESS', reason: expect.stringMatching(/deleted 1,100 versions and 0 delete markers in [12] pass(es)?/) });
    expect(await listAll(s3, bucket)).toEqual([]);
    const answer = await responses.waitFor(event.RequestId);
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId });
    expect(responses.answers(event.RequestId)).toHaveLength(1);
  }, 120_000);

  test('a forged slice payload is refused by the checks and deletes nothing', async () => {
    // GIVEN a tagged bucket whose stack is in service, not being deleted
    const { bucket, stackId, run } = await givenDeletingStack('forged');
    cloudFormation.stacks.get(stackId)!.status = 'UPDATE_COMPLETE';
    const before = await listAll(s3, bucket);

    // WHEN someone who may invoke the function sends a slice for the whole bucket, and a Plan
    const slice = await step('teardown-slice', run, { index: 0, pass: 1, range: { prefix: '' }, token: null });
    const plan = await step('teardown-plan', run, { pass: 1 });

    // THEN both refuse and every version is still there
    expect(slice).toMatchObject({ done: true, result: { deleted: 0, refusal: { reason: expect.stringMatching(/does not confirm this deletion.*Nothing was deleted/) } } });
    expect(plan).toMatchObject({ next: 'answer', verdict: { reason: expect.stringMatching(/Nothing was deleted/) } });
    expect(await listAll(s3, bucket)).toHaveLength(before.length);
  }, 60_000);
});

describe('retention, step by step', () => {
  test('a cap across several ranges stops exactly at the cap, and never deletes a current version', async () => {
    // GIVEN four folders of keys with 3 versions each (2 noncurrent): 240 noncurrent, a cap of 37
    const bucket = await createBucket(s3, uniqueBucketName('ret-steps'));
    await fill(s3, bucket, Array.from({ length: 120 }, (_, i) => `${'abcd'[i % 4]}/k${String(i).padStart(3, '0')}`), 3, 16);
    const before = await listAll(s3, bucket);
    const configured = { kind: 'retention', v: 1, bucketName: bucket, policy: { keepNoncurrentVersions: 0 }, dryRun: false, maxDeletionsPerRun: 37 };
    cloudFormation.stacks.set(FUNCTION_STACK, {
      status: 'UPDATE_COMPLETE',
      resources: new Map([
        ['Purger', { physicalResourceId: 'p', resourceType: 'Custom::VersionPurger', resourceStatus: 'UPDATE_COMPLETE', metadata: JSON.stringify({ 'cdk-version-purger:retention': configured }) }],
      ]),
    });
    const run = { kind: 'retention', v: 2, purger: 'Purger' };

    // WHEN Plan, rounds of slices (each range in turn), Round, Finish
    const { summary, ranges, rounds } = await runRetentionSteps((name, r, state) => step(name, r, state), run, 'exec-ret');

    // THEN exactly 37 noncurrent versions are gone, over several ranges, and every current version is still there
    const after = await listAll(s3, bucket);
    expect(ranges).toBeGreaterThanOrEqual(4);
    expect(summary).toMatchObject({ selected: 37, deleted: 37, capReached: true });
    expect(before.length - after.length).toBe(37);
    const current = (entries: typeof before) => entries.filter((e) => e.isLatest).map((e) => `${e.key}@${e.versionId}`).sort();
    expect(current(after)).toEqual(current(before));
    expect(rounds).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

/**
 * What each stack change does to the data: the handler bundle that `cdk synth`
 * ships, driven in CloudFormation's real order of events (test/support/stack-player.ts)
 * through two or more template versions synthesized from the construct, against
 * moto, with local servers playing the ResponseURL and CloudFormation's read
 * API, and the synthesized workflow on a local Step Functions (a Delete starts it). Every test checks the buckets with its own listing.
 */
import * as path from 'node:path';
import { DeleteObjectCommand, GetBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { VersionPurger, type VersionPurgerProps } from '../../lib';
import { type BundledHandler, FUNCTION_STACK_ID, ResponseServer, startLocalWorkflow, synthesizeExample } from '../support/lifecycle';
import type { LocalStepFunctions } from '../../bin/demo/local-step-functions';
import { stateMachineArnFor } from '../../lambda/workflow/contract';
import { deleteMarker, fill, type ListedEntry, listAll, put, testClient } from '../support/s3';
import { StackPlayer, synthTemplate, type TemplateJson } from '../support/stack-player';

const { FENCE_STATEMENT_SID } = VersionPurger;

const responses = new ResponseServer();
const cloudFormation = new LocalCloudFormationApi();
let handler: BundledHandler;
let sfn: LocalStepFunctions;
let s3c: S3Client;
const savedEnv = { ...process.env };

beforeAll(async () => {
  const synth = synthesizeExample();
  await Promise.all([responses.start(), cloudFormation.start()]);
  process.env.AWS_ENDPOINT_URL_S3 = process.env.VERSION_PURGER_TEST_ENDPOINT;
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.endpoint;
  sfn = await startLocalWorkflow(synth);
  process.env.POWERTOOLS_LOG_LEVEL = process.env.VP_TEST_LOGS ? 'DEBUG' : 'SILENT';
  // Teardown metrics are checked in teardown-lifecycle.test.ts; here their EMF lines would only fill the test output.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  handler = require(path.join(synth.assetDir, 'index.js')).handler;
  s3c = testClient();
}, 120_000);

afterAll(async () => {
  await Promise.all([responses.stop(), sfn.stop(), cloudFormation.stop()]);
  process.env = savedEnv;
});

afterEach(async () => {
  await sfn.idle();
  expect(sfn.executions.filter((e) => e.status !== 'SUCCEEDED').map((e) => `${e.name}: ${e.status} ${e.error ?? ''}`)).toEqual([]);
});

/** A template: a versioned bucket `Data` destroyed with the stack, and whatever `addPurgers` adds. */
function version(
  addPurgers: (stack: Stack, bucket: s3.Bucket) => void,
  bucketProps: Partial<s3.BucketProps> = {},
): TemplateJson {
  return synthTemplate((stack) => {
    const bucket = new s3.Bucket(stack, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY, ...bucketProps });
    addPurgers(stack, bucket);
  });
}

const purgerAt =
  (id: string, props: Partial<VersionPurgerProps> = {}, parent?: string) =>
  (stack: Stack, bucket: s3.Bucket) =>
    new VersionPurger(parent ? new Construct(stack, parent) : stack, id, { bucket, ...props });

const DATA = 'Data'; // the bucket's construct id
/** Logical id of the bucket `Data` in every template version. */
function dataBucketId(template: TemplateJson): string {
  const ids = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::S3::Bucket');
  expect(ids).toHaveLength(1);
  expect(ids[0].startsWith(DATA)).toBe(true);
  return ids[0];
}

/** 3 keys with 3 versions each, and a delete marker: 10 entries. */
async function givenLiveData(bucket: string): Promise<ListedEntry[]> {
  await fill(s3c, bucket, ['a', 'b/c', 'd'], 3);
  await deleteMarker(s3c, bucket, 'a');
  const entries = await listAll(s3c, bucket);
  expect(entries).toHaveLength(10);
  return entries;
}

/** The bucket policy's statements, or [] without a policy. */
async function policyStatements(bucket: string): Promise<Array<{ Sid?: string }>> {
  try {
    return JSON.parse((await s3c.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}').Statement ?? [];
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchBucketPolicy') return [];
    throw err;
  }
}

/** Asserts the bucket kept every entry and gained no deny statement. */
async function expectUntouched(bucket: string, entries: ListedEntry[]): Promise<void> {
  expect(sorted(await listAll(s3c, bucket))).toEqual(sorted(entries));
  expect((await policyStatements(bucket)).filter((s) => s.Sid === FENCE_STATEMENT_SID)).toEqual([]);
  // Writes still go through; the probe is removed again, so that later checks see the same entries.
  const probe = await put(s3c, bucket, 'still-writable');
  expect(probe).toBeDefined();
  await s3c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'still-writable', VersionId: probe }));
}

/** Deletes the stack and asserts every bucket was emptied and deleted. */
async function expectStackDeletionEmpties(player: StackPlayer, buckets: string[]): Promise<void> {
  const before = player.bucketDeletions.length;
  await player.destroy();
  for (const bucket of buckets) expect(await listAllOrGone(bucket)).toEqual('gone');
  const deletions = player.bucketDeletions.slice(before);
  expect(deletions.map((d) => d.bucket)).toEqual(expect.arrayContaining(buckets));
  expect(deletions.filter((d) => d.outcome !== 'deleted')).toEqual([]);
}

async function listAllOrGone(bucket: string): Promise<ListedEntry[] | 'gone'> {
  try {
    return await listAll(s3c, bucket);
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchBucket') return 'gone';
    throw err;
  }
}

function sorted(entries: ListedEntry[]): string[] {
  return entries.map((e) => `${e.key}@${e.versionId}`).sort();
}

function newPlayer(): StackPlayer {
  return new StackPlayer(handler, responses, cloudFormation, s3c);
}

describe('Changes that keep the bucket never empty it or fence it', () => {
  test.each([
    ['renaming the construct', purgerAt('Cleaner')],
    ['moving it under another parent', purgerAt('Purger', {}, 'Storage')],
  ])('%s: the old resource\'s Delete leaves the live bucket as it is', async (_change, changed) => {
    // GIVEN a deployed stack with live data
    const player = newPlayer();
    const v1 = version(purgerAt('Purger'));
    await player.deploy(v1);
    const bucket = player.bucketName(dataBucketId(v1));
    const entries = await givenLiveData(bucket);

    // WHEN the purger's logical id changes
    const v2 = version(changed);
    await player.deploy(v2);

    // THEN CloudFormation sent Delete to the old resource in the cleanup phase, and it deleted nothing
    const deletes = player.requests.filter((r) => r.event.RequestType === 'Delete');
    expect(deletes).toEqual([
      expect.objectContaining({
        stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
        answer: expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/owned by another VersionPurger.*Nothing was deleted/) }),
      }),
    ]);
    await expectUntouched(bucket, entries);
    // AND deleting the stack later still empties the bucket
    await expectStackDeletionEmpties(player, [bucket]);
  });

  test('removing the construct, then adding it back: nothing is deleted until the stack is', async () => {
    const player = newPlayer();
    const v1 = version(purgerAt('Purger'));
    await player.deploy(v1);
    const bucket = player.bucketName(dataBucketId(v1));
    const entries = await givenLiveData(bucket);

    // WHEN
    await player.deploy(version(() => undefined));

    // THEN
    expect(player.requests.at(-1)).toMatchObject({
      stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      event: { RequestType: 'Delete' },
      answer: { Status: 'SUCCESS', Reason: expect.stringMatching(/no longer carries the cdk-version-purger:purge-on-delete tag/) },
    });
    await expectUntouched(bucket, entries);
    await player.deploy(v1);
    await expectStackDeletionEmpties(player, [bucket]);
  });

  test('purgeOnDelete true, false, true: the updates delete nothing, and the stack deletion empties the bucket', async () => {
    const player = newPlayer();
    const v1 = version(purgerAt('Purger'));
    await player.deploy(v1);
    const bucket = player.bucketName(dataBucketId(v1));
    const entries = await givenLiveData(bucket);

    // WHEN
    await player.deploy(version(purgerAt('Purger', { purgeOnDelete: false })));
    await expectUntouched(bucket, entries);
    await player.deploy(v1);

    // THEN only Updates were sent, and the same owner still holds the bucket
    expect(player.requests.slice(1).map((r) => r.event.RequestType)).toEqual(['Update', 'Update']);
    await expectUntouched(bucket, entries);
    await expectStackDeletionEmpties(player, [bucket]);
  });

  test('a stack with purgeOnDelete: false keeps its bucket full when deleted (CloudFormation cannot delete it)', async () => {
    const player = newPlayer();
    const v1 = version(purgerAt('Purger', { purgeOnDelete: false }));
    await player.deploy(v1);
    const bucket = player.bucketName(dataBucketId(v1));
    const entries = await givenLiveData(bucket);

    await player.destroy();

    expect(player.bucketDeletions.at(-1)).toEqual({ bucket, outcome: 'BucketNotEmpty' });
    await expectUntouched(bucket, entries);
  });
});

describe('Bucket replacement', () => {
  test('the Update deletes nothing and answers the new bucket\'s id; the cleanup empties the old bucket so it can be deleted', async () => {
    // GIVEN
    const player = newPlayer();
    const oldName = `lifecycle-old-${Date.now().toString(36)}`;
    const newName = `lifecycle-new-${Date.now().toString(36)}`;
    const v1 = version(purgerAt('Purger'), { bucketName: oldName });
    await player.deploy(v1);
    const oldEntries = await givenLiveData(oldName);
    let afterUpdate: ListedEntry[] = [];

    // WHEN the bucket's name changes, which replaces it
    await player.deploy(version(purgerAt('Purger'), { bucketName: newName }), {
      afterUpdates: async () => {
        afterUpdate = await listAll(s3c, oldName);
        await givenLiveData(newName);
      },
    });

    // THEN nothing was deleted during the update phase
    expect(sorted(afterUpdate)).toEqual(sorted(oldEntries));
    const update = player.requests.find((r) => r.event.RequestType === 'Update');
    expect(update?.answer).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: expect.stringMatching(new RegExp(`^version-purger:${newName}:c8`)) });
    // AND the cleanup's Delete for the old id emptied the old bucket, and CloudFormation deleted it
    expect(player.requests.at(-1)).toMatchObject({
      stackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      event: { RequestType: 'Delete', PhysicalResourceId: expect.stringMatching(new RegExp(`^version-purger:${oldName}:c8`)) },
      answer: { Status: 'SUCCESS' },
    });
    expect(player.bucketDeletions).toEqual([{ bucket: oldName, outcome: 'deleted' }]);
    // AND the new bucket is live and untouched, and emptied when the stack is deleted
    expect(await listAll(s3c, newName)).toHaveLength(10);
    expect((await policyStatements(newName)).filter((s) => s.Sid === FENCE_STATEMENT_SID)).toEqual([]);
    await expectStackDeletionEmpties(player, [newName]);
  });

  test('a rolled-back replacement keeps every version of the original bucket, unfenced; the rollback empties only what the update created', async () => {
    // GIVEN
    const player = newPlayer();
    const oldName = `lifecycle-keep-${Date.now().toString(36)}`;
    const newName = `lifecycle-fail-${Date.now().toString(36)}`;
    const v1 = version(purgerAt('Purger'), { bucketName: oldName });
    await player.deploy(v1);
    const entries = await givenLiveData(oldName);

    // WHEN the update replaces the bucket, then fails on a later resource
    await player.deploy(version(purgerAt('Purger'), { bucketName: newName }), {
      failAfterUpdates: true,
      afterUpdates: async () => {
        await givenLiveData(newName);
      },
    });

    // THEN the rollback's Update answered the original id, and its cleanup emptied the new bucket only
    const rollback = player.requests.filter((r) => r.stackStatus.startsWith('UPDATE_ROLLBACK'));
    const owner = player.purger(Object.keys(v1.Resources).find((id) => v1.Resources[id].Type === 'Custom::VersionPurger')!).properties.OwnerId;
    expect(rollback.map((r) => [r.stackStatus, r.event.RequestType, r.answer.PhysicalResourceId, r.answer.Status])).toEqual([
      ['UPDATE_ROLLBACK_IN_PROGRESS', 'Update', `version-purger:${oldName}:${owner}`, 'SUCCESS'],
      ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'Delete', `version-purger:${newName}:${owner}`, 'SUCCESS'],
    ]);
    expect(player.bucketDeletions).toEqual([{ bucket: newName, outcome: 'deleted' }]);
    await expectUntouched(oldName, entries);
    // AND deleting the stack later still empties the original bucket
    await expectStackDeletionEmpties(player, [oldName]);
  });
});

describe('Forged invocations delete nothing and fence nothing', () => {
  /** A deployed stack (CREATE_COMPLETE) with live data, and the purger's logical id and state. */
  async function givenLiveStack() {
    const player = newPlayer();
    const v1 = version(purgerAt('Purger'));
    await player.deploy(v1);
    const bucket = player.bucketName(dataBucketId(v1));
    const entries = await givenLiveData(bucket);
    const logicalId = Object.keys(v1.Resources).find((id) => v1.Resources[id].Type === 'Custom::VersionPurger')!;
    return { player, bucket, entries, logicalId, state: player.purger(logicalId) };
  }

  test('a forged teardown execution (StartExecution by hand) for a live bucket', async () => {
    // GIVEN
    const { player, bucket, entries, logicalId, state } = await givenLiveStack();
    const event = {
      ...player.deleteEvent(logicalId, state),
      ServiceToken: 'x',
      ResponseURL: responses.urlFor('forged-execution'),
      StackId: player.stackId,
      RequestId: 'forged-execution',
      ResourceType: 'Custom::VersionPurger',
    };

    // WHEN someone allowed to start the workflow starts a teardown with a Delete copied from the template
    const { executionArn } = sfn.startExecution({
      stateMachineArn: stateMachineArnFor(FUNCTION_STACK_ID),
      name: 'forged',
      input: JSON.stringify({ kind: 'teardown', v: 1, event, startedAt: Date.now(), fenced: false }),
    });
    await sfn.waitFor(executionArn);

    // THEN
    const answer = await responses.waitFor('forged-execution');
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/CloudFormation does not confirm.*CREATE_COMPLETE/) });
    await expectUntouched(bucket, entries);
    await expectStackDeletionEmpties(player, [bucket]);
  });

  test('a forged Delete event copied from the template, for a stack that is not deleting', async () => {
    const { player, bucket, entries, logicalId, state } = await givenLiveStack();

    const answer = await player.send(player.deleteEvent(logicalId, state));

    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/CloudFormation does not confirm/) });
    await expectUntouched(bucket, entries);
  });

  test('a forged Delete event naming a stack that does not exist', async () => {
    const { bucket, entries, logicalId, state } = await givenLiveStack();
    const forger = newPlayer(); // another stack id, never deployed: unknown to CloudFormation
    cloudFormation.stacks.delete(forger.stackId);

    const answer = await forger.send(forger.deleteEvent(logicalId, state));

    expect(answer).toMatchObject({ Status: 'SUCCESS', Reason: expect.stringMatching(/stack .* does not exist/) });
    await expectUntouched(bucket, entries);
  });

  test('forged Deletes sent while the stack cleans up after another change: another purger\'s logical id, or the live id', async () => {
    // GIVEN a stack with two purgers, each on its own bucket, with live data in the first
    const twoPurgers = (extraBucket: boolean) =>
      synthTemplate((stack) => {
        const data = new s3.Bucket(stack, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
        const other = new s3.Bucket(stack, 'Other', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
        new VersionPurger(stack, 'Purger', { bucket: data });
        new VersionPurger(stack, 'OtherPurger', { bucket: other });
        if (extraBucket) new s3.Bucket(stack, 'Extra');
      });
    const v1 = twoPurgers(false);
    const player = newPlayer();
    await player.deploy(v1);
    const ids = Object.keys(v1.Resources).filter((id) => v1.Resources[id].Type === 'Custom::VersionPurger');
    const dataPurger = ids.find((id) => id.startsWith('Purger'))!;
    const otherPurger = ids.find((id) => id.startsWith('OtherPurger'))!;
    const data = player.purger(dataPurger);
    const bucket = data.properties.BucketName;
    const entries = await givenLiveData(bucket);
    const answers: Array<Awaited<ReturnType<StackPlayer['send']>>> = [];

    // WHEN, during the cleanup of an unrelated update, Deletes are forged with the data purger's real properties
    // and physical id: under the other purger's logical id (a "replaced" id), and under its own (live) logical id
    await player.deploy(twoPurgers(true), {
      duringCleanup: async () => {
        answers.push(await player.send({ ...player.deleteEvent(dataPurger, data), LogicalResourceId: otherPurger }));
        answers.push(await player.send(player.deleteEvent(dataPurger, data)));
      },
    });

    // THEN CloudFormation's record refuses both: nothing deleted, nothing fenced
    expect(answers).toEqual([
      expect.objectContaining({ Reason: expect.stringMatching(/show no deletion in progress/) }),
      expect.objectContaining({ Reason: expect.stringMatching(/is CREATE_COMPLETE, not being deleted/) }),
    ]);
    await expectUntouched(bucket, entries);
    await expectStackDeletionEmpties(player, [bucket, player.purger(otherPurger).properties.BucketName]);
  });
});

/**
 * Teardown end to end, as a stack deletion meets it: CloudFormation's Delete reaches the BUNDLED
 * handler, which starts the SYNTHESIZED state machine (through AWS_ENDPOINT_URL_SFN, on the local
 * Step Functions running it with aws-local-stepfunctions, every Lambda task bound to the bundle),
 * and the workflow answers on the ResponseURL. S3 is moto; CloudFormation's read API is local.
 * Every test checks the bucket with an independent listing, and the counts per key range in the
 * execution history.
 *
 * Data sets are small (moto stores about 200 versions/s): a bucket needs more than one listing page
 * (1,000 entries) for Plan to split it instead of purging it inline.
 */
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { VersionPurger } from '../../lib';
import { STATE, type TeardownRangeResult } from '../../lambda/workflow/contract';
import * as path from 'node:path';
import { fakeContext } from '../support/lifecycle';
import { type LocalExecution, mapRuns } from '../../bin/demo/local-step-functions';
import { deleteMarker, fill, listAll } from '../support/s3';
import { loadIsolated, logicalIdOf, synthesizeWorkflowStack, WorkflowWorld } from '../support/workflow-world';

let world: WorkflowWorld;
let purger: string;

beforeAll(async () => {
  const stack = synthesizeWorkflowStack((s) => {
    const bucket = new s3.Bucket(s, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY, objectLockEnabled: true });
    // Two key ranges in flight at once (the default is 64), so that the fan-out's limit shows in a small test.
    new VersionPurger(s, 'Purger', { bucket, maxConcurrency: 2 });
  });
  world = new WorkflowWorld(stack);
  await world.start();
  purger = logicalIdOf(stack.template, 'Custom::VersionPurger');
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

/** Overruns recorded before this test. */
let overrunsBefore = 0;

beforeEach(() => {
  overrunsBefore = world.sfn.overruns.length;
  world.proxy.reset();
  world.faults.failListings = false;
  world.sfn.retryIntervalMs = undefined;
  world.sfn.beforeInvocation = undefined;
  world.sfn.lambdaTimeMs = undefined;
  delete process.env.VERSION_PURGER_SAFETY_MARGIN_MS;
  delete process.env.VERSION_PURGER_ANSWER_RESERVE_MS;
});

afterEach(async () => {
  await world.sfn.idle();
  // No Lambda invocation of this test may outlive its time: the steps stop themselves before.
  expect(world.sfn.overruns.slice(overrunsBefore)).toEqual([]);
});

/** Sends CloudFormation's Delete to the handler; resolves with the answer the workflow PUT and the execution. */
async function deleteStack(bucket: string, overrides: Record<string, string> = {}, timeoutMs = 90_000) {
  const event = world.deleteEvent(purger, bucket, overrides);
  const started = Date.now();
  await world.handler(event, fakeContext(60_000));
  const handlerReturnedAt = Date.now();
  const answer = await world.responses.waitFor(event.RequestId, timeoutMs).catch((err) => {
    throw new Error(`${err.message}; ${explain(event.RequestId)}`);
  });
  const execution = executionFor(event.RequestId);
  await world.sfn.waitFor(execution.executionArn, timeoutMs);
  await world.sfn.idle();
  return { event, answer, execution, started, handlerReturnedAt };
}

/** What the local Step Functions knows of a request: its StartExecution calls and its execution's history, for a failure message. */
function explain(requestId: string): string {
  const starts = world.sfn.startRequests.filter((r) => (r.input ?? '').includes(requestId)).map((r) => r.outcome);
  const execution = world.sfn.executions.find((e) => e.input.includes(requestId));
  if (!execution) return `no execution (StartExecution: ${starts.join(', ') || 'never called'})`;
  const trail = execution.events.map((e) => `${e.type}${e.state ? ` ${e.state.name}` : ''}${e.Error ? ` ${e.Error}: ${String(e.Cause).slice(0, 300)}` : ''}`);
  const calls = execution.invocations.map((i) => `${i.stateName} -> ${i.error ?? JSON.stringify(i.result)?.slice(0, 300)}`);
  return `execution ${execution.status} ${execution.error ?? ''} ${execution.cause ?? ''}: ${trail.join(' | ')}; invocations: ${calls.join(' | ')}`;
}

/** The execution started for a CloudFormation request. */
function executionFor(requestId: string): LocalExecution {
  const found = world.sfn.executions.filter((e) => JSON.parse(e.input).event?.RequestId === requestId);
  expect(found).toHaveLength(1);
  return found[0];
}

/** What each key range's child returned, every pass. */
function rangeResults(execution: LocalExecution): TeardownRangeResult[] {
  return mapRuns(execution, STATE.teardownRanges).flatMap((run) =>
    run.map((iteration) => {
      expect(iteration.status).toBe('SUCCEEDED');
      return iteration.output as TeardownRangeResult;
    }),
  );
}

/** The most intervals [start, end] open at one time. */
function maxInFlight(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([start, end]) => [[start, 1], [end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (open += delta));
  return most;
}

/** Versions of `keys`, under each of `folders`. */
function keysIn(folders: string[], perFolder: number): string[] {
  return folders.flatMap((f) => Array.from({ length: perFolder }, (_, i) => `${f}/k${String(i).padStart(3, '0')}`));
}

describe('teardown on the workflow', () => {
  test('a small bucket: Plan empties it inline and the answer comes within seconds, without the Map', async () => {
    // GIVEN
    const bucket = await world.taggedBucket(purger, 'wf-small');
    await fill(world.s3, bucket, ['a', 'b/c', 'd'], 3);
    await deleteMarker(world.s3, bucket, 'a');

    // WHEN
    const { answer, execution, started, handlerReturnedAt } = await deleteStack(bucket);

    // THEN the workflow answered, once, and the bucket is empty
    expect(answer.json).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: world.physicalId(purger, bucket) });
    expect(answer.json.Reason).toMatch(/deleted 9 versions and 1 delete marker/);
    expect(answer.receivedAt - started).toBeLessThan(5_000);
    expect(world.responses.answers(answer.json.RequestId)).toHaveLength(1);
    // AND the handler did not answer itself: the workflow did, after the handler returned
    expect(answer.receivedAt).toBeGreaterThanOrEqual(handlerReturnedAt);
    expect(execution.status).toBe('SUCCEEDED');
    expect(mapRuns(execution, STATE.teardownRanges)).toEqual([]);
    expect(await listAll(world.s3, bucket)).toEqual([]);
    expect(world.metricsFor(bucket)).toEqual([expect.objectContaining({ TeardownVersionsDeleted: 9, TeardownDeleteMarkersDeleted: 1, TeardownFailed: 0 })]);
  });

  test('a bucket of more than one listing page is split at its folders into several ranges, each purged by its own child', async () => {
    // GIVEN 1,050 versions in 5 folders, and incomplete multipart uploads in two of them
    const bucket = await world.taggedBucket(purger, 'wf-ranges');
    const folders = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    await fill(world.s3, bucket, keysIn(folders, 70), 3, 16);
    for (const key of ['alpha/big.bin', 'delta/big.bin']) await world.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));

    // WHEN
    const { answer, execution } = await deleteStack(bucket);

    // THEN
    expect(answer.json.Status).toBe('SUCCESS');
    expect(answer.json.Reason).toMatch(/deleted 1,?050 versions and 0 delete markers.*Aborted 2 incomplete multipart upload/);
    expect(await listAll(world.s3, bucket)).toEqual([]);
    expect((await world.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    // One pass: the ranges together covered every key (Confirm found nothing left).
    const passes = mapRuns(execution, STATE.teardownRanges);
    expect(passes).toHaveLength(1);
    const [firstPass] = passes;
    expect(firstPass.length).toBeGreaterThanOrEqual(2);
    expect(world.keyMarkerShim.fixed).toBeGreaterThan(0);
    // Ranges are disjoint: every version was deleted by exactly one range, and the counts add up.
    const results = rangeResults(execution);
    expect(results.reduce((n, r) => n + r.deleted, 0)).toBe(1_050);
    expect(results.every((r) => r.failed === 0 && !r.deadlinePassed)).toBe(true);
    expect(results.reduce((n, r) => n + r.uploadsAborted, 0)).toBe(2);
    const ranges = firstPass.map((i) => JSON.stringify(i.input));
    expect(new Set(ranges).size).toBe(ranges.length);
    // The children ran in parallel, at most maxConcurrency (2) at once.
    const slices = execution.invocations.filter((i) => i.stateName === STATE.teardownSlice);
    expect(maxInFlight(slices.map((i) => [i.startedAt, i.endedAt!]))).toBe(2);
  }, 180_000);

  test('a slice that runs out of Lambda time hands its resume token to the next slice of the same range', async () => {
    // GIVEN a bucket that takes several short invocations on a slow S3
    const bucket = await world.taggedBucket(purger, 'wf-loop');
    await fill(world.s3, bucket, Array.from({ length: 30 }, (_, i) => `p${i % 3}/k${i}`), 10);
    world.proxy.latencyMs = 1_000;
    // 8 s of Lambda time for every step, 2 s of it kept as the margin (the handler keeps at most a
    // quarter of the time): the request in flight at the deadline (1 s here, plus moto's own time to
    // delete a batch, which a loaded CI machine stretched past a 1 s margin) must fit in it, as the
    // engine checks its deadline between requests. One slice cannot finish its range in the 6 s left:
    // it needs six round trips of 1 s (the preflight reads, the uploads sweep, a page, a DeleteObjects,
    // and the confirming pass's sweep and page), and stops listing at 80 % of its time.
    process.env.VERSION_PURGER_SAFETY_MARGIN_MS = '2000';
    world.sfn.lambdaTimeMs = 8_000;

    // WHEN
    const callsBefore = world.cloudFormation.calls.length;
    const { answer, execution, event } = await deleteStack(bucket, { ServiceTimeout: '120' });

    // THEN
    expect(answer.json.Status).toBe('SUCCESS');
    expect(answer.json.Reason).toMatch(/deleted 300 versions and 0 delete markers/);
    expect(await listAll(world.s3, bucket)).toEqual([]);
    const slices = execution.invocations.filter((i) => i.stateName === STATE.teardownSlice);
    expect(slices.length).toBeGreaterThanOrEqual(2);
    // Each later slice of a range resumes from the token the previous one returned.
    const byRange = new Map<string, typeof slices>();
    for (const slice of slices) {
      const range = JSON.stringify([slice.event.state.pass, slice.event.state.index]);
      byRange.set(range, [...(byRange.get(range) ?? []), slice]);
    }
    const looped = [...byRange.values()].filter((list) => list.length >= 2);
    expect(looped.length).toBeGreaterThanOrEqual(1);
    for (const list of looped) {
      for (let i = 1; i < list.length; i++) {
        expect(list[i].event.state.token).toEqual(list[i - 1].result.token);
        expect(list[i].event.state.token).not.toBeNull();
      }
    }
    // Every step that may delete asked CloudFormation again first: the handler, each Plan, each slice.
    const asked = world.cloudFormation.calls.slice(callsBefore).filter((c) => c.action === 'DescribeStacks' && c.params.StackName === event.StackId);
    const plans = execution.invocations.filter((i) => i.stateName === STATE.teardownPlan);
    expect(asked.length).toBeGreaterThanOrEqual(1 + plans.length + slices.length);
    // The looping range's result counts every slice of it.
    for (const r of rangeResults(execution)) {
      const list = byRange.get(JSON.stringify([1, r.index])) ?? [];
      expect(r.slices).toBe(list.length);
      expect(r.deleted).toBe(list.at(-1)!.result.result.deleted);
    }
  }, 180_000);

  test('a version written during the pass (writes not fenced) is found by Confirm, and a second pass deletes it', async () => {
    // GIVEN a bucket larger than one listing page, so that the purge goes through the Map (without depending on
    // invocations cut short, whose margins a loaded machine can overrun), and a writer that puts one more version
    // just before Confirm lists the bucket from the start
    const bucket = await world.taggedBucket(purger, 'wf-passes');
    await fill(world.s3, bucket, Array.from({ length: 105 }, (_, i) => `p${i % 3}/k${i}`), 10);
    let written = false;
    world.sfn.beforeInvocation = async (request) => {
      if (request.stateName !== STATE.teardownConfirm || written) return;
      written = true;
      await world.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'late/writer', Body: 'x' }));
    };

    // WHEN
    const { answer, execution } = await deleteStack(bucket, { ServiceTimeout: '120', FenceWrites: 'false' });

    // THEN
    expect(written).toBe(true);
    expect(answer.json.Status).toBe('SUCCESS');
    expect(answer.json.Reason).toMatch(/deleted 1,051 versions and 0 delete markers in 2 passes/);
    expect(await listAll(world.s3, bucket)).toEqual([]);
    const passes = mapRuns(execution, STATE.teardownRanges);
    expect(passes).toHaveLength(2);
    expect(passes[1].map((i) => i.output.deleted)).toEqual([1]);
    expect(execution.invocations.filter((i) => i.stateName === STATE.teardownPlan).map((i) => i.event.state.pass)).toEqual([1, 2]);
  }, 180_000);

  test('a key under legal hold: the answer is FAILED naming the key, and everything else is deleted', async () => {
    // GIVEN
    const bucket = await world.taggedBucket(purger, 'wf-locked', { objectLock: true });
    await fill(world.s3, bucket, ['free/a', 'free/b'], 2);
    await world.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'held/key', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));

    // WHEN
    const { answer, execution } = await deleteStack(bucket);

    // THEN
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(/1 version could not be deleted/);
    expect(answer.json.Reason).toMatch(/"held\/key".*AccessDenied.*legal hold/);
    expect(world.responses.answers(answer.json.RequestId)).toHaveLength(1);
    expect((await listAll(world.s3, bucket)).map((e) => e.key)).toEqual(['held/key']);
    // The workflow ended normally: the FAILED answer is its verdict, not an error of ours.
    expect(execution.status).toBe('SUCCEEDED');
    expect(world.metricsFor(bucket)).toEqual([expect.objectContaining({ TeardownVersionsDeleted: 4, TeardownErrors: 1, TeardownFailed: 1 })]);
  });

  test('the run out of time: slices stop at the run deadline and the answer is FAILED before serviceTimeout, with progress', async () => {
    // GIVEN a 6-second serviceTimeout and an S3 that answers SlowDown to every DeleteObjects after the first
    const bucket = await world.taggedBucket(purger, 'wf-timeout');
    await fill(world.s3, bucket, Array.from({ length: 30 }, (_, i) => `p${i % 3}/k${i}`), 10);
    world.proxy.throttleDeletesAfter = 1;
    // Plan gets too little time to finish inline (3 s, 750 ms of it the margin), so the Map's slices meet the run deadline.
    process.env.VERSION_PURGER_SAFETY_MARGIN_MS = '750';
    world.sfn.lambdaTimeMs = (request) => (request.stateName === STATE.teardownPlan ? 3_000 : 60_000);

    // WHEN
    const { answer, execution, started } = await deleteStack(bucket, { ServiceTimeout: '6' });

    // THEN
    expect(answer.receivedAt - started).toBeLessThan(6_000);
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(/ran out of time: the custom resource's serviceTimeout \(6 s\) is nearly spent\./);
    expect(answer.json.Reason).toMatch(/about [1-9][\d,]* versions and delete markers remain/);
    expect(world.responses.answers(answer.json.RequestId)).toHaveLength(1);
    const left = (await listAll(world.s3, bucket)).length;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(300);
    expect(execution.status).toBe('SUCCEEDED');
    // The Map ran, and its range stopped at the run's deadline.
    expect(rangeResults(execution)).toEqual([expect.objectContaining({ deadlinePassed: true })]);
  });

  test('a key under legal hold in a bucket split into ranges: Confirm answers FAILED naming the key', async () => {
    // GIVEN 1,010 versions in 2 folders, and a legal-held key in the second
    const bucket = await world.taggedBucket(purger, 'wf-locked-ranges', { objectLock: true });
    await fill(world.s3, bucket, keysIn(['one', 'two'], 101), 5, 16);
    await world.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'two/held', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));

    // WHEN
    const { answer, execution } = await deleteStack(bucket);

    // THEN
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(/1 version could not be deleted/);
    expect(answer.json.Reason).toMatch(/"two\/held".*AccessDenied.*legal hold/);
    expect((await listAll(world.s3, bucket)).map((e) => e.key)).toEqual(['two/held']);
    const results = rangeResults(execution);
    expect(results.length).toBeGreaterThanOrEqual(2);
    expect(results.reduce((n, r) => n + r.failed, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.deleted, 0)).toBe(1_010);
  }, 180_000);

  test('a step that fails (S3 answers 500 to every listing) is caught, and the answer is FAILED naming the error; nothing is deleted', async () => {
    // GIVEN
    const bucket = await world.taggedBucket(purger, 'wf-catch');
    await fill(world.s3, bucket, ['a', 'b'], 2);
    world.faults.failListings = true;

    // WHEN
    const { answer, execution } = await deleteStack(bucket);

    // THEN
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(/^The purge workflow failed: InternalError/);
    expect(answer.json.Reason).toMatch(/Retrying the stack deletion continues the purge\./);
    expect(world.faults.failed).toBeGreaterThan(0);
    expect(await listAll(world.s3, bucket)).toHaveLength(4);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.events.some((e) => e.type === 'StateCaught' && e.state.name === STATE.teardownPlan)).toBe(true);
  });

  test('when the workflow cannot be started, the handler answers FAILED itself and deletes nothing', async () => {
    // GIVEN a function whose stack has no state machine here (a fresh sandbox reads the changed environment)
    const bucket = await world.taggedBucket(purger, 'wf-nostart');
    await fill(world.s3, bucket, ['a'], 2);
    const handler = loadIsolated(path.join(world.stack.assetDir, 'index.js'));
    const saved = process.env.VERSION_PURGER_STACK_ID;
    process.env.VERSION_PURGER_STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Elsewhere/00000000-0000-4000-8000-000000000000';
    const event = world.deleteEvent(purger, bucket);

    // WHEN
    try {
      await handler(event, fakeContext(60_000));
    } finally {
      process.env.VERSION_PURGER_STACK_ID = saved;
    }

    // THEN
    const answer = await world.responses.waitFor(event.RequestId, 10_000);
    expect(answer.json.Status).toBe('FAILED');
    expect(answer.json.Reason).toMatch(/Could not start the purge workflow for bucket wf-nostart-\w+ \(.*State Machine Does Not Exist.*\)\. Nothing was deleted/);
    expect(world.sfn.startRequests.filter((r) => (r.input ?? '').includes(event.RequestId)).map((r) => r.outcome)).toEqual([
      'StateMachineDoesNotExist',
    ]);
    expect(await listAll(world.s3, bucket)).toHaveLength(2);
  });

  test('the same Delete delivered twice starts one execution and gets one answer', async () => {
    // GIVEN
    const bucket = await world.taggedBucket(purger, 'wf-twice');
    await fill(world.s3, bucket, ['a', 'b'], 2);
    const event = world.deleteEvent(purger, bucket);

    // WHEN CloudFormation's asynchronous invocation is delivered twice, the second while the first runs
    await world.handler(event, fakeContext(60_000));
    await world.handler(event, fakeContext(60_000));
    const answer = await world.responses.waitFor(event.RequestId);
    await world.sfn.idle();

    // THEN
    expect(answer.json.Status).toBe('SUCCESS');
    expect(world.responses.answers(event.RequestId)).toHaveLength(1);
    const starts = world.sfn.startRequests.filter((r) => JSON.parse(r.input ?? '{}').event?.RequestId === event.RequestId);
    expect(starts.length).toBe(2);
    expect(new Set(starts.map((s) => s.name)).size).toBe(1);
    expect(executionFor(event.RequestId).status).toBe('SUCCEEDED');
    expect(await listAll(world.s3, bucket)).toEqual([]);
  });
});

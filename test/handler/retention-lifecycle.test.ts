/**
 * Runs the handler bundle that `cdk synth` ships against moto with the exact
 * events the construct's EventBridge rules send: each payload is read from the
 * synthesized template (the rule target's Input), so the construct and the
 * handler cannot drift apart. The request goes to the function, which starts
 * a retention execution of the synthesized workflow on a local Step Functions,
 * whose tasks run the same bundle; EMF metric lines are read from the captured
 * stdout. Every test checks the bucket with its own listing.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { type RetentionOptions, VersionPurger } from '../../lib';
import { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { type BundledHandler, captureEmfLines, fakeContext, startLocalWorkflow } from '../support/lifecycle';
import type { LocalExecution, LocalStepFunctions, TemplateJson } from '../../bin/demo/local-step-functions';
import { MotoKeyMarkerShim } from '../support/moto-key-marker-shim';
import { MotoMarkerShim } from '../support/moto-marker-shim';
import { createBucket, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';
import { resolveDeep } from '../support/template';
import { closeServer, forwardTo, listenOnLoopback } from '../../bin/demo/loopback-server';

/** The purgers of the synthesized stack; each test uses the payload of one. */
const PURGERS = {
  /** Age and count together, expired delete markers. */
  ages: { noncurrentVersionsOlderThan: Duration.seconds(3), keepNoncurrentVersions: 1, expiredDeleteMarkers: true },
  /** A preview that writes its report. */
  dryRun: { keepNoncurrentVersions: 0, dryRun: true, prefixes: ['logs/', 'data/', 'z'] },
  /** Count only: deterministic survivors for a run over several invocations. */
  keepOne: { keepNoncurrentVersions: 1 },
  /** Everything noncurrent, for a bucket with a locked version. */
  keepNone: { keepNoncurrentVersions: 0 },
  /** Noncurrent for more than an hour: nothing in a fresh history, everything noncurrent a day later. */
  hourOld: { noncurrentVersionsOlderThan: Duration.hours(1) },
  /**
   * Incomplete uploads only, under tmp/ but not tmp/keep/. Ten years: moto reports every upload as initiated
   * on 2010-11-10, so a run now finds them old enough, and a run as of 2015 too young.
   */
  uploads: { abortIncompleteUploadsAfter: Duration.days(3_650), prefixes: ['tmp/'], exclude: ['tmp/keep/'] },
} satisfies Record<string, Omit<RetentionOptions, 'schedule'>>;
type PurgerName = keyof typeof PURGERS;

let synth: SynthesizedRetention;
let handler: BundledHandler;
let sfn: LocalStepFunctions;
let proxy: FirstPageDelayProxy;
let shim: MotoKeyMarkerShim;
const markerShim = new MotoMarkerShim(testEndpoint());
/** Plays CloudFormation's read API: the stack's resources and their metadata. */
const cloudFormation = new LocalCloudFormationApi();
let s3c: S3Client;
const emf: Array<Record<string, any>> = [];
const savedEnv = { ...process.env };
let stdoutSpy: jest.SpyInstance;

beforeAll(async () => {
  synth = synthesizeRetentionStack();
  // Retention runs several key ranges; a range after a folder starts at a bare KeyMarker, which moto mishandles
  // (it drops the first entry): the shim makes moto answer as S3 does (test/support/moto-key-marker-shim.ts).
  // And a resumed slice lists from a version it deleted, where moto ends the listing: MotoMarkerShim carries on.
  await markerShim.start();
  shim = new MotoKeyMarkerShim(markerShim.endpoint);
  await shim.start();
  proxy = new FirstPageDelayProxy(shim.endpoint);
  await Promise.all([proxy.start(), cloudFormation.start()]);
  process.env.AWS_ENDPOINT_URL_S3 = proxy.endpoint;
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.endpoint;
  // The construct sets VERSION_PURGER_STACK_ID to the stack's id (AWS::StackId): the workflow's name follows from it.
  sfn = await startLocalWorkflow(synth, synth.stackId);
  process.env.POWERTOOLS_LOG_LEVEL = process.env.VP_TEST_LOGS ? 'DEBUG' : 'SILENT';
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  stdoutSpy = captureEmfLines(emf);
  handler = require(path.join(synth.assetDir, 'index.js')).handler;
  s3c = testClient();
}, 120_000);

afterAll(async () => {
  stdoutSpy?.mockRestore();
  await Promise.all([sfn.stop(), proxy?.stop(), cloudFormation.stop(), shim.stop(), markerShim.stop()]);
  process.env = savedEnv;
});

beforeEach(() => {
  proxy.reset();
  sfn.lambdaTimeMs = undefined;
  sfn.beforeInvocation = undefined;
  delete process.env.VERSION_PURGER_SAFETY_MARGIN_MS;
});

afterEach(async () => {
  await sfn.idle();
});

/**
 * Sends a retention request to the function, as the schedule's rule or a person would, and waits for the
 * retention execution it starts. Rejects with the Fail state's cause when the run failed (the execution
 * ends in RetentionFailed), as the request itself does when it is refused before anything starts.
 */
async function runRetention(request: Record<string, unknown>): Promise<LocalExecution> {
  const { execution } = (await handler(request, fakeContext(60_000))) as { execution: string };
  const started = sfn.executions.find((e) => e.name === execution);
  if (!started) throw new Error(`no execution ${execution} started`);
  const done = await sfn.waitFor(started.executionArn, 120_000);
  if (done.status !== 'SUCCEEDED') {
    let message = done.cause ?? '';
    try {
      message = JSON.parse(message).errorMessage ?? message;
    } catch {
      // not a Lambda error's JSON: the cause as it is
    }
    throw new Error(`${done.status} ${done.error ?? ''}: ${message}`);
  }
  return done;
}

describe('Scheduled retention run', () => {
  test('deletes exactly what the policy selects: age and count together, noncurrent and expired delete markers', async () => {
    // GIVEN a history written in real time, each key's steps at least 1.1 s apart
    const bucket = await createBucket(s3c, uniqueBucketName('ret-ages'));
    const h = new History(s3c, bucket);
    await h.put('old/a', 'a1'); //                       noncurrent since the next step, long ago, rank 2: deleted
    await h.put('dm/e', 'e1'); //                        same: deleted
    await h.put('ncdm/f', 'f1'); //                      noncurrent, rank 1: kept
    await h.put('dm/d', 'd1'); //                        removed below, leaving the delete marker alone
    await sleep(1_100);
    await h.put('old/a', 'a22'); //                      noncurrent, rank 1: kept
    await h.put('dm/e', 'e22'); //                       noncurrent, rank 1: kept
    await h.deleteMarker('ncdm/f'); //                   noncurrent delete marker, old enough: deleted
    await h.put('dm/c', 'c1'); //                        noncurrent, rank 1: kept
    await h.deleteMarker('dm/d'); //                     current delete marker, nothing behind it: expired, deleted
    await sleep(1_100);
    await h.put('old/a', 'a333'); //                     current
    await h.deleteMarker('dm/e'); //                     current delete marker with versions behind it: kept
    await h.put('ncdm/f', 'f22'); //                     current
    await h.deleteMarker('dm/c'); //                     current delete marker, its version is kept: kept
    await h.removeVersion('dm/d', 0); //                 (moto writes no delete marker for a missing key)
    await sleep(3_600); //                               the old steps are now noncurrent for more than 3 s
    await h.put('young/b', 'b1'); //                     noncurrent for about 1-2 s at the run, rank 2: kept (too young)
    await sleep(1_100);
    await h.put('young/b', 'b22');
    await sleep(1_100);
    await h.put('young/b', 'b333');
    const deleted = [h.id('old/a', 0), h.id('dm/e', 0), h.id('ncdm/f', 1), h.id('dm/d', 1)];
    const expected = h.all().filter((id) => !deleted.includes(id));

    // WHEN the function receives the rule's event
    await runRetention(synth.payload('ages', bucket));

    // THEN
    expect(ids(await listAll(s3c, bucket))).toEqual(expected.sort());
    expect(metricsFor(bucket)).toEqual([
      expect.objectContaining({
        VersionsDeleted: 2,
        DeleteMarkersDeleted: 2,
        BytesDeleted: 4,
        DeleteErrors: 0,
        CapReached: 0,
        RunFailed: 0,
        RunDurationMs: expect.any(Number),
        dryRun: 'false',
        invocations: '1',
      }),
    ]);
  });

  test('metrics go out as one EMF line in namespace VersionPurger with the BucketName dimension only', async () => {
    // GIVEN
    const bucket = await createBucket(s3c, uniqueBucketName('ret-emf'));
    const h = new History(s3c, bucket);
    for (const body of ['1', '22', '333']) await h.put('k', body);

    // WHEN
    await runRetention(synth.payload('keepOne', bucket));

    // THEN
    const [line] = metricsFor(bucket);
    expect(line._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'VersionPurger',
          Dimensions: [['BucketName']],
          Metrics: [
            { Name: 'VersionsDeleted', Unit: 'Count' },
            { Name: 'DeleteMarkersDeleted', Unit: 'Count' },
            { Name: 'BytesDeleted', Unit: 'Bytes' },
            { Name: 'DeleteErrors', Unit: 'Count' },
            { Name: 'RunDurationMs', Unit: 'Milliseconds' },
            { Name: 'CapReached', Unit: 'Count' },
            { Name: 'RunFailed', Unit: 'Count' },
          ],
        },
      ],
    });
    expect(line).toMatchObject({ BucketName: bucket, VersionsDeleted: 1, BytesDeleted: 1, DeleteErrors: 0 });
    expect(ids(await listAll(s3c, bucket))).toEqual([h.id('k', 1), h.id('k', 2)].sort());
  });

  test('a dry run deletes nothing and writes its report: counts by prefix and the selected entries', async () => {
    // GIVEN
    const bucket = await createBucket(s3c, uniqueBucketName('ret-dry'));
    const h = new History(s3c, bucket);
    for (const body of ['x1', 'x22', 'x333']) await h.put('logs/x', body);
    for (const body of ['y1', 'y22']) await h.put('data/y', body);
    await h.put('z', 'z1');
    await h.deleteMarker('z');
    await h.put('other/skip', 's1');
    await h.put('other/skip', 's2');
    const before = ids(await listAll(s3c, bucket));

    // WHEN
    await runRetention(synth.payload('dryRun', bucket));

    // THEN nothing was deleted
    expect(ids(await listAll(s3c, bucket))).toEqual(before);
    // AND the report lists what a real run would delete
    // (one entry file per key range and slice that selected something: the prefixes logs/, data/ and z are ranges of their own)
    const keys = await listKeys(synth.reportBucket, `previews/${bucket}/`);
    const entryFiles = keys.filter((k) => k.endsWith('.ndjson'));
    const summaryKey = keys.filter((k) => k.endsWith('.json'));
    expect(entryFiles.length).toBeGreaterThanOrEqual(1);
    for (const k of entryFiles) expect(k).toMatch(/\.entries-r\d+-k\d+-s\d+\.ndjson$/);
    expect(summaryKey).toHaveLength(1);
    const summary = JSON.parse(await read(synth.reportBucket, summaryKey[0]));
    expect(summary).toMatchObject({
      bucket,
      dryRun: true,
      complete: true,
      rounds: 1,
      selected: 4,
      wouldDelete: { versions: 4, deleteMarkers: 0, bytes: 9 },
      byPrefix: {
        'logs/': { versions: 2, deleteMarkers: 0, bytes: 5 },
        'data/': { versions: 1, deleteMarkers: 0, bytes: 2 },
        '': { versions: 1, deleteMarkers: 0, bytes: 2 },
      },
    });
    expect(summary.entries).toEqual({ count: 4, truncated: false, files: expect.arrayContaining(entryFiles) });
    expect(summary.entries.files).toHaveLength(entryFiles.length);
    const entries = (await Promise.all(entryFiles.map((k) => read(synth.reportBucket, k))))
      .flatMap((text) => text.trim().split('\n'))
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => e.versionId).sort()).toEqual([h.id('logs/x', 0), h.id('logs/x', 1), h.id('data/y', 0), h.id('z', 0)].sort());
    expect(metricsFor(bucket)).toEqual([expect.objectContaining({ VersionsDeleted: 0, BytesDeleted: 0, RunFailed: 0, dryRun: 'true' })]);
  });

  test('a run whose slice runs out of Lambda time loops from its token, with one asOf, and leaves the same survivors', async () => {
    // GIVEN 1,101 versions (two list pages, the first ending inside a key), 3 per key
    const bucket = await createBucket(s3c, uniqueBucketName('ret-cont'));
    const h = new History(s3c, bucket);
    // (keys with a stem longer than Plan's probes descend: one key range, so that its slices are what loops)
    const keys = Array.from({ length: 367 }, (_, i) => `k/object-${String(i).padStart(4, '0')}`);
    await h.fill(keys, 3);
    // AND a first slice whose first page arrives after it should stop listing: it stops between the pages
    // (5 s of Lambda time, 1.25 s of it the margin: the engine stops listing at 3 s, and the first page comes at 3.2 s)
    process.env.VERSION_PURGER_SAFETY_MARGIN_MS = '1500';
    proxy.firstPageDelayMs = 3_200;
    let slices = 0;
    sfn.lambdaTimeMs = (request) => (request.stateName === 'RetentionSlice' && slices <= 1 ? 5_000 : 60_000);
    sfn.beforeInvocation = (request) => {
      if (request.stateName !== 'RetentionSlice') return;
      if (slices++ > 0) proxy.reset();
    };

    // WHEN
    const execution = await runRetention(synth.payload('keepOne', bucket));

    // THEN the range took several slices, the later ones resuming from the token the first returned
    const sliceCalls = execution.invocations.filter((i) => i.stateName === 'RetentionSlice');
    expect(sliceCalls.length).toBeGreaterThanOrEqual(2);
    const first = sliceCalls[0].result;
    expect(first).toMatchObject({ done: false });
    // the first slice stopped inside the listing, holding the selector's state for the key in progress
    expect(first.token.streams).toEqual([expect.objectContaining({ k: expect.any(String), i: expect.any(String), q: expect.anything() })]);
    expect(sliceCalls[1].event.state.token).toEqual(first.token);
    // AND every slice evaluated the policy at the run's one asOf, and none carried the policy
    const plan = execution.invocations.find((i) => i.stateName === 'RetentionPlan')!.result;
    expect(plan.asOf).toBe(plan.startedAt);
    for (const call of sliceCalls) {
      expect(call.event.state.asOf).toBe(plan.asOf);
      expect(call.event.run).toEqual({ kind: 'retention', v: 2, purger: expect.any(String) });
    }
    // AND the survivors are each key's current version and its newest noncurrent one
    const expected = keys.flatMap((k) => [h.id(k, 1), h.id(k, 2)]);
    expect(ids(await listAll(s3c, bucket))).toEqual(expected.sort());
    expect(metricsFor(bucket)).toEqual([expect.objectContaining({ VersionsDeleted: 367, DeleteErrors: 0, RunFailed: 0 })]);
  }, 120_000);

  test('a run that cannot delete a COMPLIANCE-locked version emits DeleteErrors, then fails its execution', async () => {
    // GIVEN a locked noncurrent version and an unlocked one
    const bucket = await createBucket(s3c, uniqueBucketName('ret-lock'), { objectLock: true });
    const locked = await s3c.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'locked',
        Body: 'l1',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
      }),
    );
    const h = new History(s3c, bucket);
    await h.put('locked', 'l22');
    await h.put('free', 'f1');
    await h.put('free', 'f22');

    // WHEN / THEN
    await expect(runRetention(synth.payload('keepNone', bucket))).rejects.toThrow(
      new RegExp(
        `Retention run .* of bucket ${bucket} failed: 1 entry could not be deleted \\(1 version and 0 delete markers deleted\\)\\. ` +
          `First failures: "locked" \\(version ${locked.VersionId}\\): AccessDenied`,
      ),
    );
    expect(metricsFor(bucket)).toEqual([expect.objectContaining({ DeleteErrors: 1, VersionsDeleted: 1, RunFailed: 1, CapReached: 0 })]);
    expect(ids(await listAll(s3c, bucket))).toEqual([locked.VersionId!, h.id('locked', 0), h.id('free', 1)].sort());
  });

  test('abortIncompleteUploadsAfter aborts the old uploads in scope only, and deletes no version', async () => {
    // GIVEN uploads in and out of scope, and a noncurrent version under the same prefix
    const bucket = await createBucket(s3c, uniqueBucketName('ret-uploads'));
    const h = new History(s3c, bucket);
    await h.put('tmp/v', 'v1');
    await h.put('tmp/v', 'v22');
    for (const key of ['tmp/a.bin', 'tmp/keep/b.bin', 'data/c.bin']) await s3c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const uploads = async () => ((await s3c.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key).sort();

    // WHEN the run is evaluated as of 2015: the uploads are not ten years old then
    await runRetention({ ...synth.payload('uploads', bucket), asOf: '2015-01-01T00:00:00Z' });
    // THEN
    expect(await uploads()).toEqual(['data/c.bin', 'tmp/a.bin', 'tmp/keep/b.bin']);

    // WHEN the schedule's event runs it now
    await runRetention(synth.payload('uploads', bucket));
    // THEN
    expect(await uploads()).toEqual(['data/c.bin', 'tmp/keep/b.bin']);
    expect(ids(await listAll(s3c, bucket))).toEqual(h.all().sort());
    expect(metricsFor(bucket).at(-1)).toMatchObject({ VersionsDeleted: 0, DeleteMarkersDeleted: 0, RunFailed: 0 });
  });

  test('an event that is not a valid retention request throws at once, deleting nothing', async () => {
    const bucket = await createBucket(s3c, uniqueBucketName('ret-bad'));
    const h = new History(s3c, bucket);
    await h.put('k', '1');
    await h.put('k', '2');
    const event = { ...synth.payload('keepNone', bucket), dryRun: 'no' };
    await expect(handler(event, fakeContext(60_000))).rejects.toThrow(/Invalid retention request: dryRun must be a boolean/);
    expect(await listAll(s3c, bucket)).toHaveLength(2);
  });
});

describe('Forged retention invocations run the configured policy at most', () => {
  /**
   * A retention slice nobody's workflow sent: a real step payload's shape, as anyone allowed to invoke the
   * function could write it, for the whole bucket, with a huge quota.
   */
  function forgedSlice(purger: string, token: unknown): Record<string, unknown> {
    return {
      kind: 'workflow',
      v: 1,
      step: 'retention-slice',
      run: { kind: 'retention', v: 2, purger, dryRun: false },
      state: { index: 0, round: 1, runId: `forged-${randomUUID()}`, asOf: Date.now(), range: { prefix: '' }, token, quota: 1_000_000, reportRoom: 0 },
    };
  }

  /**
   * A bucket with two versions of each of two keys (under a prefix the dry-run
   * purger covers): the configured policies keep them all, a zero-age policy,
   * or an hour-old one evaluated a day later, would delete two.
   */
  async function givenHistory(label: string): Promise<{ bucket: string; all: string[] }> {
    const bucket = await createBucket(s3c, uniqueBucketName(label));
    const h = new History(s3c, bucket);
    await h.fill(['logs/a', 'logs/b'], 2);
    return { bucket, all: h.all().sort() };
  }

  test('an event that carries its own policy (the old format) is refused and deletes nothing', async () => {
    // GIVEN a purger configured to keep one noncurrent version
    const { bucket, all } = await givenHistory('forge-v1');
    synth.payload('keepOne', bucket);
    const forged = { kind: 'retention', v: 1, bucketName: bucket, policy: { noncurrentVersionsOlderThanMs: 0 }, dryRun: false };

    // WHEN / THEN
    await expect(handler(forged, fakeContext(60_000))).rejects.toThrow(/Invalid retention request: unsupported version 1/);
    expect(ids(await listAll(s3c, bucket))).toEqual(all);
  });

  test('a request that smuggles a policy, a bucket or prefixes is refused and deletes nothing', async () => {
    const { bucket, all } = await givenHistory('forge-smuggle');
    const request = synth.payload('keepOne', bucket);
    for (const extra of [{ policy: { keepNoncurrentVersions: 0 } }, { bucketName: bucket }, { maxDeletionsPerRun: 5 }]) {
      await expect(handler({ ...request, ...extra }, fakeContext(60_000))).rejects.toThrow(/cannot change the configured bucket, policy/);
    }
    expect(ids(await listAll(s3c, bucket))).toEqual(all);
  });

  test('a real run cannot be evaluated at a future asOf; a dry run may preview it and deletes nothing', async () => {
    // GIVEN a purger whose policy deletes noncurrent versions older than an hour: none is that old yet
    const { bucket, all } = await givenHistory('forge-asof');
    const request = synth.payload('hourOld', bucket);
    const future = new Date(Date.now() + 86_400_000).toISOString();

    // WHEN / THEN a real run at a future date is refused
    await expect(handler({ ...request, asOf: future }, fakeContext(60_000))).rejects.toThrow(/asOf .* is in the future/);
    expect(ids(await listAll(s3c, bucket))).toEqual(all);

    // AND a dry run at that date previews and deletes nothing
    await runRetention({ ...request, asOf: future, dryRun: true });
    expect(ids(await listAll(s3c, bucket))).toEqual(all);
    expect(metricsFor(bucket).at(-1)).toMatchObject({ VersionsDeleted: 0, RunFailed: 0 });

    // AND the same policy, evaluated now for real, keeps everything too
    await runRetention(request);
    expect(ids(await listAll(s3c, bucket))).toEqual(all);
  });

  test('"dryRun": false cannot turn a configured dry run into a real one, in a request or a step payload', async () => {
    const { bucket, all } = await givenHistory('forge-dry');
    const request = synth.payload('dryRun', bucket);
    await runRetention({ ...request, dryRun: false });
    await handler(forgedSlice(request.purger, null), fakeContext(60_000));
    expect(ids(await listAll(s3c, bucket))).toEqual(all);
  });

  test('a forged slice whose resume token claims a current version is an expired delete marker deletes only what the policy selects', async () => {
    // GIVEN key k with three versions (v2 current) and key l with two, under a purger that keeps 1 noncurrent version
    const bucket = await createBucket(s3c, uniqueBucketName('forge-token'));
    const h = new History(s3c, bucket);
    await h.fill(['k', 'l'], 3);
    await h.removeVersion('l', 0);
    const request = synth.payload('keepOne', bucket);
    // AND a slice resuming right after k's current version, with a selector snapshot that holds that
    // version as an expired delete marker and claims 5 newer noncurrent versions were already counted
    const forgedSnapshot = {
      v: 1,
      key: {
        key: 'k',
        previousLastModifiedMs: null,
        noncurrentVersionsSeen: 5,
        heldCurrentDeleteMarker: { versionId: h.id('k', 2), lastModifiedMs: Date.now(), size: 1 },
        everyOtherEntryDeleted: true,
      },
    };
    const token = {
      v: 2,
      bucket,
      mode: 'retain',
      dryRun: false,
      prefixes: '',
      policy: { noncurrentVersionsOlderThanMs: null, keepNoncurrentVersions: 1, expiredDeleteMarkers: false, exclude: '' },
      pass: 1,
      elapsedMs: 0,
      counts: { listed: 1, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 },
      passStart: { listed: 0, deleted: 0 },
      errors: [],
      streams: [{ s: 0, k: 'k', i: h.id('k', 2), q: forgedSnapshot }],
    };

    // WHEN
    await handler(forgedSlice(request.purger, token), fakeContext(60_000));

    // THEN k keeps its current version and its newest noncurrent one: the state was read again from S3
    expect(ids(await listAll(s3c, bucket))).toEqual([h.id('k', 2), h.id('k', 1), h.id('l', 1), h.id('l', 2)].sort());
  });

  test('a request for a resource that is not a purger, or for no resource, is refused', async () => {
    const { bucket, all } = await givenHistory('forge-name');
    synth.payload('keepOne', bucket);
    await expect(handler({ kind: 'retention', v: 2, purger: 'NoSuchPurger' }, fakeContext(60_000))).rejects.toThrow(
      /has no resource NoSuchPurger/,
    );
    expect(ids(await listAll(s3c, bucket))).toEqual(all);
  });
});

/** What the synthesized stack ships: the handler asset, and each purger's rule input. */
interface SynthesizedRetention {
  readonly assetDir: string;
  /** The synthesized template (the workflow's definition), and the provider function's logical id. */
  readonly template: TemplateJson;
  readonly functionLogicalId: string;
  /** The stack's id, as the function's environment carries it. */
  readonly stackId: string;
  /** Bucket the dry-run reports go to (created on moto by the synthesis helper's caller). */
  readonly reportBucket: string;
  /**
   * The event the purger's rule sends. Deploys the purger's configured run,
   * for a bucket of the given name, to the local CloudFormation API.
   */
  payload(purger: PurgerName, bucket: string): Record<string, unknown>;
}

/**
 * Synthesizes a stack with one retention purger per {@link PURGERS} entry
 * and reads each rule target's Input from the template, as EventBridge would
 * send it, and each purger's metadata, as CloudFormation would serve it once
 * it resolved the bucket names.
 */
function synthesizeRetentionStack(): SynthesizedRetention {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-retention-synth-'));
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'RetentionLifecycle');
  const reports = new s3.Bucket(stack, 'Reports');
  const reportBucket = uniqueBucketName('ret-reports');
  const ruleIds = new Map<PurgerName, { rule: string; bucket: string }>();
  for (const [name, options] of Object.entries(PURGERS) as [PurgerName, Omit<RetentionOptions, 'schedule'>][]) {
    const bucket = new s3.Bucket(stack, `${name}Bucket`, { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    const dryRunReportLocation = options.dryRun ? { bucket: reports, prefix: 'previews/' } : undefined;
    const purger = new VersionPurger(stack, name, {
      bucket,
      purgeOnDelete: name !== 'keepOne',
      retention: { schedule: events.Schedule.rate(Duration.hours(6)), ...options, dryRunReportLocation },
    });
    ruleIds.set(name, {
      rule: stack.resolve((purger.retentionRule!.node.defaultChild as events.CfnRule).logicalId),
      bucket: stack.resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId),
    });
  }
  const reportsId: string = stack.resolve((reports.node.defaultChild as s3.CfnBucket).logicalId);
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: any; Metadata?: Record<string, any> }>;
  };
  const stackId = `arn:aws:cloudformation:us-east-1:123456789012:stack/${stack.stackName}/${randomUUID()}`;
  cloudFormation.stacks.set(stackId, { status: 'UPDATE_COMPLETE', resources: new Map() });
  const fn = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  expect(fn).toHaveLength(1);
  const assetPath = fn[0][1].Metadata?.['aws:asset:path'];
  if (!assetPath) throw new Error('the function has no Code asset metadata');
  return {
    assetDir: path.join(outdir, assetPath),
    template: template as unknown as TemplateJson,
    functionLogicalId: fn[0][0],
    reportBucket,
    stackId,
    payload(purger, bucket) {
      const ids = ruleIds.get(purger)!;
      const input = JSON.parse(template.Resources[ids.rule].Properties.Targets[0].Input);
      const resource = template.Resources[input.purger];
      cloudFormation.stacks.get(stackId)!.resources.set(input.purger, {
        physicalResourceId: `version-purger:${bucket}`,
        resourceType: resource.Type,
        resourceStatus: 'CREATE_COMPLETE',
        metadata: JSON.stringify(resolveDeep(resource.Metadata, { [ids.bucket]: bucket, [reportsId]: reportBucket })),
      });
      return input;
    },
  };
}

beforeAll(async () => {
  await s3c.send(new CreateBucketCommand({ Bucket: synth.reportBucket }));
});


/**
 * A pass-through proxy to the S3 endpoint that can hold back the answer to
 * the first page of a version listing (a request without key-marker), so that
 * an invocation stops listing between the first and the second page.
 */
class FirstPageDelayProxy {
  private readonly server: http.Server;
  public endpoint = '';
  /** Added to ListObjectVersions requests without key-marker (ms). */
  public firstPageDelayMs = 0;

  constructor(target: string) {
    const upstream = new URL(target);
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '';
      const firstPage = req.method === 'GET' && /[?&]versions(=|&|$)/.test(url) && !/[?&]key-marker=/.test(url);
      const forward = () => {
        forwardTo(upstream, req, res);
      };
      if (firstPage && this.firstPageDelayMs > 0) setTimeout(forward, this.firstPageDelayMs);
      else forward();
    });
  }

  reset(): void {
    this.firstPageDelayMs = 0;
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

/** Writes a bucket's history, remembering each key's version ids in order (oldest first). */
class History {
  private readonly versions = new Map<string, string[]>();
  private readonly removed = new Set<string>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: string): Promise<void> {
    const out = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
    this.record(key, out.VersionId!);
  }

  async deleteMarker(key: string): Promise<void> {
    const out = await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    this.record(key, out.VersionId!);
  }

  /** Deletes a key's `n`-th step for good (it no longer counts as written). */
  async removeVersion(key: string, n: number): Promise<void> {
    const versionId = this.id(key, n);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
    this.removed.add(versionId);
  }

  /** `count` versions of each key; keys in parallel, one key's versions in order. */
  async fill(keys: string[], count: number, parallel = 8): Promise<void> {
    const queue = [...keys];
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
          for (let v = 0; v < count; v++) await this.put(key, `${key}#${v}`);
        }
      }),
    );
  }

  /** The version id of a key's `n`-th step (0 is the oldest). */
  id(key: string, n: number): string {
    const id = this.versions.get(key)?.[n];
    if (!id) throw new Error(`no step ${n} of ${key}`);
    return id;
  }

  /** Every version id written and not removed. */
  all(): string[] {
    return [...this.versions.values()].flat().filter((id) => !this.removed.has(id));
  }

  private record(key: string, versionId: string): void {
    this.versions.set(key, [...(this.versions.get(key) ?? []), versionId]);
  }
}

/** Version ids of a listing, sorted. */
function ids(entries: { versionId: string }[]): string[] {
  return entries.map((e) => e.versionId).sort();
}

/** EMF lines emitted for a bucket. */
function metricsFor(bucket: string): Array<Record<string, any>> {
  return emf.filter((line) => line.BucketName === bucket);
}

async function listKeys(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function read(bucket: string, key: string): Promise<string> {
  const out = await s3c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

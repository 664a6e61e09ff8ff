/**
 * Retention end to end on the workflow: the purger's EventBridge rule input (read from the
 * SYNTHESIZED template) starts the SYNTHESIZED state machine on the local Step Functions, every
 * Lambda task bound to the BUNDLED handler, against moto, the configured run read from the local
 * CloudFormation API. The final state is checked with an independent listing.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { VersionPurger } from '../../lib';
import { type RetentionRangeResult, STATE } from '../../lambda/workflow/contract';
import { mapRuns } from '../../bin/demo/local-step-functions';
import { createBucket, fill, type ListedEntry, listAll, uniqueBucketName } from '../support/s3';
import { logicalIdOf, synthesizeWorkflowStack, WorkflowWorld } from '../support/workflow-world';

/** The run's cap: less than what the four prefixes hold, and not a multiple of their count. */
const CAP = 25;
const PREFIXES = ['a/', 'b/', 'c/', 'd/'];

let world: WorkflowWorld;
/** The capped purger. */
let purger: string;
/** A purger without a cap, for an object-lock bucket. */
let lockedPurger: string;
/** A dry run that writes its report to the reports bucket. */
let previewPurger: string;
/** The reports bucket's logical id, and its name on moto. */
let reportsId: string;
const reportBucket = uniqueBucketName('wf-reports');

beforeAll(async () => {
  const stack = synthesizeWorkflowStack((s) => {
    const bucket = new s3.Bucket(s, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    new VersionPurger(s, 'Capped', {
      bucket,
      retention: { schedule: events.Schedule.rate(Duration.hours(6)), keepNoncurrentVersions: 0, prefixes: PREFIXES, maxDeletionsPerRun: CAP },
    });
    const locked = new s3.Bucket(s, 'LockedData', { versioned: true, removalPolicy: RemovalPolicy.DESTROY, objectLockEnabled: true });
    new VersionPurger(s, 'Locked', { bucket: locked, retention: { schedule: events.Schedule.rate(Duration.hours(6)), keepNoncurrentVersions: 0 } });
    const reports = new s3.Bucket(s, 'Reports');
    const previewed = new s3.Bucket(s, 'PreviewData', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    new VersionPurger(s, 'Preview', {
      bucket: previewed,
      retention: {
        schedule: events.Schedule.rate(Duration.hours(6)),
        keepNoncurrentVersions: 0,
        prefixes: PREFIXES,
        dryRun: true,
        dryRunReportLocation: { bucket: reports, prefix: 'previews/' },
      },
    });
  });
  world = new WorkflowWorld(stack);
  await world.start();
  purger = logicalIdOf(stack.template, 'Custom::VersionPurger', 'Capped');
  lockedPurger = logicalIdOf(stack.template, 'Custom::VersionPurger', 'Locked');
  previewPurger = logicalIdOf(stack.template, 'Custom::VersionPurger', 'Preview');
  reportsId = logicalIdOf(stack.template, 'AWS::S3::Bucket', 'Reports');
  await world.s3.send(new CreateBucketCommand({ Bucket: reportBucket }));
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

/** Overruns recorded before this test. */
let overrunsBefore = 0;

beforeEach(() => {
  overrunsBefore = world.sfn.overruns.length;
});

afterEach(async () => {
  await world.sfn.idle();
  // No Lambda invocation of this test may outlive its time: the steps stop themselves before.
  expect(world.sfn.overruns.slice(overrunsBefore)).toEqual([]);
});

const id = (e: ListedEntry) => `${e.key}@${e.versionId}`;

describe('retention on the workflow', () => {
  test('a run over several key ranges stops exactly at maxDeletionsPerRun, deleting only noncurrent versions under the prefixes', async () => {
    // GIVEN 3 prefixes of 5 keys and one of 1 key, 3 versions each: 32 noncurrent versions, more than the cap,
    // unevenly spread, so that the first round's quotas leave some of the cap for a second round; and a key outside them
    const bucket = await createBucket(world.s3, uniqueBucketName('wf-cap'));
    // Keys share a stem longer than Plan's probes descend (engine/listing/key-ranges.ts), so each prefix is one
    // range and the uneven spread shows in the quotas.
    const keys = PREFIXES.flatMap((p) => Array.from({ length: p === 'a/' ? 1 : 5 }, (_, i) => `${p}object-${i}`));
    await fill(world.s3, bucket, [...keys, 'z/outside'], 3);
    const before = await listAll(world.s3, bucket);
    const noncurrentUnderPrefixes = new Set(before.filter((e) => !e.isLatest && PREFIXES.some((p) => e.key.startsWith(p))).map(id));
    expect(noncurrentUnderPrefixes.size).toBe(32);
    const input = world.retentionInput(purger, bucket);

    // WHEN EventBridge starts the workflow with the rule's input
    const { executionArn } = world.sfn.startExecution({ stateMachineArn: world.stateMachineArn, input: JSON.stringify(input) });
    const execution = await world.sfn.waitFor(executionArn, 120_000);
    await world.sfn.idle();

    // THEN exactly CAP entries are gone, all of them noncurrent versions under the prefixes
    expect(execution.status).toBe('SUCCEEDED');
    const after = new Set((await listAll(world.s3, bucket)).map(id));
    const deleted = before.map(id).filter((v) => !after.has(v));
    expect(deleted).toHaveLength(CAP);
    for (const v of deleted) expect(noncurrentUnderPrefixes.has(v)).toBe(true);
    for (const e of before.filter((e) => e.isLatest || e.key === 'z/outside')) expect(after.has(id(e))).toBe(true);

    // AND the history shows the run fanned out over several ranges, in rounds whose quotas never exceeded what was left
    const rounds = mapRuns(execution, STATE.retentionRanges);
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds[0].length).toBeGreaterThanOrEqual(PREFIXES.length);
    let remaining = CAP;
    for (const round of rounds) {
      const quotas = round.map((i) => i.input.slice.quota as number);
      expect(quotas.reduce((n, q) => n + q, 0)).toBeLessThanOrEqual(remaining);
      const results = round.map((i) => {
        expect(i.status).toBe('SUCCEEDED');
        return i.output as RetentionRangeResult;
      });
      for (const [k, r] of results.entries()) expect(r.selected).toBeLessThanOrEqual(quotas[k]);
      const selected = results.reduce((n, r) => n + r.selected, 0);
      expect(results.reduce((n, r) => n + r.deleted, 0)).toBe(selected);
      remaining -= selected;
    }
    expect(remaining).toBe(0);
    // AND one metrics line for the run, saying it stopped at the cap
    expect(world.metricsFor(bucket)).toEqual([expect.objectContaining({ VersionsDeleted: CAP, CapReached: 1, RunFailed: 0 })]);
  }, 180_000);

  test('a noncurrent version under legal hold fails the run: the execution ends FAILED (what the alarm watches), naming the key, the rest deleted', async () => {
    // GIVEN two keys with a noncurrent version each, one of them under legal hold
    const bucket = await createBucket(world.s3, uniqueBucketName('wf-ret-locked'), { objectLock: true });
    await world.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'held/k', Body: 'old', ObjectLockLegalHoldStatus: 'ON' }));
    await fill(world.s3, bucket, ['held/k'], 1);
    await fill(world.s3, bucket, ['free/k'], 2);
    const before = await listAll(world.s3, bucket);
    const input = world.retentionInput(lockedPurger, bucket);

    // WHEN
    const { executionArn } = world.sfn.startExecution({ stateMachineArn: world.stateMachineArn, input: JSON.stringify(input) });
    const execution = await world.sfn.waitFor(executionArn, 120_000);
    await world.sfn.idle();

    // THEN
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('RetentionRunFailed');
    expect(execution.cause).toMatch(/held\/k/);
    const after = await listAll(world.s3, bucket);
    const gone = before.filter((e) => !after.some((a) => id(a) === id(e)));
    expect(gone.map((e) => [e.key, e.isLatest])).toEqual([['free/k', false]]);
    expect(after.filter((e) => e.key === 'held/k')).toHaveLength(2);
    expect(world.metricsFor(bucket)).toEqual([expect.objectContaining({ VersionsDeleted: 1, DeleteErrors: 1, RunFailed: 1 })]);
  });

  test('a dry run over several key ranges deletes nothing, and its report lists exactly what a real run would delete', async () => {
    // GIVEN 4 prefixes of 2 keys with 2 versions each: 8 noncurrent versions
    const bucket = await createBucket(world.s3, uniqueBucketName('wf-preview'));
    await fill(world.s3, bucket, [...PREFIXES.flatMap((p) => [`${p}k0`, `${p}k1`]), 'z/outside'], 2);
    const before = await listAll(world.s3, bucket);
    const input = world.retentionInput(previewPurger, bucket, { [reportsId]: reportBucket });

    // WHEN
    const { executionArn } = world.sfn.startExecution({ stateMachineArn: world.stateMachineArn, input: JSON.stringify(input) });
    const execution = await world.sfn.waitFor(executionArn, 120_000);
    await world.sfn.idle();

    // THEN nothing was deleted
    expect(execution.status).toBe('SUCCEEDED');
    expect((await listAll(world.s3, bucket)).map(id).sort()).toEqual(before.map(id).sort());
    // AND the ranges' entry files together list exactly the noncurrent versions under the prefixes
    expect(mapRuns(execution, STATE.retentionRanges)[0].length).toBeGreaterThanOrEqual(PREFIXES.length);
    const listed = await world.s3.send(new ListObjectsV2Command({ Bucket: reportBucket, Prefix: `previews/${bucket}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    const entryFiles = keys.filter((k) => k.endsWith('.ndjson'));
    const summaries = keys.filter((k) => k.endsWith('.json'));
    expect(summaries).toHaveLength(1);
    const entries = (await Promise.all(entryFiles.map(read))).flatMap((text) => text.trim().split('\n').map((l) => JSON.parse(l)));
    const expected = before.filter((e) => !e.isLatest && PREFIXES.some((p) => e.key.startsWith(p)));
    expect(entries.map((e) => `${e.key}@${e.versionId}`).sort()).toEqual(expected.map(id).sort());
    expect(JSON.parse(await read(summaries[0]))).toMatchObject({ bucket, dryRun: true, selected: 8, entries: { count: 8, truncated: false } });
    expect(world.metricsFor(bucket)).toEqual([expect.objectContaining({ VersionsDeleted: 0, RunFailed: 0, dryRun: 'true' })]);
  });
});

/** A report object's text. */
async function read(key: string): Promise<string> {
  const out = await world.s3.send(new GetObjectCommand({ Bucket: reportBucket, Key: key }));
  return out.Body!.transformToString();
}

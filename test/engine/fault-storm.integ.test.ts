/**
 * Runs through a storm of transient faults, against the S3 model server
 * (bench/s3-model) with fault injection on: a fraction of requests answered
 * 500 InternalError, of connections reset, and of keys inside DeleteObjects
 * answered InternalError in a 200. moto cannot be made to do any of this.
 *
 * The CLI runs as a child process, as scripts run it. Each storm test runs
 * several times in a row: a single lucky run proves little.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTANT_CONFIG, startModelServer, type ModelConfig, type ModelServer, type StatsSnapshot } from '../../bench/s3-model';
import type { CfnAnswer, CfnDeleteEvent } from '../../lambda/teardown/cfn-response';
import { handleEvent, type HandlerDeps } from '../../lambda/handler';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { PURGE_TAG_KEY } from '../../lambda/resource-contract';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { cliAsync, requireBuiltCli } from '../support/cli';
import { runTeardownSteps } from '../support/workflow-driver';

/** The storm of issue 16, made a little harsher so that every kind of fault shows up in every series of runs. */
const STORM: Partial<ModelConfig> = { internalErrorRate: 0.1, connectionResetRate: 0.05, keyErrorRate: 0.05 };
const CALM: Partial<ModelConfig> = { internalErrorRate: 0, connectionResetRate: 0, keyErrorRate: 0 };
const RUNS = [1, 2, 3];

interface Entry {
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly isLatest: boolean;
}

let server: ModelServer;
/** Confirms each teardown's stack deletion, as CloudFormation's API would. */
const cloudFormation = new LocalCloudFormationApi();
/** The owner id the bucket's tag and the resource's properties share. */
const OWNER = 'storm-owner';
/** Reads the bucket while the model is calm: an independent check. */
let reader: S3Client;
/** Faults injected over each series of runs, by kind. */
const injected = new Map<string, { internalErrors: number; connectionResets: number; keyInternalErrors: number }>();

beforeAll(async () => {
  requireBuiltCli();
  server = await startModelServer({ ...INSTANT_CONFIG });
  await cloudFormation.start();
  reader = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});

afterAll(async () => {
  reader.destroy();
  await Promise.all([server.stop(), cloudFormation.stop()]);
});

async function listAll(bucket: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await reader.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    for (const v of page.Versions ?? []) entries.push({ key: v.Key!, versionId: v.VersionId!, isDeleteMarker: false, isLatest: v.IsLatest === true });
    for (const m of page.DeleteMarkers ?? []) entries.push({ key: m.Key!, versionId: m.VersionId!, isDeleteMarker: true, isLatest: m.IsLatest === true });
    if (!page.IsTruncated) return entries;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

const idsOf = (entries: readonly Entry[]): string[] => entries.map((e) => `${e.key}@${e.versionId}`).sort();

/** Runs `during` with the storm on, and returns the model's counters before and after. */
async function inStorm<T>(seed: number, during: () => Promise<T>): Promise<{ out: T; before: StatsSnapshot; after: StatsSnapshot }> {
  const before = server.stats();
  server.configure({ ...STORM, faultSeed: seed });
  try {
    const out = await during();
    return { out, before, after: server.stats() };
  } finally {
    server.configure(CALM);
  }
}

/** Adds a run's injected faults to its series' tally. */
function tally(series: string, before: StatsSnapshot, after: StatsSnapshot): void {
  const sum = injected.get(series) ?? { internalErrors: 0, connectionResets: 0, keyInternalErrors: 0 };
  sum.internalErrors += after.faultsInjected.internalErrors - before.faultsInjected.internalErrors;
  sum.connectionResets += after.faultsInjected.connectionResets - before.faultsInjected.connectionResets;
  sum.keyInternalErrors += after.faultsInjected.keyInternalErrors - before.faultsInjected.keyInternalErrors;
  injected.set(series, sum);
}

/** Checks, after a series of runs, that the storm brought every kind of fault. */
function expectEveryKindOfFault(series: string): void {
  const sum = injected.get(series);
  expect(sum?.internalErrors).toBeGreaterThan(0);
  expect(sum?.connectionResets).toBeGreaterThan(0);
  expect(sum?.keyInternalErrors).toBeGreaterThan(0);
}

describe('CLI purge through a storm of 500s, connection resets and per-key InternalErrors', () => {
  test.each(RUNS)('run %i: the bucket ends empty, the counts are exact, exit code 0', async (run) => {
    // GIVEN 20,500 entries over 4 prefixes (half the shape of issue 16): 20,000 versions and 500 delete markers
    const bucket = `storm-purge-${run}`;
    const seeded = server.seed({ bucket, keys: 5_000, versionsPerKey: 4, prefixes: 4, deleteMarkerEvery: 10 });
    expect(seeded).toMatchObject({ objectVersions: 20_000, deleteMarkers: 500 });

    // WHEN it is purged through the storm
    const { out, before, after } = await inStorm(run, () => cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', server.endpoint, '--json'));
    tally('purge', before, after);

    // THEN it exits 0 with exact counts and nothing failed
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(out.stdout)).toMatchObject({ deleted: 20_000, deleteMarkersDeleted: 500, failed: 0, errors: [], resumeToken: null });
    // AND the model removed every entry, each exactly once
    expect(after.keysDeleted - before.keysDeleted).toBe(20_500);
    expect(await listAll(bucket)).toEqual([]);
    // AND the run met the storm
    expect(after.faultsInjected.internalErrors - before.faultsInjected.internalErrors).toBeGreaterThan(0);
    expect(after.faultsInjected.keyInternalErrors - before.faultsInjected.keyInternalErrors).toBeGreaterThan(0);
  });

  test('the runs met every kind of fault', () => expectEveryKindOfFault('purge'));
});

describe('CLI retention run through the same storm', () => {
  test.each(RUNS)('run %i: exactly the entries beyond the rule are deleted, exit code 0', async (run) => {
    // GIVEN 1,000 keys with 6 versions each; every 5th key's current entry is a delete marker
    const bucket = `storm-retain-${run}`;
    server.seed({ bucket, keys: 1_000, versionsPerKey: 6, prefixes: 4, deleteMarkerEvery: 5 });
    const history = await listAll(bucket);
    // The rule, applied by hand: keep each key's current entry and its 2 newest noncurrent versions.
    const keep = new Set<string>();
    const byKey = new Map<string, Entry[]>();
    for (const e of history) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    for (const entries of byKey.values()) {
      const current = entries.find((e) => e.isLatest)!;
      keep.add(`${current.key}@${current.versionId}`);
      // moto and the model list a key's versions newest first
      const noncurrent = entries.filter((e) => !e.isLatest && !e.isDeleteMarker).slice(0, 2);
      for (const e of noncurrent) keep.add(`${e.key}@${e.versionId}`);
    }
    const expectedDeleted = history.length - keep.size;
    expect(expectedDeleted).toBe(800 * 3 + 200 * 4);

    // WHEN a retention run keeps 2 noncurrent versions, through the storm
    const { out, before, after } = await inStorm(100 + run, () =>
      cliAsync({}, 'retain', '--bucket', bucket, '--endpoint', server.endpoint, '--keep-noncurrent', '2', '--json'),
    );
    tally('retain', before, after);

    // THEN it exits 0 with exact counts
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(out.stdout)).toMatchObject({ deleted: expectedDeleted, deleteMarkersDeleted: 0, failed: 0, resumeToken: null });
    // AND exactly the kept entries are left, each current entry among them
    expect(idsOf(await listAll(bucket))).toEqual([...keep].sort());
    expect(after.keysDeleted - before.keysDeleted).toBe(expectedDeleted);
  });

  test('the runs met every kind of fault', () => expectEveryKindOfFault('retain'));
});

describe('Lambda teardown through a storm of 500s and per-key InternalErrors', () => {
  test.each(RUNS)('run %i: answers SUCCESS after emptying the bucket', async (run) => {
    // GIVEN a bucket tagged for purging, and the handler with the production client and engine
    const bucket = `storm-teardown-${run}`;
    server.seed({
      bucket,
      keys: 2_000,
      versionsPerKey: 2,
      prefixes: 4,
      deleteMarkerEvery: 10,
      tags: { [PURGE_TAG_KEY]: OWNER },
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
    });
    const answers: CfnAnswer[] = [];
    const s3 = createS3Client({ endpoint: server.endpoint, region: 'us-east-1' });
    const event = teardownEvent(bucket, run);
    cloudFormation.stacks.set(event.StackId, {
      status: 'DELETE_IN_PROGRESS',
      resources: new Map([['Purger', { physicalResourceId: event.PhysicalResourceId, resourceType: 'Custom::VersionPurger', resourceStatus: 'DELETE_IN_PROGRESS' }]]),
    });
    const deps: HandlerDeps = {
      s3,
      cloudFormation: new CloudFormationClient({ endpoint: cloudFormation.endpoint, region: 'us-east-1' }),
      purge: purgeBucket,
      // The Delete starts the workflow; its steps run here, in order, with the same handler and deps.
      startExecution: async (_name, input) => {
        await runTeardownSteps((step, run, state) => handleEvent({ kind: 'workflow', v: 1, step, run, state }, lambdaContext(), deps), input);
        return 'started';
      },
      respond: async (_event, answer) => {
        answers.push(answer);
      },
      logger: new Logger({ serviceName: 'storm', logLevel: 'SILENT' }),
      // The teardown metrics are checked in the lifecycle tests; here their EMF line would only fill the output.
      publishTeardownMetrics: () => undefined,
      env: { safetyMarginMs: 5_000, answerReserveMs: 5_000 },
      now: Date.now,
    };

    // WHEN CloudFormation deletes the resource through a storm of 500s and per-key errors. Connection
    // resets are left out here: inside jest, Node's network errors come from another realm than the
    // SDK's, which then wraps them and hides their code (the CLI tests above meet resets in a plain process).
    const before = server.stats();
    server.configure({ ...STORM, connectionResetRate: 0, faultSeed: 200 + run });
    try {
      await handleEvent(event, lambdaContext(), deps);
    } finally {
      server.configure(CALM);
      s3.destroy();
    }
    const after = server.stats();

    // THEN it answered SUCCESS once, and the bucket is empty with every entry removed once
    expect(answers).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
    expect(await listAll(bucket)).toEqual([]);
    expect(after.keysDeleted - before.keysDeleted).toBe(4_200);
    // A teardown this small makes only a dozen requests, so a 500 may not come up in every run; per-key errors
    // (5% of 4,200 keys) always do.
    expect(after.faultsInjected.keyInternalErrors - before.faultsInjected.keyInternalErrors).toBeGreaterThan(0);
  });
});

describe('a fault that outlasts the retries stops the run truthfully', () => {
  test('exits 1, naming the fault, when S3 keeps failing before anything was deleted', async () => {
    // GIVEN every request fails with 500 InternalError
    const bucket = 'storm-down';
    server.seed({ bucket, keys: 10 });
    // WHEN it is purged
    const { out } = await inStorm(300, async () => {
      server.configure({ internalErrorRate: 1 });
      return cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', server.endpoint);
    });
    // THEN exit 1 (not 2: nothing is wrong with the command), naming the fault and what was done
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/gave up on a transient fault after retrying it: InternalError: We encountered an internal error/);
    expect(out.stderr).toMatch(/Nothing was deleted\. Run the same command again to continue\./);
    expect(await listAll(bucket)).toHaveLength(10);
  });

  test('exits 1 with what was done and a resume token when keys keep failing, and the token finishes the job exactly', async () => {
    // GIVEN 4,000 versions, and half of the keys inside each DeleteObjects failing: after 8 rounds a few are still left
    const bucket = 'storm-stuck';
    server.seed({ bucket, keys: 2_000, versionsPerKey: 2, prefixes: 4 });
    const before = server.stats();

    // WHEN it is purged
    const { out } = await inStorm(400, async () => {
      server.configure({ internalErrorRate: 0, connectionResetRate: 0, keyErrorRate: 0.5 });
      return cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', server.endpoint, '--json');
    });

    // THEN it exits 1, names the fault on stderr, and reports what it deleted and a resume token, with nothing failed
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/gave up on a transient fault after retrying it: DeleteObjects \(per key\): InternalError/);
    expect(out.stderr).toMatch(/continue with its resume token/);
    const first = JSON.parse(out.stdout);
    expect(first).toMatchObject({ failed: 0, errors: [], fault: { operation: 'DeleteObjects (per key)', code: 'InternalError' } });
    expect(first.deleted).toBeGreaterThan(0);
    expect(first.deleted).toBeLessThan(4_000);
    expect(first.resumeToken).not.toBeNull();

    // WHEN the run is resumed with its token, S3 having recovered
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'vp-storm-')), 'token.json');
    writeFileSync(tokenFile, JSON.stringify(first.resumeToken));
    const resumed = await cliAsync({}, 'purge', '--bucket', bucket, '--endpoint', server.endpoint, '--json', '--resume-token', `@${tokenFile}`);

    // THEN it finishes: exit 0, the counts add up to every version exactly once, the bucket is empty
    expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(resumed.stdout)).toMatchObject({ deleted: 4_000, failed: 0, resumeToken: null, fault: null });
    expect(server.stats().keysDeleted - before.keysDeleted).toBe(4_000);
    expect(await listAll(bucket)).toEqual([]);
  });
});

function teardownEvent(bucket: string, run: number): CfnDeleteEvent {
  return {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/storm/${run}`,
    RequestId: `storm-${run}`,
    LogicalResourceId: 'Purger',
    ResourceType: 'Custom::VersionPurger',
    ResourceProperties: { BucketName: bucket, OwnerId: OWNER, ServiceTimeout: '600' },
    PhysicalResourceId: `version-purger:${bucket}:${OWNER}`,
  };
}

function lambdaContext() {
  return {
    functionName: 'f',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    awsRequestId: 'storm',
    getRemainingTimeInMillis: () => 120_000,
  };
}

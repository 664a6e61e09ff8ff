/**
 * The retention steps of the workflow (lambda/retention/steps/): the rounds
 * that keep maxDeletionsPerRun across ranges, the slice, and the finish,
 * with a stub engine and a mocked CloudFormation for the configured run.
 * The same steps against moto, in workflow order: test/retention/workflow-steps.integ.test.ts.
 */
import { CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import type { PurgeOptions, PurgeResult, ResumeToken } from '../../lambda/engine/purge-types';
import { finishRetention } from '../../lambda/retention/steps/finish-step';
import { EMPTY_TALLY, nextRound, NO_RETENTION_TOTALS, quotasFor } from '../../lambda/retention/steps/rounds';
import { sliceRetention } from '../../lambda/retention/steps/slice-step';
import type { RetentionRangeResult, RetentionRunState, RetentionSliceState } from '../../lambda/workflow/contract';
import { STACK_ID } from '../support/cloudformation-mock';
import { purgeResult } from '../support/purge-results';

const cfn = mockClient(CloudFormationClient);
const T0 = 1_700_000_000_000;
const RUN = { kind: 'retention' as const, v: 2 as const, purger: 'Purger' };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function configure(run: Record<string, unknown>): void {
  cfn.on(DescribeStackResourceCommand, { StackName: STACK_ID, LogicalResourceId: 'Purger' }).resolves({
    StackResourceDetail: {
      LogicalResourceId: 'Purger',
      ResourceType: 'Custom::VersionPurger',
      ResourceStatus: 'UPDATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
      Metadata: JSON.stringify({ 'cdk-version-purger:retention': { kind: 'retention', v: 1, bucketName: 'b', policy: { keepNoncurrentVersions: 0 }, dryRun: false, ...run } }),
    },
  });
}

beforeEach(() => {
  cfn.reset();
  configure({ maxDeletionsPerRun: 100 });
});

describe('quotas', () => {
  test('share the remaining cap among the unfinished ranges, at least 1 each, never more than remaining', () => {
    expect(quotasFor(10, 3)).toEqual([4, 3, 3]);
    expect(quotasFor(2, 5)).toEqual([1, 1]);
    expect(quotasFor(0, 5)).toEqual([]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 10_000 }), (remaining, unfinished) => {
        const q = quotasFor(remaining, unfinished);
        const sum = q.reduce((a, b) => a + b, 0);
        expect(sum).toBeLessThanOrEqual(remaining);
        expect(q.every((x) => x >= 1)).toBe(true);
        expect(q.length).toBe(Math.min(remaining, unfinished));
        // Every range that gets a quota exhausting it: the round uses the whole remaining cap.
        if (unfinished > 0) expect(sum).toBe(remaining);
      }),
    );
  });
});

describe('rounds', () => {
  const state = (over: Partial<RetentionRunState> = {}): RetentionRunState => ({
    next: 'ranges',
    runId: 'run-1',
    bucket: 'b',
    dryRun: false,
    asOf: T0,
    startedAt: T0,
    remaining: 10,
    capReached: false,
    round: 1,
    ranges: [0, 1, 2].map((index) => ({ index, range: { prefix: '' }, token: null, done: false })),
    items: [],
    totals: NO_RETENTION_TOTALS,
    tally: EMPTY_TALLY,
    report: null,
    ...over,
  });
  const resultOf = (index: number, selected: number, done: boolean, token: ResumeToken | null = null): RetentionRangeResult => ({
    index,
    token,
    done,
    listed: selected,
    selected,
    deleted: selected,
    deleteMarkersDeleted: 0,
    bytesDeleted: 0,
    failed: 0,
    uploadsSelected: 0,
    uploadsAborted: 0,
    uploadsFailed: 0,
    errors: [],
    uploadErrors: [],
    tally: EMPTY_TALLY,
    reportFiles: [],
    reportEntries: 0,
  });

  test('subtract what the round selected and give the unfinished ranges the rest', () => {
    const token = { v: 2 } as unknown as ResumeToken;
    const next = nextRound({ ...state(), results: [resultOf(0, 4, false, token), resultOf(1, 2, true), resultOf(2, 3, false, token)] });
    expect(next).toMatchObject({ next: 'ranges', remaining: 1, round: 2, totals: { selected: 9, deleted: 9 } });
    expect(next.items).toEqual([expect.objectContaining({ index: 0, quota: 1, token })]);
    expect(next.ranges.map((r) => r.done)).toEqual([false, true, false]);
  });

  test('end the run at the cap, reporting it when ranges were left', () => {
    const next = nextRound({ ...state(), results: [resultOf(0, 4, false), resultOf(1, 3, false), resultOf(2, 3, false)] });
    expect(next).toMatchObject({ next: 'finish', remaining: 0, capReached: true, items: [] });
  });

  test('end the run when every range is done, not at the cap', () => {
    const next = nextRound({ ...state(), results: [resultOf(0, 1, true), resultOf(1, 0, true), resultOf(2, 2, true)] });
    expect(next).toMatchObject({ next: 'finish', remaining: 7, capReached: false });
  });

  test('end the run as failed when a range failed', () => {
    const failed = { ...resultOf(1, 0, false), error: { Error: 'Sandbox.Timedout', Cause: 'timed out' } };
    const next = nextRound({ ...state(), results: [resultOf(0, 1, false), failed, resultOf(2, 1, false)] });
    expect(next).toMatchObject({ next: 'finish', failure: 'key range 1 stopped: Sandbox.Timedout: timed out' });
  });

  test('never select more than the cap in total, whatever the ranges select up to their quota', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 8, maxLength: 8 }), (cap, ranges, available) => {
        let s: RetentionRunState = state({ remaining: cap, round: 0, ranges: Array.from({ length: ranges }, (_, index) => ({ index, range: { prefix: '' }, token: null, done: false })) });
        s = nextRound(s);
        const left = [...available];
        let selected = 0;
        while (s.next === 'ranges') {
          const results = s.items.map((item) => {
            const take = Math.min(item.quota ?? Infinity, left[item.index]);
            left[item.index] -= take;
            selected += take;
            return resultOf(item.index, take, left[item.index] === 0);
          });
          s = nextRound({ ...s, results });
        }
        const selectable = available.slice(0, ranges).reduce((a, b) => a + b, 0);
        expect(selected).toBe(Math.min(cap, selectable));
        expect(s.totals.selected).toBe(selected);
      }),
    );
  });
});

describe('Slice', () => {
  const slice: RetentionSliceState = { index: 1, round: 1, runId: 'run-1', asOf: T0, range: { prefix: '', after: 'b/' }, token: null, quota: 5, reportRoom: 0, slices: 0 };
  const deps = (engine: (o: PurgeOptions) => Promise<PurgeResult>) => ({
    s3: new S3Client({ region: 'us-east-1' }),
    cloudFormation: new CloudFormationClient({ region: 'us-east-1' }),
    stackId: STACK_ID,
    now: () => T0,
    logger: quiet,
    purge: jest.fn(engine),
  });

  test('runs the configured policy on its range, capped at its quota, resumable at the cap', async () => {
    const d = deps(async () => purgeResult({ bucket: 'b', mode: 'retain', selected: 5, deleted: 5, capReached: true, resumeToken: { v: 2, counts: { listed: 9, selected: 5, deleted: 5, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 } } as unknown as ResumeToken }));
    const next = await sliceRetention({ run: RUN, slice }, d, T0 + 60_000);
    expect(d.purge).toHaveBeenCalledWith(expect.objectContaining({ bucket: 'b', mode: 'retain', range: slice.range, maxDeletions: 5, resumableAtCap: true, trustSelectorState: false, dryRun: false }));
    expect(next).toMatchObject({ done: true, result: { index: 1, selected: 5, deleted: 5, done: false } });
  });

  test('a forged quota above the configured cap is cut to the cap', async () => {
    configure({ maxDeletionsPerRun: 3 });
    const d = deps(async () => purgeResult({ bucket: 'b', mode: 'retain' }));
    await sliceRetention({ run: RUN, slice: { ...slice, quota: 1_000_000 } }, d, T0 + 60_000);
    expect(d.purge).toHaveBeenCalledWith(expect.objectContaining({ maxDeletions: 3 }));
  });

  test('a state cannot widen the run: a real run at a future asOf is refused before anything runs', async () => {
    const d = deps(async () => purgeResult({ bucket: 'b', mode: 'retain' }));
    await expect(sliceRetention({ run: { ...RUN, dryRun: false, asOf: '2999-01-01T00:00:00Z' }, slice: { ...slice, asOf: Date.parse('2999-01-01T00:00:00Z') } }, d, T0 + 60_000)).rejects.toThrow(/in the future/);
    expect(d.purge).not.toHaveBeenCalled();
  });

  test('out of Lambda time before its quota, loops with what is left of it', async () => {
    const token = { v: 2, counts: { listed: 3, selected: 2, deleted: 2, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 } } as unknown as ResumeToken;
    const d = deps(async () => purgeResult({ bucket: 'b', mode: 'retain', selected: 2, deleted: 2, resumeToken: token }));
    const next = await sliceRetention({ run: RUN, slice }, d, T0 + 60_000);
    expect(next).toMatchObject({ done: false, token, quota: 3, slices: 1, result: { selected: 2 } });
  });

  test('an engine error ends the range as failed', async () => {
    const d = deps(async () => {
      throw new Error('socket hang up');
    });
    expect(await sliceRetention({ run: RUN, slice }, d, T0 + 60_000)).toMatchObject({ done: true, result: { failure: expect.stringMatching(/socket hang up/) } });
  });
});

describe('Finish', () => {
  const finished = (over: Partial<RetentionRunState> = {}): RetentionRunState => ({
    next: 'finish',
    runId: 'run-1',
    bucket: 'b',
    dryRun: false,
    asOf: T0,
    startedAt: T0,
    remaining: 0,
    capReached: true,
    round: 2,
    ranges: [],
    items: [],
    totals: { ...NO_RETENTION_TOTALS, selected: 100, deleted: 100 },
    tally: EMPTY_TALLY,
    report: null,
    ...over,
  });
  const deps = () => {
    const published: unknown[] = [];
    return { published, deps: { s3: new S3Client({ region: 'us-east-1' }), cloudFormation: new CloudFormationClient({ region: 'us-east-1' }), stackId: STACK_ID, now: () => T0 + 5_000, logger: quiet, publishMetrics: (m: unknown) => published.push(m) } };
  };

  test('emits the metrics once; reaching the cap is not a failure', async () => {
    const { deps: d, published } = deps();
    await expect(finishRetention(RUN, finished(), d)).resolves.toMatchObject({ bucket: 'b', capReached: true, deleted: 100 });
    expect(published).toEqual([expect.objectContaining({ bucket: 'b', versionsDeleted: 100, capReached: true, runFailed: false, runDurationMs: 5_000 })]);
  });

  test('a run with failed entries emits RunFailed and throws, so that the execution fails', async () => {
    const { deps: d, published } = deps();
    const errors = [{ key: 'k', versionId: 'v', code: 'AccessDenied', message: 'denied' }];
    await expect(finishRetention(RUN, finished({ totals: { ...NO_RETENTION_TOTALS, failed: 1, errors } }), d)).rejects.toThrow(/1 entry could not be deleted.*"k"/);
    expect(published).toEqual([expect.objectContaining({ runFailed: true, deleteErrors: 1 })]);
  });

  test('a caught error without a run state (Plan failed) still fails the run, with the configured bucket’s metrics', async () => {
    const { deps: d, published } = deps();
    await expect(finishRetention(RUN, { ...RUN, error: { Error: 'RetentionEventError', Cause: 'bad' } } as never, d)).rejects.toThrow(/step failed: RetentionEventError: bad/);
    expect(published).toEqual([expect.objectContaining({ bucket: 'b', runFailed: true })]);
  });
});

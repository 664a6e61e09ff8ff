import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { RetentionEventError, RetentionRunError } from '../../lambda/engine/errors';
import type { PurgeOptions, PurgeResult, ResumeToken } from '../../lambda/engine/purge-types';
import type { RetentionContinuation, RetentionEvent } from '../../lambda/retention/contract';
import type { RetentionRunMetrics } from '../../lambda/retention/metrics';
import { MAX_REPORT_ENTRIES, MAX_TALLIED_PREFIXES, OTHER_PREFIXES, RetentionTally } from '../../lambda/retention/report';
import { MAX_RETENTION_INVOCATIONS, parseRetentionRequest, type RetentionDeps, runRetention } from '../../lambda/retention/run';
import type { SelfInvocation } from '../../lambda/runtime/self-invoke';
import type { VersionEntry } from '../../lambda/engine/types';
import { purgeResult } from '../support/purge-results';

const s3 = mockClient(S3Client);
const HOUR = 3_600_000;
const T0 = Date.parse('2025-03-01T00:00:00.000Z');
/** Runs are remembered per execution environment (module): every test run gets its own id. */
let runs = 0;

beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});

describe('parseRetentionRequest', () => {
  test.each<[string, unknown, RegExp]>([
    ['not an object', 'retention', /expected an object with kind "retention"/],
    ['another version', { ...event(), v: 2 }, /unsupported version 2/],
    ['a missing bucket name', { ...event(), bucketName: '' }, /bucketName must be a non-empty string/],
    ['a policy without rules', { ...event(), policy: {} }, /Invalid retention policy: no rule given/],
    ['a misspelt policy rule', { ...event(), policy: { keepNoncurrent: 3 } }, /unknown property keepNoncurrent/],
    ['a misspelt setting', { ...event(), maxDeletions: 3 }, /unknown property maxDeletions/],
    ['a zero cap', { ...event(), maxDeletionsPerRun: 0 }, /maxDeletionsPerRun must be a whole number >= 1/],
    ['a dryRun string', { ...event(), dryRun: 'true' }, /dryRun must be a boolean/],
    ['a report without bucket', { ...event(), report: { prefix: 'r/' } }, /report must be an object/],
    ['an invalid asOf', { ...event(), asOf: 'yesterday' }, /asOf must be an ISO-8601 instant/],
    ['a malformed continuation', { kind: 'retention-continuation', v: 1, run: event(), state: { invocation: 1 } }, /malformed continuation state/],
  ])('refuses %s', (_name, value, message) => {
    expect(() => parseRetentionRequest(value)).toThrow(RetentionEventError);
    expect(() => parseRetentionRequest(value)).toThrow(message);
  });

  test('accepts the event the construct sends', () => {
    expect(parseRetentionRequest(event())).toEqual({ run: event(), state: null });
  });
});

describe('runRetention', () => {
  test('runs the engine in retain mode with the policy, prefixes, cap, deadline and a signal', async () => {
    // GIVEN
    const { deps, calls } = givenDeps([finished({})]);

    // WHEN
    await runRetention(event({ maxDeletionsPerRun: 7, policy: { keepNoncurrentVersions: 1, prefixes: ['a/'] } }), 'req-1', deps, {
      invocationDeadline: T0 + 60_000,
    });

    // THEN
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      bucket: 'data',
      mode: 'retain',
      prefixes: ['a/'],
      maxDeletions: 7,
      dryRun: false,
      deadline: T0 + 60_000,
      resumeToken: null,
    });
    expect(calls[0].signal).toBeInstanceOf(AbortSignal);
    expect(typeof calls[0].selector).toBe('function');
  });

  test('evaluates the policy as of the run\'s start, and continuations use that same instant', async () => {
    // GIVEN an engine that feeds one noncurrent version, noncurrent since T0, to the selector
    const chosen: string[][] = [];
    const engine = async (o: PurgeOptions): Promise<PurgeResult> => {
      const selector = o.selector!();
      const picked = [
        ...selector.next(entry('k', 'v2', T0, { isLatest: true })),
        ...selector.next(entry('k', 'v1', T0 - HOUR)),
        ...selector.end(),
      ];
      chosen.push(picked.map((e) => e.versionId));
      return result({});
    };
    const { deps } = givenDeps([], { engine, now: () => T0 + 5 * HOUR });
    const run = event({ policy: { noncurrentVersionsOlderThanMs: 2 * HOUR } });

    // WHEN a continuation of a run that started at T0 + 1h runs at T0 + 5h
    await runRetention(continuation(run, { startedAt: T0 + HOUR, asOf: T0 + HOUR, invocation: 2 }), 'req-2', deps, deadline());
    // AND a new run starts at T0 + 5h
    await runRetention(run, 'req-3', deps, deadline());

    // THEN the continuation judged as of T0 + 1h (noncurrent for 1h: kept), the new run as of T0 + 5h (deleted)
    expect(chosen).toEqual([[], ['v1']]);
  });

  test('an explicit asOf in the event is used instead of the start time', async () => {
    // GIVEN
    const { deps, invocations } = givenDeps([withToken({})]);

    // WHEN
    await runRetention(event({ asOf: '2030-01-01T00:00:00Z' }), 'req-asof', deps, deadline());

    // THEN
    expect(invocations[0]).toMatchObject({ state: { asOf: Date.parse('2030-01-01T00:00:00Z'), startedAt: T0 } });
  });

  test('out of time, it continues in a new invocation with the token, the same asOf and the tallies; no metrics yet', async () => {
    // GIVEN an engine that selects two entries and stops with a token
    const token = resumeToken({ selected: 2, deleted: 2 });
    const { deps, invocations, metrics } = givenDeps([
      withToken({ selected: 2, deleted: 2, resumeToken: token }, [entry('logs/a', 'v1', T0, { size: 10 }), entry('b', 'v1', T0, { isDeleteMarker: true })]),
    ]);

    // WHEN
    const outcome = await runRetention(event(), 'req-first', deps, deadline());

    // THEN
    expect(outcome).toEqual({ kind: 'continued', invocation: 2 });
    expect(metrics).toEqual([]);
    expect(invocations).toEqual([
      {
        kind: 'retention-continuation',
        v: 1,
        run: event(),
        state: {
          runId: 'req-first',
          startedAt: T0,
          asOf: T0,
          invocation: 2,
          resumeToken: token,
          tally: {
            byPrefix: { 'logs/': { versions: 1, deleteMarkers: 0, bytes: 10 }, '': { versions: 0, deleteMarkers: 1, bytes: 0 } },
            total: { versions: 1, deleteMarkers: 1, bytes: 10 },
            sample: [expect.objectContaining({ key: 'logs/a' }), expect.objectContaining({ key: 'b', isDeleteMarker: true })],
          },
          report: null,
        },
      },
    ]);
  });

  test('the last invocation emits the run\'s totals once, with the duration since the first invocation', async () => {
    // GIVEN a continuation of a run that started 90 s ago
    const { deps, metrics } = givenDeps([finished({ deleted: 5, deleteMarkersDeleted: 2, bytesDeleted: 500 })]);

    // WHEN
    const outcome = await runRetention(continuation(event(), { runId: 'run-last', startedAt: T0 - 90_000, invocation: 3 }), 'req-last', deps, deadline());

    // THEN
    expect(outcome).toMatchObject({ kind: 'finished', summary: { deleted: 5, invocations: 3 } });
    expect(metrics).toEqual([
      {
        bucket: 'data',
        runId: 'run-last',
        dryRun: false,
        invocations: 3,
        versionsDeleted: 5,
        deleteMarkersDeleted: 2,
        bytesDeleted: 500,
        deleteErrors: 0,
        runDurationMs: 90_000,
        capReached: false,
        runFailed: false,
      },
    ]);
  });

  test('a run with entries it could not delete emits DeleteErrors and RunFailed, then throws naming the failures', async () => {
    // GIVEN
    const errors = [{ key: 'locked', versionId: 'v1', code: 'AccessDenied', message: 'Access Denied: COMPLIANCE retention until 2030-01-01T00:00:00.000Z' }];
    const { deps, metrics, logged } = givenDeps([finished({ deleted: 3, failed: 1, errors })]);

    // WHEN
    const run = runRetention(event(), 'req-fail', deps, deadline());

    // THEN
    await expect(run).rejects.toThrow(RetentionRunError);
    await expect(runRetention(event(), 'req-fail-2', givenDeps([finished({ deleted: 3, failed: 1, errors })]).deps, deadline())).rejects.toThrow(
      /Retention run req-fail-2 of bucket data failed: 1 entry could not be deleted \(3 versions and 0 delete markers deleted\)\. First failures: "locked" \(version v1\): AccessDenied - Access Denied: COMPLIANCE retention/,
    );
    expect(metrics).toEqual([expect.objectContaining({ deleteErrors: 1, versionsDeleted: 3, runFailed: true, capReached: false })]);
    expect(logged.error).toEqual([expect.objectContaining({ message: 'Retention run failed', errors })]);
  });

  test('an engine error fails the run with the counts of earlier invocations', async () => {
    // GIVEN a continuation whose token counted 4 deletions, and an engine that throws
    const engine = async (): Promise<PurgeResult> => {
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    };
    const { deps, metrics } = givenDeps([], { engine });
    const state = { resumeToken: resumeToken({ deleted: 4, selected: 4 }), invocation: 2 };

    // WHEN / THEN
    await expect(runRetention(continuation(event(), state), 'req-u1', deps, deadline())).rejects.toThrow(
      /failed: the engine stopped with an error: AccessDenied: Access Denied/,
    );
    expect(metrics).toEqual([expect.objectContaining({ versionsDeleted: 4, runFailed: true, invocations: 2 })]);
  });

  test('a missing bucket fails the run', async () => {
    const { deps, metrics } = givenDeps([finished({ bucketMissing: true })]);
    await expect(runRetention(event(), 'req-u2', deps, deadline())).rejects.toThrow(/failed: the bucket does not exist/);
    expect(metrics).toEqual([expect.objectContaining({ runFailed: true, deleteErrors: 0 })]);
  });

  test('a continuation Lambda refuses fails the run with the progress so far', async () => {
    const { deps, metrics } = givenDeps([withToken({ deleted: 9 })], { invokeError: new Error('TooManyRequestsException: Rate exceeded') });
    await expect(runRetention(event(), 'req-u3', deps, deadline())).rejects.toThrow(
      /could not continue in a new invocation: Error: TooManyRequestsException: Rate exceeded/,
    );
    expect(metrics).toEqual([expect.objectContaining({ versionsDeleted: 9, runFailed: true })]);
  });

  test('reaching maxDeletionsPerRun is reported, not thrown', async () => {
    // GIVEN
    const { deps, metrics, logged } = givenDeps([finished({ deleted: 10, selected: 10, capReached: true })]);

    // WHEN
    const outcome = await runRetention(event({ maxDeletionsPerRun: 10 }), 'req-u4', deps, deadline());

    // THEN
    expect(outcome).toMatchObject({ kind: 'finished', summary: { capReached: true } });
    expect(metrics).toEqual([expect.objectContaining({ capReached: true, runFailed: false })]);
    expect(logged.warn.map((l) => l.message)).toEqual([expect.stringMatching(/stopped at maxDeletionsPerRun \(10\)/)]);
  });

  test('a second delivery of a continuation handled here is dropped', async () => {
    // GIVEN
    const { deps, calls } = givenDeps([finished({}), finished({})]);
    const payload = continuation(event(), { runId: 'run-dup', invocation: 2 });

    // WHEN
    const first = await runRetention(payload, 'a', deps, deadline());
    const second = await runRetention(payload, 'b', deps, deadline());

    // THEN
    expect([first.kind, second.kind]).toEqual(['finished', 'duplicate']);
    expect(calls).toHaveLength(1);
  });

  test(`a run stops, failed, after ${MAX_RETENTION_INVOCATIONS} invocations`, async () => {
    const { deps, calls } = givenDeps([]);
    const payload = continuation(event(), { invocation: MAX_RETENTION_INVOCATIONS + 1 });
    await expect(runRetention(payload, 'a', deps, deadline())).rejects.toThrow(/did not finish within 100 invocations/);
    expect(calls).toEqual([]);
  });

  test('a dry run writes one entry file per invocation and a summary, bounded by the report room', async () => {
    // GIVEN a dry run over two invocations, selecting 2 then 1 entries
    const target = { bucketName: 'reports', prefix: 'previews/' };
    const run = event({ dryRun: true, report: target });
    const first = givenDeps([withToken({ selected: 2 }, [entry('logs/a', 'v1', T0, { size: 3 }), entry('logs/b', 'v1', T0, { size: 4 })])]);

    // WHEN
    await runRetention(run, 'run-dry', first.deps, deadline());
    const next = first.invocations[0] as RetentionContinuation;
    const second = givenDeps([finished({ selected: 3, listed: 10 }, [entry('x', 'v9', T0, { isDeleteMarker: true })])]);
    const outcome = await runRetention(next, 'other-request', second.deps, deadline());

    // THEN
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    const stem = 'previews/data/2025-03-01T00-00-00.000Z-run-dry';
    expect(puts.map((p) => [p.Bucket, p.Key])).toEqual([
      ['reports', `${stem}.entries-0001.ndjson`],
      ['reports', `${stem}.entries-0002.ndjson`],
      ['reports', `${stem}.json`],
    ]);
    expect(String(puts[0].Body).trim().split('\n').map((l) => JSON.parse(l).key)).toEqual(['logs/a', 'logs/b']);
    expect(JSON.parse(String(puts[2].Body))).toEqual({
      bucket: 'data',
      runId: 'run-dry',
      asOf: '2025-03-01T00:00:00.000Z',
      startedAt: '2025-03-01T00:00:00.000Z',
      finishedAt: '2025-03-01T00:00:00.000Z',
      dryRun: true,
      policy: run.policy,
      maxDeletionsPerRun: 1_000_000,
      invocations: 2,
      complete: true,
      capReached: false,
      listed: 10,
      selected: 3,
      wouldDelete: { versions: 2, deleteMarkers: 1, bytes: 7 },
      wouldAbortUploads: 0,
      byPrefix: { 'logs/': { versions: 2, deleteMarkers: 0, bytes: 7 }, '': { versions: 0, deleteMarkers: 1, bytes: 0 } },
      entries: { count: 3, truncated: false, files: [`${stem}.entries-0001.ndjson`, `${stem}.entries-0002.ndjson`] },
    });
    expect(outcome).toMatchObject({ kind: 'finished', summary: { reportKey: `s3://reports/${stem}.json`, dryRun: true } });
  });

  test('a dry run report lists at most 10,000 entries per run and says when it left some out', async () => {
    // GIVEN a last invocation with room for one more entry, selecting two
    const target = { bucketName: 'reports', prefix: '' };
    const run = event({ dryRun: true, report: target });
    const state = { runId: 'run-full', report: { entriesWritten: MAX_REPORT_ENTRIES - 1, files: ['earlier.ndjson'] } };
    const { deps } = givenDeps([finished({ selected: MAX_REPORT_ENTRIES + 1 }, [entry('a', 'v1', T0), entry('b', 'v1', T0)])]);

    // WHEN
    await runRetention(continuation(run, state), 'req-full', deps, deadline());

    // THEN
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(String(puts[0].Body).trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(String(puts[1].Body)).entries).toEqual({
      count: MAX_REPORT_ENTRIES,
      truncated: true,
      files: ['earlier.ndjson', 'data/2025-03-01T00-00-00.000Z-run-full.entries-0002.ndjson'],
    });
  });

  test('a dry run whose report cannot be written fails', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const { deps, metrics } = givenDeps([finished({ selected: 1 }, [entry('a', 'v1', T0)])]);
    const run = event({ dryRun: true, report: { bucketName: 'reports', prefix: '' } });
    await expect(runRetention(run, 'r', deps, deadline())).rejects.toThrow(/the dry-run report could not be written to s3:\/\/reports\/data\//);
    expect(metrics).toEqual([expect.objectContaining({ runFailed: true, dryRun: true })]);
  });
});

describe('RetentionTally', () => {
  test(`counts at most ${MAX_TALLIED_PREFIXES} prefixes one by one, the rest together, totals exact`, () => {
    // GIVEN
    const tally = new RetentionTally();

    // WHEN
    for (let i = 0; i < MAX_TALLIED_PREFIXES + 5; i++) tally.add(entry(`p${i}/k`, 'v', T0, { size: 2 }));

    // THEN
    const snapshot = tally.snapshot();
    expect(Object.keys(snapshot.byPrefix)).toHaveLength(MAX_TALLIED_PREFIXES + 1);
    expect(snapshot.byPrefix[OTHER_PREFIXES]).toEqual({ versions: 5, deleteMarkers: 0, bytes: 10 });
    expect(snapshot.total).toEqual({ versions: MAX_TALLIED_PREFIXES + 5, deleteMarkers: 0, bytes: 2 * (MAX_TALLIED_PREFIXES + 5) });
    expect(snapshot.sample).toHaveLength(20);
    expect(new RetentionTally(JSON.parse(JSON.stringify(snapshot))).snapshot()).toEqual(snapshot);
  });
});

/** The event the construct sends, with overrides. */
function event(overrides: Partial<RetentionEvent> = {}): RetentionEvent {
  return {
    kind: 'retention',
    v: 1,
    bucketName: 'data',
    policy: { keepNoncurrentVersions: 2, expiredDeleteMarkers: false },
    maxDeletionsPerRun: 1_000_000,
    dryRun: false,
    ...overrides,
  };
}

function continuation(run: RetentionEvent, state: Partial<RetentionContinuation['state']>): RetentionContinuation {
  return {
    kind: 'retention-continuation',
    v: 1,
    run,
    state: {
      runId: `run-${++runs}`,
      startedAt: T0,
      asOf: T0,
      invocation: 2,
      resumeToken: resumeToken({}),
      tally: new RetentionTally().snapshot(),
      report: null,
      ...state,
    },
  };
}

function deadline() {
  return { invocationDeadline: T0 + 60_000 };
}

function entry(key: string, versionId: string, lastModified: number, o: Partial<VersionEntry> = {}): VersionEntry {
  return { key, versionId, isDeleteMarker: false, isLatest: false, lastModified: new Date(lastModified), size: 0, ...o };
}

function resumeToken(counts: Partial<ResumeToken['counts']>): ResumeToken {
  return {
    v: 2,
    bucket: 'data',
    mode: 'retain',
    dryRun: false,
    prefixes: '',
    policy: { noncurrentVersionsOlderThanMs: null, keepNoncurrentVersions: 0, expiredDeleteMarkers: false, exclude: '' },
    pass: 1,
    elapsedMs: 0,
    counts: { listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0, ...counts },
    errors: [],
    streams: [{ s: 0 }],
    passStart: { listed: 0, deleted: 0 },
  };
}

function result(partial: Partial<PurgeResult>): PurgeResult {
  return purgeResult({ bucket: 'data', mode: 'retain', ...partial });
}

/** An engine step: what it reports as selected, and its result. */
interface Step {
  readonly selected: VersionEntry[];
  readonly result: PurgeResult;
}

function finished(partial: Partial<PurgeResult>, selected: VersionEntry[] = []): Step {
  return { selected, result: result(partial) };
}

function withToken(partial: Partial<PurgeResult>, selected: VersionEntry[] = []): Step {
  return { selected, result: result({ resumeToken: resumeToken({}), ...partial }) };
}

function givenDeps(
  steps: Step[],
  o: { engine?: (options: PurgeOptions) => Promise<PurgeResult>; invokeError?: Error; now?: () => number } = {},
) {
  const calls: PurgeOptions[] = [];
  const invocations: SelfInvocation[] = [];
  const metrics: RetentionRunMetrics[] = [];
  const logged = { info: [] as Record<string, unknown>[], warn: [] as Record<string, unknown>[], error: [] as Record<string, unknown>[] };
  const log = (level: keyof typeof logged) => (message: string, attributes?: Record<string, unknown>) => {
    logged[level].push({ message, ...attributes });
  };
  const queue = [...steps];
  const deps: RetentionDeps = {
    s3: new S3Client({ region: 'us-east-1' }),
    purge:
      o.engine ??
      (async (options) => {
        calls.push(options);
        const step = queue.shift();
        if (!step) throw new Error('no engine step left');
        for (const e of step.selected) options.onSelected?.(e);
        return step.result;
      }),
    invokeSelf: async (payload) => {
      if (o.invokeError) throw o.invokeError;
      invocations.push(payload);
    },
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    publishMetrics: (m) => metrics.push(m),
    now: o.now ?? (() => T0),
  };
  return { deps, calls, invocations, metrics, logged };
}

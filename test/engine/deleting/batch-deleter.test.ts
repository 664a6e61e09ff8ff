/**
 * Error paths of the DeleteObjects batch deleter and of the per-partition rate
 * controller, against a mocked S3 client. Happy-path deletion is proven
 * against moto in purge-engine.integ.test.ts; these tests only cover answers
 * moto cannot be made to give (per-key errors in a 200, SlowDown, MalformedXML).
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  S3Client,
  S3ServiceException,
  type DeleteObjectsCommandInput,
  type _Error as S3KeyError,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { BatchDeleter, type BatchDeleterOptions } from '../../../lambda/engine/deleting/batch-deleter';
import { MAX_TRANSIENT_ATTEMPTS } from '../../../lambda/engine/constants';
import { RateController } from '../../../lambda/engine/deleting/rate-controller';
import type { DeleteFailure, TransientFault, VersionEntry } from '../../../lambda/engine/types';

const s3 = mockClient(S3Client);

function newClient(): S3Client {
  return new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
}

/** An error as the SDK surfaces it: `name` is the S3 error code. */
function s3Error(name: string, httpStatusCode: number, message = `${name} (test)`): S3ServiceException {
  return new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message });
}

let versionSeq = 0;
function entry(key: string, versionId = `v${++versionSeq}`): VersionEntry {
  return { key, versionId, isDeleteMarker: false, isLatest: true, lastModified: new Date(0), size: 1 };
}

/** A rate high enough that pacing never waits noticeably in these tests. */
function fastRate(): RateController {
  return new RateController({ initialRate: 1_000_000 });
}

interface Harness {
  readonly deleter: BatchDeleter;
  readonly deleted: VersionEntry[];
  readonly failed: DeleteFailure[];
  readonly faults: TransientFault[];
  throttled: number;
  /** Submits the batches one after the other, as the engine does, then drains. */
  run(batches: VersionEntry[][], rate?: RateController): Promise<void>;
}

function harness(client: S3Client, overrides: Partial<BatchDeleterOptions> = {}): Harness {
  const h: Harness = {
    deleted: [],
    failed: [],
    faults: [],
    throttled: 0,
    deleter: new BatchDeleter({
      client,
      bucket: 'bkt',
      concurrency: 4,
      bypassGovernanceRetention: false,
      hardStopAt: Number.POSITIVE_INFINITY,
      onDeleted: (e) => h.deleted.push(e),
      onFailed: (f) => h.failed.push(f),
      onThrottled: () => h.throttled++,
      onFault: (f) => h.faults.push(f),
      ...overrides,
    }),
    async run(batches, rate = fastRate()) {
      for (const b of batches) await h.deleter.submit(b, rate);
      await h.deleter.drain();
    },
  };
  return h;
}

const deleteObjectsInputs = (): DeleteObjectsCommandInput[] => s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
const sentIds = (input: DeleteObjectsCommandInput): string[] => (input.Delete?.Objects ?? []).map((o) => `${o.Key}@${o.VersionId}`);
const ids = (entries: readonly VersionEntry[]): string[] => entries.map((e) => `${e.key}@${e.versionId}`);

/** A DeleteObjects fake answering 200 with the per-key errors `errorsFor` returns for each call (1-based). */
function answerWithKeyErrors(errorsFor: (objects: Array<{ Key?: string; VersionId?: string }>, call: number) => S3KeyError[]): void {
  let call = 0;
  s3.on(DeleteObjectsCommand).callsFake(async (input: DeleteObjectsCommandInput) => {
    call++;
    return { Errors: errorsFor(input.Delete?.Objects ?? [], call), $metadata: { httpStatusCode: 200 } };
  });
}

let client: S3Client;

beforeEach(() => {
  s3.reset();
  client = newClient();
  // Full-jitter backoff becomes 0 ms: retries are immediate, no real waiting.
  jest.spyOn(Math, 'random').mockReturnValue(0);
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

afterAll(() => s3.restore());

describe('BatchDeleter: per-key errors inside a 200 answer', () => {
  it('reports AccessDenied keys with key, versionId, code and message, counts the others deleted, and does not send the failing keys again', async () => {
    // GIVEN a batch of four versions, one of them protected by Object Lock
    const batch = [entry('a'), entry('locked'), entry('b'), entry('c')];
    const locked = batch[1];
    answerWithKeyErrors((objects) =>
      objects
        .filter((o) => o.Key === 'locked')
        .map((o) => ({ Key: o.Key, VersionId: o.VersionId, Code: 'AccessDenied', Message: 'Access Denied because object protected by object lock' })),
    );
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN the locked version is reported once with everything S3 said about it
    expect(h.failed).toEqual([
      { key: 'locked', versionId: locked.versionId, code: 'AccessDenied', message: 'Access Denied because object protected by object lock' },
    ]);
    // AND the other three are counted deleted
    expect(ids(h.deleted).sort()).toEqual(ids([batch[0], batch[2], batch[3]]).sort());
    // AND a final error is not retried (aws-cdk's handler loops forever here)
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
  });

  it('retries a key that fails with a transient code and counts it deleted once when a retry succeeds', async () => {
    // GIVEN a key that fails with InternalError on the first attempt only
    const batch = [entry('a'), entry('flaky'), entry('b')];
    answerWithKeyErrors((objects, call) =>
      call === 1 ? objects.filter((o) => o.Key === 'flaky').map((o) => ({ Key: o.Key, VersionId: o.VersionId, Code: 'InternalError', Message: 'We encountered an internal error.' })) : [],
    );
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN the second request carries only the failed key
    const inputs = deleteObjectsInputs();
    expect(inputs).toHaveLength(2);
    expect(sentIds(inputs[1])).toEqual(ids([batch[1]]));
    // AND every key is counted deleted exactly once, nothing failed
    expect(ids(h.deleted).sort()).toEqual(ids(batch).sort());
    expect(h.failed).toEqual([]);
  });

  it.each(['InternalError', 'SlowDown', 'ServiceUnavailable'])(
    'sends a key that keeps failing with %s at most MAX_TRANSIENT_ATTEMPTS times, then leaves it pending and reports the fault',
    async (code) => {
      // GIVEN a key that fails with a transient code on every attempt, next to keys that succeed
      const batch = [entry('ok-1'), entry('stuck'), entry('ok-2')];
      answerWithKeyErrors((objects) =>
        objects.filter((o) => o.Key === 'stuck').map((o) => ({ Key: o.Key, VersionId: o.VersionId, Code: code, Message: `${code} message` })),
      );
      const rate = fastRate();
      const h = harness(client);

      // WHEN the batch is deleted
      await h.run([batch], rate);

      // THEN the request count is bounded, and every retry carries only the stuck key
      const inputs = deleteObjectsInputs();
      expect(inputs).toHaveLength(MAX_TRANSIENT_ATTEMPTS);
      expect(sentIds(inputs[0])).toEqual(ids(batch));
      for (const input of inputs.slice(1)) expect(sentIds(input)).toEqual(ids([batch[1]]));
      // AND the stuck key is left pending for a resume token, not reported as failed: S3 never said it cannot be deleted
      expect(h.failed).toEqual([]);
      expect(ids(h.deleter.pending)).toEqual(ids([batch[1]]));
      expect(h.faults).toEqual([{ operation: 'DeleteObjects (per key)', code, message: `${code} message` }]);
      // AND the others are deleted once
      expect(ids(h.deleted).sort()).toEqual(ids([batch[0], batch[2]]).sort());
      // AND a per-key SlowDown counts as throttling (and only SlowDown does)
      const expectedThrottles = code === 'SlowDown' ? MAX_TRANSIENT_ATTEMPTS : 0;
      expect(h.throttled).toBe(expectedThrottles);
      expect(rate.throttles).toBe(expectedThrottles);
    },
  );

  it('matches a moto-style error without VersionId to exactly one entry of its key', async () => {
    // GIVEN two versions of one key in the batch, and an error that names the key but no version
    const batch = [entry('k', 'v2'), entry('k', 'v1'), entry('other')];
    answerWithKeyErrors(() => [{ Key: 'k', Code: 'AccessDenied', Message: 'Access Denied' }]);
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN one version of k is reported, the other one and the other key are deleted
    expect(h.failed).toHaveLength(1);
    expect(h.failed[0]).toMatchObject({ key: 'k', code: 'AccessDenied' });
    expect(['v1', 'v2']).toContain(h.failed[0].versionId);
    expect(h.deleted).toHaveLength(2);
    expect(ids([...h.deleted, ...h.failed.map((f) => entry(f.key, f.versionId))]).sort()).toEqual(ids(batch).sort());
  });

  it('matches two moto-style errors of one key to two different entries of that key', async () => {
    // GIVEN two versions of one key, and two errors naming the key without a version
    const batch = [entry('k', 'v2'), entry('k', 'v1'), entry('other')];
    answerWithKeyErrors(() => [
      { Key: 'k', Code: 'AccessDenied', Message: 'Access Denied' },
      { Key: 'k', Code: 'AccessDenied', Message: 'Access Denied' },
    ]);
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN both versions are reported (not the same one twice) and only the other key is deleted
    expect(h.failed.map((f) => f.versionId).sort()).toEqual(['v1', 'v2']);
    expect(ids(h.deleted)).toEqual(ids([batch[2]]));
  });

  it('matches an error that names a VersionId to that version only', async () => {
    // GIVEN two versions of one key and an error naming the older one
    const batch = [entry('k', 'v2'), entry('k', 'v1')];
    answerWithKeyErrors(() => [{ Key: 'k', VersionId: 'v1', Code: 'AccessDenied', Message: 'Access Denied' }]);
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN v1 is reported and v2 deleted
    expect(h.failed.map((f) => f.versionId)).toEqual(['v1']);
    expect(ids(h.deleted)).toEqual(['k@v2']);
  });
});

describe('BatchDeleter: whole-request errors', () => {
  it('retries a 503 SlowDown until it succeeds, counts each throttle and cuts the partition rate', async () => {
    // GIVEN DeleteObjects answers 503 SlowDown twice, then succeeds
    const batch = [entry('a'), entry('b'), entry('c')];
    s3.on(DeleteObjectsCommand)
      .rejectsOnce(s3Error('SlowDown', 503, 'Please reduce your request rate.'))
      .rejectsOnce(s3Error('SlowDown', 503, 'Please reduce your request rate.'))
      .resolves({ Errors: [] });
    const initialRate = 1_000_000;
    const rate = new RateController({ initialRate });
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch], rate);

    // THEN it took three requests, each carrying the whole batch
    const inputs = deleteObjectsInputs();
    expect(inputs).toHaveLength(3);
    for (const input of inputs) expect(sentIds(input)).toEqual(ids(batch));
    // AND both throttles were counted, nothing failed, everything deleted once
    expect(h.throttled).toBe(2);
    expect(h.failed).toEqual([]);
    expect(ids(h.deleted).sort()).toEqual(ids(batch).sort());
    // AND the partition's rate went down (halved at the end of slow start, then cut to 0.85, barely recovered by one small success)
    expect(rate.throttles).toBe(2);
    expect(rate.currentRate).toBeLessThan(initialRate * 0.85);
  });

  it('treats SlowDown inside an HTTP 200 answer as throttling too', async () => {
    // GIVEN DeleteObjects answers 200 with an <Error><Code>SlowDown</Code> body once (the SDK throws it)
    const batch = [entry('a'), entry('b')];
    s3.on(DeleteObjectsCommand).rejectsOnce(s3Error('SlowDown', 200, 'Please reduce your request rate.')).resolves({ Errors: [] });
    const initialRate = 1_000_000;
    const rate = new RateController({ initialRate });
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch], rate);

    // THEN it was retried, counted as a throttle and cut the rate
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(2);
    expect(h.throttled).toBe(1);
    expect(rate.currentRate).toBeLessThan(initialRate);
    expect(h.failed).toEqual([]);
    expect(ids(h.deleted).sort()).toEqual(ids(batch).sort());
  });

  it('retries a whole-request 500 InternalError a bounded number of times, then leaves the batch pending and reports the fault', async () => {
    // GIVEN DeleteObjects always answers 500 InternalError
    const batch = [entry('a'), entry('b')];
    s3.on(DeleteObjectsCommand).rejects(s3Error('InternalError', 500, 'We encountered an internal error.'));
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN it tried MAX_TRANSIENT_ATTEMPTS times, then left both keys pending and reported the fault once
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(MAX_TRANSIENT_ATTEMPTS);
    expect(h.failed).toEqual([]);
    expect(ids(h.deleter.pending)).toEqual(ids(batch));
    expect(h.faults).toEqual([{ operation: 'DeleteObjects', code: 'InternalError', message: 'We encountered an internal error.' }]);
    expect(h.deleted).toEqual([]);
    expect(h.throttled).toBe(0);
  });

  it('reports every key of the batch after one request when the whole request is denied', async () => {
    // GIVEN DeleteObjects answers 403 AccessDenied for the whole request
    const batch = [entry('a'), entry('b')];
    s3.on(DeleteObjectsCommand).rejects(s3Error('AccessDenied', 403, 'Access Denied'));
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN one request, both keys reported, nothing counted deleted
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    expect(h.failed.map((f) => [f.key, f.code])).toEqual([
      ['a', 'AccessDenied'],
      ['b', 'AccessDenied'],
    ]);
    expect(h.deleted).toEqual([]);
  });

  it('falls back to DeleteObject for every key when the batch is answered with MalformedXML, losing none', async () => {
    // GIVEN DeleteObjects rejects the batch as MalformedXML and DeleteObject works
    const batch = [entry('a'), entry('b'), entry('c')];
    s3.on(DeleteObjectsCommand).rejects(s3Error('MalformedXML', 400, 'The XML you provided was not well-formed'));
    s3.on(DeleteObjectCommand).resolves({});
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN DeleteObjects was tried once, then each key went through DeleteObject with its version
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    const single = s3.commandCalls(DeleteObjectCommand).map((c) => `${c.args[0].input.Key}@${c.args[0].input.VersionId}`);
    expect(single.sort()).toEqual(ids(batch).sort());
    // AND every key is counted deleted once
    expect(ids(h.deleted).sort()).toEqual(ids(batch).sort());
    expect(h.failed).toEqual([]);
  });
});

describe('BatchDeleter: keys XML cannot carry', () => {
  it('deletes keys with control characters one by one with DeleteObject and sends the rest of the batch with DeleteObjects', async () => {
    // GIVEN a batch mixing ordinary keys with keys holding \u0001 and an ANSI escape
    const batch = [entry('ok-1'), entry('bad\u0001key'), entry('esc\u001b[31mred'), entry('ok-2')];
    s3.on(DeleteObjectsCommand).resolves({ Errors: [] });
    s3.on(DeleteObjectCommand).resolves({});
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN no DeleteObjects body carries a control character
    const inputs = deleteObjectsInputs();
    expect(inputs).toHaveLength(1);
    expect(sentIds(inputs[0])).toEqual(ids([batch[0], batch[3]]));
    // AND the two unsafe keys went through DeleteObject, each with its version id
    const single = s3.commandCalls(DeleteObjectCommand).map((c) => ({ Key: c.args[0].input.Key, VersionId: c.args[0].input.VersionId }));
    expect(single).toEqual([
      { Key: 'bad\u0001key', VersionId: batch[1].versionId },
      { Key: 'esc\u001b[31mred', VersionId: batch[2].versionId },
    ]);
    // AND all four are counted deleted
    expect(ids(h.deleted).sort()).toEqual(ids(batch).sort());
  });

  it('sends no DeleteObjects at all for a batch made only of control-character keys', async () => {
    // GIVEN a batch of two unsafe keys
    const batch = [entry('\u0001'), entry('x\u001f')];
    s3.on(DeleteObjectCommand).resolves({});
    const h = harness(client);

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN only DeleteObject was used
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(2);
    expect(h.deleted).toHaveLength(2);
  });
});

describe('BatchDeleter: concurrency and stopping', () => {
  it('never has more requests in flight than its concurrency', async () => {
    // GIVEN requests that each take a few milliseconds, and a counter of those in flight
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { Errors: [] };
    };
    s3.on(DeleteObjectsCommand).callsFake(slow);
    s3.on(DeleteObjectCommand).callsFake(slow);
    const h = harness(client, { concurrency: 3 });
    // twelve batches, some with a control-character key that takes the DeleteObject path
    const batches = Array.from({ length: 12 }, (_, i) => [entry(`k${i}-a`), entry(`k${i}-b`), ...(i % 3 === 0 ? [entry(`k${i}\u0002`)] : [])]);

    // WHEN all batches are submitted as fast as the deleter lets them in
    await h.run(batches);

    // THEN at most three requests ran at once, and the limit was actually reached
    expect(maxInFlight).toBe(3);
    expect(h.deleted).toHaveLength(batches.flat().length);
  });

  it('keeps every entry pending and sends nothing once the hard stop has passed', async () => {
    // GIVEN a hard stop in the past
    const batch = [entry('a'), entry('b\u0001')];
    s3.on(DeleteObjectsCommand).resolves({ Errors: [] });
    s3.on(DeleteObjectCommand).resolves({});
    const h = harness(client, { hardStopAt: Date.now() - 1 });

    // WHEN a batch is submitted
    await h.run([batch]);

    // THEN no request was made and both entries are pending, none counted
    expect(s3.calls()).toHaveLength(0);
    expect(ids(h.deleter.pending)).toEqual(ids(batch));
    expect(h.deleted).toEqual([]);
    expect(h.failed).toEqual([]);
  });

  it('keeps a throttled batch pending instead of retrying it once the signal has aborted', async () => {
    // GIVEN DeleteObjects answers SlowDown, and the run is aborted while that answer arrives
    const controller = new AbortController();
    const batch = [entry('a'), entry('b')];
    s3.on(DeleteObjectsCommand).callsFake(async () => {
      controller.abort();
      throw s3Error('SlowDown', 503);
    });
    const h = harness(client, { signal: controller.signal });

    // WHEN the batch is deleted
    await h.run([batch]);

    // THEN there was no retry after the abort, and the batch is pending, not failed
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(1);
    expect(ids(h.deleter.pending)).toEqual(ids(batch));
    expect(h.failed).toEqual([]);
    expect(h.throttled).toBe(1);
  });
});

describe('RateController', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
  });

  it('does not grow while the pacer was not the bottleneck', async () => {
    // GIVEN a controller whose first batch did not have to wait
    const rc = new RateController({ initialRate: 1000 });
    await rc.acquire(10);

    // WHEN the batch succeeds
    rc.onSuccess(1000);

    // THEN the rate is unchanged
    expect(rc.currentRate).toBe(1000);
  });

  it('grows by half after a full batch that had to wait for the pacer (slow start), once per wait', async () => {
    // GIVEN a second batch sent right after a first one, so it waits for the pacer
    const rc = new RateController({ initialRate: 1000 });
    await rc.acquire(500);
    const waiting = rc.acquire(500);
    await jest.advanceTimersByTimeAsync(500);
    await waiting;

    // WHEN it succeeds
    rc.onSuccess(1000);

    // THEN the rate grew by half
    expect(rc.currentRate).toBe(1500);

    // AND a further success without another wait does not grow it again
    rc.onSuccess(1000);
    expect(rc.currentRate).toBe(1500);
  });

  it('halves the rate on the first throttle, which ends slow start, and cuts it to 0.85 on later ones', () => {
    // GIVEN a controller at 2000 keys/s, still in slow start
    const rc = new RateController({ initialRate: 2000 });

    // WHEN a request sent now is throttled
    rc.onThrottle(Date.now());

    // THEN the rate is halved and the throttle counted
    expect(rc.currentRate).toBeCloseTo(1000, 6);
    expect(rc.throttles).toBe(1);

    // AND a later throttle (of a request sent after that cut) cuts it to 0.85
    const later = Date.now() + 10;
    jest.advanceTimersByTime(20);
    rc.onThrottle(later);
    expect(rc.currentRate).toBeCloseTo(850, 6);
    expect(rc.throttles).toBe(2);
  });

  it('does not cut again for a throttled request sent before the last cut, but does for one sent after it', () => {
    // GIVEN two requests sent at the same moment, the first of which was throttled 10 ms later
    const rc = new RateController({ initialRate: 2000 });
    const sentAt = Date.now();
    jest.advanceTimersByTime(10);
    rc.onThrottle(sentAt);
    expect(rc.currentRate).toBeCloseTo(1000, 6);

    // WHEN the second, sent before that cut, is throttled too
    jest.advanceTimersByTime(10);
    rc.onThrottle(sentAt);

    // THEN the rate is not cut again, though the throttle is counted
    expect(rc.currentRate).toBeCloseTo(1000, 6);
    expect(rc.throttles).toBe(2);

    // AND a request sent after the cut and throttled does cut again
    const later = Date.now();
    jest.advanceTimersByTime(10);
    rc.onThrottle(later);
    expect(rc.currentRate).toBeCloseTo(850, 6);
  });

  it('never cuts below its minimum rate', () => {
    // GIVEN a controller close to its floor
    const rc = new RateController({ initialRate: 60, minRate: 50 });

    // WHEN it is throttled many times, each time for a request sent after the last cut
    for (let i = 0; i < 20; i++) {
      const sentAt = Date.now();
      jest.advanceTimersByTime(5);
      rc.onThrottle(sentAt);
    }

    // THEN it stays at the floor
    expect(rc.currentRate).toBe(50);
  });

  it('after a throttle, climbs back toward the ceiling by a tenth of the gap instead of slow start', async () => {
    // GIVEN a controller halved from 2000 to 1000 (end of slow start), then cut from 1000 to 850,
    // so its ceiling estimate is halfway between the throttled and the cut rate: 925
    const rc = new RateController({ initialRate: 2000 });
    rc.onThrottle(Date.now());
    jest.advanceTimersByTime(10);
    rc.onThrottle(Date.now());
    expect(rc.currentRate).toBeCloseTo(850, 6);

    // WHEN a full batch that waited for the pacer succeeds
    const waiting = rc.acquire(1000);
    await jest.advanceTimersByTimeAsync(3000);
    await waiting;
    rc.onSuccess(1000);

    // THEN the rate closed a tenth of the gap and probed 0.2 % of the ceiling past it
    expect(rc.currentRate).toBeCloseTo(850 + 75 * 0.1 + 925 * 0.002, 6);
  });

  it('lets waiting batches through one at a time, spaced by the rate of the moment each is sent', async () => {
    // GIVEN two batches of 1000 keys queued behind a first one at 1000 keys/s
    const rc = new RateController({ initialRate: 1000 });
    const sentAt: number[] = [];
    const start = Date.now();
    await rc.acquire(1000);
    const second = rc.acquire(1000).then((t) => sentAt.push(t - start));
    const third = rc.acquire(1000).then((t) => sentAt.push(t - start));

    // WHEN the rate is cut while they wait (a throttle answered 100 ms in)
    await jest.advanceTimersByTimeAsync(100);
    rc.onThrottle(start);
    await jest.advanceTimersByTimeAsync(5000);
    await Promise.all([second, third]);

    // THEN the cut holds back the batch already waiting (its pause, at most 1 s from the cut, ends at 1.1 s),
    // and the next one is spaced by the cut rate (1000 keys at 500 keys/s: 2 s), not by the rate it was queued at
    expect(sentAt).toEqual([1100, 3100]);
  });

  it('makes the next send wait after a throttle, so the partition can recover', async () => {
    // GIVEN a controller at 2000 keys/s that was just throttled (now 1000 keys/s)
    const rc = new RateController({ initialRate: 2000 });
    rc.onThrottle(Date.now());
    let sent = false;

    // WHEN the next single key asks to be sent
    const waiting = rc.acquire(1).then(() => {
      sent = true;
    });

    // THEN it waits the time of one 1000-key batch at the new rate, 1 s (in fake time), not zero
    await jest.advanceTimersByTimeAsync(900);
    expect(sent).toBe(false);
    await jest.advanceTimersByTimeAsync(150);
    await waiting;
    expect(sent).toBe(true);
  });
});

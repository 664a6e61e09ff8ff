/**
 * Error paths of the DeleteObjects batch deleter, against a mocked S3 client
 * (the rate controller's own tests are in rate-controller.test.ts). Happy-path deletion is proven
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
    // AND the partition's rate went down (estimated at the end of slow start, then cut to 0.7, barely recovered by one small success)
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

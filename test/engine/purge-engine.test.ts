/**
 * Error paths of purgeBucket against a mocked S3 client: what moto cannot be
 * made to answer (SlowDown, MFA Delete, per-key AccessDenied in a 200), and
 * the stop/resume machinery (deadline, abort, cap). Happy-path correctness is
 * proven against moto in purge-engine.integ.test.ts.
 *
 * The mock serves listings from a small in-memory bucket (FakeBucket) so that
 * markers, passes and resumption behave as on S3. By default, like moto, a
 * listing whose VersionIdMarker names a deleted version ends early, which
 * would expose a page's last entry deleted before the next page was fetched;
 * `{ markers: 's3' }` makes it carry on from the marker's position, as S3
 * does, for tests of where a resumed run lists from.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  S3Client,
  S3ServiceException,
  type DeleteObjectCommandInput,
  type DeleteObjectsCommandInput,
  type DeleteObjectsCommandOutput,
  type ListObjectVersionsCommandInput,
  type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { MAX_TRANSIENT_ATTEMPTS } from '../../lambda/engine/constants';
import { PurgeConfigError } from '../../lambda/engine/errors';
import { compareKeys } from '../../lambda/engine/listing/key-order';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import type { PurgeOptions, PurgeResult } from '../../lambda/engine/purge-types';
import { RateController } from '../../lambda/engine/deleting/rate-controller';
import type { RetentionPolicy } from '../../lambda/engine/retention-policy';
import { retentionSelector } from '../../lambda/retention/selector';

const s3 = mockClient(S3Client);
const BUCKET = 'bkt';

function newClient(): S3Client {
  return new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
}

/** An error as the SDK surfaces it: `name` is the S3 error code. */
function s3Error(name: string, httpStatusCode: number, message = `${name} (test)`): S3ServiceException {
  return new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message });
}

interface Stored {
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly isLatest: boolean;
  readonly lastModified: Date;
  readonly size: number;
  gone: boolean;
}

/**
 * A versioned bucket in memory, listed like S3 (keys in UTF-8 order, each
 * key's entries newest first, raw keys as moto returns them) and deleted from
 * by the DeleteObjects / DeleteObject fakes. Hooks inject failures.
 */
class FakeBucket {
  readonly entries: Stored[] = [];
  /** Per-key errors in DeleteObjects answers: "key@versionId" → code. */
  readonly keyErrors = new Map<string, string>();
  listCalls = 0;
  deleteObjectsCalls = 0;
  /** Runs before each listing answer (1-based call number); may throw or wait. */
  beforeList?: (input: ListObjectVersionsCommandInput, call: number) => void | Promise<void>;
  /** Runs before each DeleteObjects answer; may throw or wait. */
  beforeDeleteObjects?: (input: DeleteObjectsCommandInput, call: number) => void | Promise<void>;

  constructor(
    private readonly pageSize = 1000,
    private readonly options: { markers: 'moto' | 's3' } = { markers: 'moto' },
  ) {}

  /** Adds `versions` versions of `key` (ids `key~1` oldest … `key~n` newest), optionally topped by a delete marker. */
  add(key: string, versions = 1, options: { marker?: boolean } = {}): this {
    const n = versions + (options.marker ? 1 : 0);
    for (let i = n; i >= 1; i--) {
      const isDeleteMarker = options.marker === true && i === n;
      this.entries.push({
        key,
        versionId: `${key}~${i}`,
        isDeleteMarker,
        isLatest: i === n,
        lastModified: new Date(Date.UTC(2024, 0, 1) + i * 1000),
        size: isDeleteMarker ? 0 : 10,
        gone: false,
      });
    }
    this.entries.sort((a, b) => compareKeys(a.key, b.key)); // stable: keeps each key's newest-first order
    return this;
  }

  live(): Stored[] {
    return this.entries.filter((e) => !e.gone);
  }

  async list(input: ListObjectVersionsCommandInput): Promise<ListObjectVersionsCommandOutput> {
    const call = ++this.listCalls;
    await this.beforeList?.(input, call);
    const prefix = input.Prefix ?? '';
    const max = Math.min(input.MaxKeys ?? 1000, this.pageSize);
    let start = 0;
    if (input.KeyMarker !== undefined) {
      const marker = input.KeyMarker;
      const at = input.VersionIdMarker === undefined ? -1 : this.entries.findIndex((e) => e.key === marker && e.versionId === input.VersionIdMarker);
      // moto: a VersionIdMarker naming a deleted version ends the listing.
      if (at >= 0 && this.entries[at].gone && this.options.markers === 'moto') return { IsTruncated: false, Versions: [], DeleteMarkers: [], $metadata: {} };
      start = at >= 0 ? at + 1 : this.entries.findIndex((e) => compareKeys(e.key, marker) > 0);
      if (start < 0) start = this.entries.length;
    }
    const candidates = this.entries.slice(start).filter((e) => !e.gone && e.key.startsWith(prefix));
    const page = candidates.slice(0, max);
    const truncated = candidates.length > max;
    const last = page[page.length - 1];
    const common = (e: Stored) => ({ Key: e.key, VersionId: e.versionId, IsLatest: e.isLatest, LastModified: e.lastModified });
    return {
      $metadata: {},
      IsTruncated: truncated,
      NextKeyMarker: truncated ? last.key : undefined,
      NextVersionIdMarker: truncated ? last.versionId : undefined,
      Versions: page.filter((e) => !e.isDeleteMarker).map((e) => ({ ...common(e), Size: e.size })),
      DeleteMarkers: page.filter((e) => e.isDeleteMarker).map(common),
    };
  }

  async deleteObjects(input: DeleteObjectsCommandInput): Promise<DeleteObjectsCommandOutput> {
    const call = ++this.deleteObjectsCalls;
    await this.beforeDeleteObjects?.(input, call);
    const Errors: NonNullable<DeleteObjectsCommandOutput['Errors']> = [];
    const Deleted: NonNullable<DeleteObjectsCommandOutput['Deleted']> = [];
    for (const o of input.Delete?.Objects ?? []) {
      const code = this.keyErrors.get(`${o.Key}@${o.VersionId}`);
      if (code) Errors.push({ Key: o.Key, VersionId: o.VersionId, Code: code, Message: `${code}: ${o.Key}` });
      else {
        this.remove(o.Key ?? '', o.VersionId ?? 'null');
        Deleted.push({ Key: o.Key, VersionId: o.VersionId });
      }
    }
    return { $metadata: { httpStatusCode: 200 }, Errors, Deleted };
  }

  async deleteObject(input: DeleteObjectCommandInput): Promise<object> {
    this.remove(input.Key ?? '', input.VersionId ?? 'null');
    return { $metadata: { httpStatusCode: 204 } };
  }

  private remove(key: string, versionId: string): void {
    const e = this.entries.find((x) => x.key === key && x.versionId === versionId);
    if (e) e.gone = true;
  }
}

type LockAnswer = 'enabled' | 'not-configured' | 'denied';

/** Wires the S3 mock to `bucket`. */
function serve(bucket: FakeBucket, options: { objectLock?: LockAnswer; mfaDelete?: boolean; prefixes?: string[] } = {}): void {
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled', MFADelete: options.mfaDelete ? 'Enabled' : 'Disabled' });
  const lock = options.objectLock ?? 'not-configured';
  if (lock === 'enabled') s3.on(GetObjectLockConfigurationCommand).resolves({ ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } });
  else if (lock === 'denied') s3.on(GetObjectLockConfigurationCommand).rejects(s3Error('AccessDenied', 403));
  else s3.on(GetObjectLockConfigurationCommand).rejects(s3Error('ObjectLockConfigurationNotFoundError', 404));
  s3.on(ListObjectsV2Command).resolves({ CommonPrefixes: (options.prefixes ?? []).map((Prefix) => ({ Prefix })) });
  s3.on(ListObjectVersionsCommand).callsFake((input: ListObjectVersionsCommandInput) => bucket.list(input));
  // No incomplete multipart uploads: engine/uploads/ has its own tests.
  s3.on(ListMultipartUploadsCommand).resolves({ IsTruncated: false });
  s3.on(DeleteObjectsCommand).callsFake((input: DeleteObjectsCommandInput) => bucket.deleteObjects(input));
  s3.on(DeleteObjectCommand).callsFake((input: DeleteObjectCommandInput) => bucket.deleteObject(input));
}

let client: S3Client;

function purge(options: Partial<PurgeOptions> = {}): Promise<PurgeResult> {
  return purgeBucket({ client, bucket: BUCKET, ...options });
}

const listInputs = (): ListObjectVersionsCommandInput[] => s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input);
const deleteObjectsInputs = (): DeleteObjectsCommandInput[] => s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input);
/** "key@versionId" of every version sent in any DeleteObjects request so far. */
const sentForDeletion = (): string[] => deleteObjectsInputs().flatMap((i) => (i.Delete?.Objects ?? []).map((o) => `${o.Key}@${o.VersionId}`));
const allIds = (bucket: FakeBucket): string[] => bucket.entries.map((e) => `${e.key}@${e.versionId}`);

/** Shifts Date.now() forward on demand: the engine's deadline checks see the jump, real timers are untouched. */
function controllableClock(): { jump(ms: number): void } {
  const realNow = Date.now.bind(Date);
  let skew = 0;
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
  return {
    jump(ms: number) {
      skew += ms;
    },
  };
}

beforeEach(() => {
  s3.reset();
  client = newClient();
  // Full-jitter backoff becomes 0 ms: retries are immediate.
  jest.spyOn(Math, 'random').mockReturnValue(0);
});

afterEach(() => {
  jest.restoreAllMocks();
});

afterAll(() => s3.restore());

describe('purgeBucket: preflight', () => {
  it('rejects with PurgeConfigError and lists or deletes nothing when MFA Delete is enabled', async () => {
    // GIVEN a bucket with MFA Delete enabled
    const bucket = new FakeBucket().add('a', 2);
    serve(bucket, { mfaDelete: true });

    // WHEN it is purged
    const run = purge();

    // THEN the run fails with a configuration error before any listing or deletion
    await expect(run).rejects.toBeInstanceOf(PurgeConfigError);
    await expect(run).rejects.toThrow(/MFA Delete/);
    expect(s3.commandCalls(ListObjectVersionsCommand)).toHaveLength(0);
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('rejects and deletes nothing when the Object Lock read keeps failing with a transient fault', async () => {
    // GIVEN a bucket whose Object Lock configuration cannot be read: 503 on every attempt
    const bucket = new FakeBucket().add('a', 2);
    serve(bucket);
    s3.on(GetObjectLockConfigurationCommand).rejects(s3Error('ServiceUnavailable', 503, 'Please reduce your request rate.'));

    // WHEN it is purged (both preflight reads run at once)
    const run = purge();

    // THEN the run fails with that fault, without guessing "no lock", and nothing is deleted
    await expect(run).rejects.toMatchObject({ name: 'ServiceUnavailable' });
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    expect(bucket.entries).toHaveLength(2);
  });

  it('reports the MFA Delete error, not the Object Lock read\'s, when both fail', async () => {
    // GIVEN MFA Delete on, and an Object Lock read that fails transiently at the same time
    const bucket = new FakeBucket().add('a', 1);
    serve(bucket, { mfaDelete: true });
    s3.on(GetObjectLockConfigurationCommand).rejects(s3Error('InternalError', 500, 'We encountered an internal error.'));

    // WHEN it is purged THEN the versioning answer decides: the MFA Delete configuration error
    await expect(purge()).rejects.toBeInstanceOf(PurgeConfigError);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });

  it('reports bucketMissing with zero counts when GetBucketVersioning answers NoSuchBucket', async () => {
    // GIVEN a bucket that does not exist
    s3.on(GetBucketVersioningCommand).rejects(s3Error('NoSuchBucket', 404, 'The specified bucket does not exist'));

    // WHEN it is purged
    const result = await purge();

    // THEN the result says so, counts nothing, and is complete
    expect(result).toMatchObject({ bucketMissing: true, listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, failed: 0, resumeToken: null });
    expect(s3.commandCalls(ListObjectVersionsCommand)).toHaveLength(0);
  });

  it.each<[string, boolean, LockAnswer, true | undefined]>([
    ['sent when the option is on and Object Lock is enabled', true, 'enabled', true],
    ['not sent when the option is on but the bucket has no Object Lock configuration', true, 'not-configured', undefined],
    ['not sent when the option is on but the Object Lock configuration cannot be read', true, 'denied', undefined],
    ['not sent when Object Lock is enabled but the option is off', false, 'enabled', undefined],
  ])('BypassGovernanceRetention is %s', async (_label, option, lock, expected) => {
    // GIVEN a bucket with an ordinary key and a control-character key (DeleteObject path)
    const bucket = new FakeBucket().add('a', 2).add('b\u0001', 1);
    serve(bucket, { objectLock: lock });

    // WHEN it is purged with the option as given
    const result = await purge({ bypassGovernanceRetention: option });

    // THEN every delete request carries the header exactly when expected
    expect(result.deleted).toBe(3);
    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.BypassGovernanceRetention);
    const singles = s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input.BypassGovernanceRetention);
    expect(batches.length).toBeGreaterThan(0);
    expect(singles.length).toBeGreaterThan(0);
    for (const sent of [...batches, ...singles]) expect(sent).toBe(expected);
  });
});

describe('purgeBucket: failures while deleting', () => {
  it('reports an AccessDenied version with its key, version and message, deletes the rest, and ends instead of retrying forever', async () => {
    // GIVEN four keys, one of whose versions S3 refuses to delete
    const bucket = new FakeBucket().add('a').add('b').add('c').add('d');
    bucket.keyErrors.set('b@b~1', 'AccessDenied');
    serve(bucket);

    // WHEN the bucket is purged
    const result = await purge();

    // THEN the run completes with the refused version reported and the others deleted
    expect(result).toMatchObject({ deleted: 3, failed: 1, resumeToken: null });
    expect(result.errors).toEqual([{ key: 'b', versionId: 'b~1', code: 'AccessDenied', message: 'AccessDenied: b' }]);
    expect(bucket.live().map((e) => e.key)).toEqual(['b']);
    // AND the refused version was sent once per pass only: pass 1 (whole bucket), pass 2 (what was left), then it stopped
    expect(result.passes).toBe(2);
    expect(deleteObjectsInputs().map((i) => (i.Delete?.Objects ?? []).map((o) => o.Key))).toEqual([['a', 'b', 'c', 'd'], ['b']]);
  });

  it.each([
    ['a 503 SlowDown', 503],
    ['a SlowDown inside an HTTP 200', 200],
  ])('retries a DeleteObjects answered with %s, counts the throttles and cuts the partition rate', async (_label, status) => {
    // GIVEN DeleteObjects answers SlowDown twice before succeeding
    const bucket = new FakeBucket().add('a', 2).add('b', 2);
    bucket.beforeDeleteObjects = (_input, call) => {
      if (call <= 2) throw s3Error('SlowDown', status, 'Please reduce your request rate.');
    };
    serve(bucket);
    const cuts = jest.spyOn(RateController.prototype, 'onThrottle');

    // WHEN the bucket is purged
    const result = await purge();

    // THEN everything is deleted, with both throttles counted
    expect(result).toMatchObject({ deleted: 4, failed: 0, throttled: 2, resumeToken: null });
    expect(bucket.live()).toEqual([]);
    expect(bucket.deleteObjectsCalls).toBe(3);
    // AND the partition's rate controller was told and is now slower than it started
    expect(cuts).toHaveBeenCalledTimes(2);
    const controller = cuts.mock.contexts[0] as RateController;
    expect(cuts.mock.contexts[1]).toBe(controller);
    expect(controller.currentRate).toBeLessThan(2000 * 0.85);
  });
});

describe('purgeBucket: listing errors', () => {
  it('retries a throttled listing (503 SlowDown) and counts the throttles', async () => {
    // GIVEN the first two listing requests are throttled
    const bucket = new FakeBucket().add('a', 3);
    bucket.beforeList = (_input, call) => {
      if (call <= 2) throw s3Error('SlowDown', 503, 'Please reduce your request rate.');
    };
    serve(bucket);

    // WHEN the bucket is purged
    const result = await purge();

    // THEN it got through and deleted everything
    expect(result).toMatchObject({ deleted: 3, throttled: 2, failed: 0, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });

  it('rejects with the S3 error when the listing is denied, having deleted nothing', async () => {
    // GIVEN ListObjectVersions answers 403 AccessDenied
    const bucket = new FakeBucket().add('a', 3);
    bucket.beforeList = () => {
      throw s3Error('AccessDenied', 403, 'Access Denied');
    };
    serve(bucket);

    // WHEN the bucket is purged
    const run = purge();

    // THEN the run rejects with that error after a single attempt
    await expect(run).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(bucket.listCalls).toBe(1);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });

  it('stops with the fault and a resume token when a listing keeps failing with 500 InternalError, and the token then purges everything', async () => {
    // GIVEN ListObjectVersions answers 500 InternalError to its first MAX_TRANSIENT_ATTEMPTS requests
    const bucket = new FakeBucket().add('a', 3);
    bucket.beforeList = (_input, call) => {
      if (call <= MAX_TRANSIENT_ATTEMPTS) throw s3Error('InternalError', 500, 'We encountered an internal error.');
    };
    serve(bucket);

    // WHEN the bucket is purged
    const first = await purge();

    // THEN it tried a bounded number of times, then stopped cleanly, naming the fault, having deleted nothing
    expect(bucket.listCalls).toBe(MAX_TRANSIENT_ATTEMPTS);
    expect(first).toMatchObject({
      deleted: 0,
      failed: 0,
      fault: { operation: 'ListObjectVersions', code: 'InternalError', message: 'We encountered an internal error.' },
    });
    expect(first.resumeToken).not.toBeNull();
    expect(bucket.live()).toHaveLength(3);

    // WHEN the run is resumed with its token (S3 has recovered)
    const second = await purge({ resumeToken: first.resumeToken });

    // THEN it finishes: everything deleted once, no fault
    expect(second).toMatchObject({ deleted: 3, failed: 0, fault: null, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });

  it('keeps a batch whose DeleteObjects keeps failing with 500 in the resume token, not as failures, and the token deletes it once', async () => {
    // GIVEN DeleteObjects answers 500 InternalError to its first MAX_TRANSIENT_ATTEMPTS requests
    const bucket = new FakeBucket().add('a', 2).add('b', 2);
    bucket.beforeDeleteObjects = (_input, call) => {
      if (call <= MAX_TRANSIENT_ATTEMPTS) throw s3Error('InternalError', 500, 'We encountered an internal error.');
    };
    serve(bucket);

    // WHEN the bucket is purged
    const first = await purge();

    // THEN the run stopped with the fault, reported no failed version, and deleted nothing
    expect(bucket.deleteObjectsCalls).toBe(MAX_TRANSIENT_ATTEMPTS);
    expect(first).toMatchObject({ deleted: 0, failed: 0, errors: [], fault: { operation: 'DeleteObjects', code: 'InternalError' } });
    expect(first.resumeToken).not.toBeNull();
    expect(bucket.live()).toHaveLength(4);

    // WHEN the run is resumed with its token
    const second = await purge({ resumeToken: first.resumeToken });

    // THEN every version is deleted and counted exactly once
    expect(second).toMatchObject({ deleted: 4, failed: 0, fault: null, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });

  it('retries a listing whose connection was reset and finishes without a fault', async () => {
    // GIVEN the first listing request's connection is reset (as Node reports it: name Error, code ECONNRESET)
    const bucket = new FakeBucket().add('a', 3);
    bucket.beforeList = (_input, call) => {
      if (call === 1) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    };
    serve(bucket);

    // WHEN the bucket is purged
    const result = await purge();

    // THEN it got through on a retry and deleted everything
    expect(result).toMatchObject({ deleted: 3, failed: 0, fault: null, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });
});

describe('purgeBucket: stopping and resuming', () => {
  it('stops at once with a resume token when the deadline has already passed, and the token then purges everything', async () => {
    // GIVEN a bucket and a deadline in the past
    const bucket = new FakeBucket(2).add('k0').add('k1').add('k2');
    serve(bucket);

    // WHEN it is purged
    const first = await purge({ deadline: Date.now() - 1 });

    // THEN nothing was listed or deleted, and a token was returned
    expect(first).toMatchObject({ listed: 0, deleted: 0 });
    expect(first.resumeToken).not.toBeNull();
    expect(s3.commandCalls(ListObjectVersionsCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);

    // WHEN the run is resumed with the token (through JSON, as a Lambda would carry it)
    const second = await purge({ resumeToken: JSON.parse(JSON.stringify(first.resumeToken)) });

    // THEN it lists from the start and empties the bucket
    expect(listInputs()[0].KeyMarker).toBeUndefined();
    expect(second).toMatchObject({ deleted: 3, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });

  it('starts no DeleteObjects after the deadline, and a resumed run lists again from before the first entry not deleted, counting each entry once', async () => {
    // GIVEN six keys listed two per page, and a clock that passes the deadline while page 2 is fetched
    const bucket = new FakeBucket(2, { markers: 's3' }).add('k0').add('k1').add('k2').add('k3').add('k4').add('k5');
    serve(bucket);
    const clock = controllableClock();
    const deadline = Date.now() + 60_000;
    bucket.beforeList = (_input, call) => {
      if (call === 2) clock.jump(120_000);
    };
    const deleteStartedAt: number[] = [];
    bucket.beforeDeleteObjects = () => {
      deleteStartedAt.push(Date.now());
    };

    // WHEN the bucket is purged with that deadline
    const first = await purge({ deadline, listConcurrency: 1 });

    // THEN the run stopped after two pages with a token, and no DeleteObjects started after the deadline
    expect(first.resumeToken).not.toBeNull();
    expect(bucket.listCalls).toBe(2);
    expect(deleteStartedAt.filter((t) => t >= deadline)).toEqual([]);
    // (everything chosen so far was still waiting in the batch when the deadline passed: nothing deleted)
    expect(first).toMatchObject({ listed: 3, selected: 3, deleted: 0 });
    expect(bucket.live()).toHaveLength(6);
    // AND the token holds no entry, only where to list again from: the start, since nothing was deleted
    expect(first.resumeToken).toMatchObject({ counts: { listed: 0, selected: 0, deleted: 0 }, streams: [{ s: 0 }] });
    expect(JSON.stringify(first.resumeToken)).not.toMatch(/k1~1/);

    // WHEN the run is resumed with the token
    s3.resetHistory();
    bucket.beforeList = undefined;
    const second = await purge({ resumeToken: JSON.parse(JSON.stringify(first.resumeToken)) });

    // THEN it lists from the start, and the totals are those of one uninterrupted run, each version sent once
    expect(listInputs()[0].KeyMarker).toBeUndefined();
    expect(second).toMatchObject({ listed: 6, selected: 6, deleted: 6, failed: 0, resumeToken: null });
    expect(bucket.live()).toEqual([]);
    expect(sentForDeletion().sort()).toEqual(allIds(bucket).sort());
  });

  it('within the reserve before the deadline, stops listing but still deletes what it had chosen, then resumes after the last deleted entry', async () => {
    // GIVEN six keys listed two per page, and a clock that jumps to 1 s before the deadline while page 2 is fetched
    const bucket = new FakeBucket(2, { markers: 's3' }).add('k0').add('k1').add('k2').add('k3').add('k4').add('k5');
    serve(bucket);
    const clock = controllableClock();
    const deadline = Date.now() + 60_000;
    bucket.beforeList = (_input, call) => {
      if (call === 2) clock.jump(59_000);
    };

    // WHEN the bucket is purged with that deadline
    const first = await purge({ deadline, listConcurrency: 1 });

    // THEN listing stopped after page 2, but the entries chosen so far (all but page 2's last) were deleted before the deadline
    expect(bucket.listCalls).toBe(2);
    expect(first).toMatchObject({ listed: 3, deleted: 3 });
    expect(first.resumeToken).toMatchObject({ counts: { listed: 3, deleted: 3 }, streams: [{ s: 0, k: 'k2', i: 'k2~1' }] });
    expect(bucket.live().map((e) => e.key)).toEqual(['k3', 'k4', 'k5']);

    // WHEN the run is resumed
    s3.resetHistory();
    bucket.beforeList = undefined;
    const second = await purge({ resumeToken: JSON.parse(JSON.stringify(first.resumeToken)) });

    // THEN it continues after k2's deleted version (S3 carries on from a deleted marker version) and counts each entry once
    expect(listInputs()[0]).toMatchObject({ KeyMarker: 'k2', VersionIdMarker: 'k2~1' });
    expect(second).toMatchObject({ listed: 6, deleted: 6, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });

  it('stops cleanly with a resume token when the signal aborts mid-run, sending nothing after the abort', async () => {
    // GIVEN six keys listed two per page, and an abort while page 2 is fetched
    const bucket = new FakeBucket(2).add('k0').add('k1').add('k2').add('k3').add('k4').add('k5');
    serve(bucket);
    const controller = new AbortController();
    bucket.beforeList = (_input, call) => {
      if (call === 2) controller.abort();
    };
    const sentAfterAbort: number[] = [];
    bucket.beforeDeleteObjects = (_input, call) => {
      if (controller.signal.aborted) sentAfterAbort.push(call);
    };

    // WHEN the bucket is purged with that signal
    const first = await purge({ signal: controller.signal, listConcurrency: 1 });

    // THEN the run resolved with a token and no delete request after the abort
    expect(first.resumeToken).not.toBeNull();
    expect(sentAfterAbort).toEqual([]);
    expect(bucket.listCalls).toBe(2);

    // WHEN it is resumed without the signal
    bucket.beforeList = undefined;
    const second = await purge({ resumeToken: JSON.parse(JSON.stringify(first.resumeToken)) });

    // THEN the bucket is empty and counted once
    expect(second).toMatchObject({ deleted: 6, resumeToken: null });
    expect(bucket.live()).toEqual([]);
  });

  it('stops at maxDeletions with capReached and no resume token', async () => {
    // GIVEN ten versions
    const bucket = new FakeBucket().add('a', 4).add('b', 6);
    serve(bucket);

    // WHEN a run is capped at four deletions
    const result = await purge({ maxDeletions: 4 });

    // THEN exactly four were selected and deleted, the run says the cap stopped it, and it is not resumable
    expect(result).toMatchObject({ selected: 4, deleted: 4, capReached: true, resumeToken: null });
    expect(sentForDeletion()).toHaveLength(4);
    expect(bucket.live()).toHaveLength(6);
  });

  it('at maxDeletions, keeps the entries a fault left unsent in a resume token, and the token deletes only them', async () => {
    // GIVEN ten versions, a cap of four, and DeleteObjects failing with 500 until the retry policy gives up
    const bucket = new FakeBucket().add('a', 4).add('b', 6);
    bucket.beforeDeleteObjects = (_input, call) => {
      if (call <= MAX_TRANSIENT_ATTEMPTS) throw s3Error('InternalError', 500, 'We encountered an internal error.');
    };
    serve(bucket);

    // WHEN a capped run meets the fault
    const first = await purge({ maxDeletions: 4 });

    // THEN it reached the cap but names the fault and keeps a token, having deleted nothing
    expect(first).toMatchObject({ selected: 4, deleted: 0, failed: 0, capReached: true, fault: { operation: 'DeleteObjects' } });
    expect(first.resumeToken).not.toBeNull();

    // WHEN the token is passed back
    const second = await purge({ maxDeletions: 4, resumeToken: first.resumeToken });

    // THEN the four selected versions are deleted, and no more
    expect(second).toMatchObject({ selected: 4, deleted: 4, capReached: true, fault: null, resumeToken: null });
    expect(bucket.live()).toHaveLength(6);
  });
});

describe('purgeBucket: concurrency and paging', () => {
  it('asks for a flat bucket\'s first page while discovery runs, and lists it once', async () => {
    // GIVEN a bucket without folders, whose discovery (ListObjectsV2) answers only once a listing was asked for
    const bucket = new FakeBucket().add('a', 2).add('b', 1);
    serve(bucket);
    let listingAsked!: () => void;
    const asked = new Promise<void>((resolve) => (listingAsked = resolve));
    bucket.beforeList = (_input, call) => {
      if (call === 1) listingAsked();
    };
    let discoveryWaitedFor: 'listing' | 'timeout' | undefined;
    s3.on(ListObjectsV2Command).callsFake(async () => {
      discoveryWaitedFor = await Promise.race([asked.then(() => 'listing' as const), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2_000))]);
      return { CommonPrefixes: [] };
    });

    // WHEN it is purged
    const result = await purge();

    // THEN the first page was asked for before discovery answered, and each pass listed the bucket's start once
    expect(discoveryWaitedFor).toBe('listing');
    expect(result).toMatchObject({ listed: 3, deleted: 3, failed: 0, resumeToken: null });
    expect(bucket.live()).toEqual([]);
    expect(listInputs().filter((i) => i.KeyMarker === undefined)).toHaveLength(2); // pass 1 and the confirming pass
  });

  it('drops the early first page when discovery splits the bucket at folders, and counts each entry once', async () => {
    // GIVEN a bucket with two folders
    const bucket = new FakeBucket().add('a/1', 2).add('a/2', 1).add('b/1', 2).add('b/2', 1);
    serve(bucket, { prefixes: ['a/', 'b/'] });

    // WHEN it is purged
    const result = await purge();

    // THEN the folders' streams listed and deleted every entry exactly once (the whole-bucket page fed nothing)
    expect(result).toMatchObject({ listed: 6, selected: 6, deleted: 6, failed: 0, resumeToken: null });
    expect(sentForDeletion().sort()).toEqual(allIds(bucket).sort());
    expect(bucket.live()).toEqual([]);
  });

  it('never has more DeleteObjects requests in flight than `concurrency`', async () => {
    // GIVEN eight "folders" listed in parallel, each ending in its own batch, and slow DeleteObjects answers
    const folders = ['a/', 'b/', 'c/', 'd/', 'e/', 'f/', 'g/', 'h/'];
    const bucket = new FakeBucket();
    for (const f of folders) bucket.add(`${f}x`, 2).add(`${f}y`, 1);
    serve(bucket, { prefixes: folders });
    let inFlight = 0;
    let maxInFlight = 0;
    const original = bucket.deleteObjects.bind(bucket);
    bucket.deleteObjects = async (input) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return await original(input);
      } finally {
        inFlight--;
      }
    };

    // WHEN the bucket is purged with eight listing streams but only two requests at a time
    const result = await purge({ concurrency: 2, listConcurrency: 8 });

    // THEN the listing was sharded, and at most two DeleteObjects ran at once (and two did)
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(1);
    expect(bucket.deleteObjectsCalls).toBeGreaterThanOrEqual(8);
    expect(maxInFlight).toBe(2);
    expect(result).toMatchObject({ deleted: bucket.entries.length, resumeToken: null });
  });

  it('does not delete the last entry of a page before the next page was fetched, when pages split a key', async () => {
    // GIVEN AWS's example: key A with 990 versions and B with 400, so page 1 ends among B's versions
    const bucket = new FakeBucket().add('A', 990).add('B', 400).add('C', 700);
    serve(bucket);
    const events: string[] = [];
    const pageEnds: string[] = [];
    const list = bucket.list.bind(bucket);
    bucket.list = async (input) => {
      events.push('list');
      const out = await list(input);
      if (out.IsTruncated) pageEnds.push(`${out.NextKeyMarker}@${out.NextVersionIdMarker}`);
      return out;
    };
    bucket.beforeDeleteObjects = (input) => {
      for (const o of input.Delete?.Objects ?? []) events.push(`${o.Key}@${o.VersionId}`);
    };

    // WHEN the bucket is purged (one listing stream)
    const result = await purge({ listConcurrency: 1 });

    // THEN page 1 ended in the middle of B, as in the example
    expect(pageEnds[0]).toBe('B@B~391');
    // AND each page's last entry was sent for deletion only after the following listing request
    const listAt = events.flatMap((e, i) => (e === 'list' ? [i] : []));
    pageEnds.forEach((end, page) => {
      const deletedAt = events.indexOf(end);
      expect(deletedAt).toBeGreaterThan(listAt[page + 1]);
    });
    // AND nothing was lost to a listing cut short: one pass deleted everything, the second found nothing
    expect(result).toMatchObject({ deleted: 2090, passes: 2, resumeToken: null });
    expect(bucket.live()).toEqual([]);
    expect(sentForDeletion()).toHaveLength(2090);
  });
});

describe('purgeBucket: resume tokens', () => {
  it('refuses a real run\'s token in a dry run, and a dry run\'s token in a real run, before listing or deleting anything', async () => {
    // GIVEN a real run stopped with a token, and a dry run stopped with a token
    const bucket = new FakeBucket(2, { markers: 's3' }).add('a', 2).add('b', 2).add('c', 2);
    serve(bucket);
    const real = await purge({ deadline: Date.now() - 1 });
    const dry = await purge({ dryRun: true, deadline: Date.now() - 1 });
    s3.resetHistory();

    // WHEN each is passed to the other kind of run
    const dryWithReal = purge({ dryRun: true, resumeToken: JSON.parse(JSON.stringify(real.resumeToken)) });
    const realWithDry = purge({ resumeToken: JSON.parse(JSON.stringify(dry.resumeToken)) });

    // THEN both are refused, naming the field, and nothing was listed or deleted
    await expect(dryWithReal).rejects.toMatchObject({ name: 'ResumeTokenError', field: 'dryRun' });
    await expect(realWithDry).rejects.toMatchObject({ name: 'ResumeTokenError', field: 'dryRun' });
    expect(s3.calls()).toHaveLength(0);
    expect(bucket.live()).toHaveLength(6);
  });

  it('a dry run stopped in the middle and resumed deletes nothing and selects each entry once', async () => {
    // GIVEN six versions listed two per page, and an abort while page 2 is fetched
    const bucket = new FakeBucket(2, { markers: 's3' }).add('a', 2).add('b', 2).add('c', 2);
    serve(bucket);
    const controller = new AbortController();
    bucket.beforeList = (_input, call) => {
      if (call === 2) controller.abort();
    };

    // WHEN a dry run stops, and is resumed with its token
    const first = await purge({ dryRun: true, listConcurrency: 1, signal: controller.signal });
    bucket.beforeList = undefined;
    const second = await purge({ dryRun: true, resumeToken: JSON.parse(JSON.stringify(first.resumeToken)) });

    // THEN nothing was deleted, and the totals count every version once
    expect(first.resumeToken).not.toBeNull();
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    expect(second).toMatchObject({ dryRun: true, listed: 6, selected: 6, deleted: 0, resumeToken: null });
    expect(bucket.live()).toHaveLength(6);
  });

  it('durationMs of a resumed run covers every segment', async () => {
    // GIVEN a token from a run that had spent 5 s
    const bucket = new FakeBucket().add('a', 1);
    serve(bucket);
    const first = await purge({ deadline: Date.now() - 1 });
    const token = { ...JSON.parse(JSON.stringify(first.resumeToken)), elapsedMs: 5_000 };
    // WHEN it is resumed
    const second = await purge({ resumeToken: token });
    // THEN the duration includes the earlier 5 s
    expect(second.durationMs).toBeGreaterThanOrEqual(5_000);
    expect(second.durationMs).toBeLessThan(60_000);
  });

  /**
   * A run stopped at random points (some DeleteObjects not sent, some
   * answered) and resumed through JSON tokens until it ends leaves exactly
   * the survivors, and reports exactly the totals, of one uninterrupted run.
   */
  it('stopped and resumed any number of times, a run ends like an uninterrupted one (property)', async () => {
    const keyPool = ['a', 'a/1', 'b', 'b/c', 'b/d', 'c', 'logs/1', 'logs/2', 'z'];
    const historyArb = fc.array(
      fc.record({ key: fc.constantFrom(...keyPool), versions: fc.integer({ min: 1, max: 5 }), marker: fc.boolean(), lockedVersion: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }) }),
      { minLength: 1, maxLength: 8 },
    );
    const policyArb = fc.oneof(
      fc.constant<'purge'>('purge'),
      fc.record({ keepNoncurrentVersions: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), expiredDeleteMarkers: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(historyArb, policyArb, fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 30 }), async (histories, rule, pageSize, stops) => {
        const policy: RetentionPolicy | undefined =
          rule === 'purge' ? undefined : { ...rule, ...(rule.keepNoncurrentVersions === undefined && !rule.expiredDeleteMarkers && { keepNoncurrentVersions: 0 }) };
        const build = () => {
          const bucket = new FakeBucket(pageSize, { markers: 's3' });
          const seen = new Set<string>();
          for (const h of histories) {
            if (seen.has(h.key)) continue;
            seen.add(h.key);
            bucket.add(h.key, h.versions, { marker: h.marker });
            if (h.lockedVersion !== undefined && h.lockedVersion <= h.versions) bucket.keyErrors.set(`${h.key}@${h.key}~${h.lockedVersion}`, 'AccessDenied');
          }
          return bucket;
        };
        const options = (): Partial<PurgeOptions> =>
          policy ? { mode: 'retain', policy, selector: retentionSelector(policy, new Date(Date.UTC(2030, 0, 1))), concurrency: 2, listConcurrency: 1 } : { concurrency: 2, listConcurrency: 2 };

        // Uninterrupted
        s3.reset();
        const whole = build();
        serve(whole);
        const expected = await purge(options());
        const survivors = whole.live().map((e) => `${e.key}@${e.versionId}`);

        // Stopped after a few DeleteObjects or listings each time, resumed through JSON
        s3.reset();
        const bucket = build();
        serve(bucket);
        let token: unknown = null;
        let last: PurgeResult | undefined;
        for (let segment = 0; segment < 200 && (segment === 0 || token); segment++) {
          const controller = new AbortController();
          const stopAt = stops[segment % stops.length];
          const deletesBefore = bucket.deleteObjectsCalls;
          const listsBefore = bucket.listCalls;
          const abortAfterDeletes = segment % 2 === 0;
          bucket.beforeDeleteObjects = (_input, call) => {
            if (abortAfterDeletes && call - deletesBefore >= stopAt) controller.abort();
          };
          bucket.beforeList = (_input, call) => {
            if (!abortAfterDeletes && call - listsBefore >= stopAt) controller.abort();
          };
          last = await purge({ ...options(), signal: controller.signal, resumeToken: token as PurgeOptions['resumeToken'] });
          token = last.resumeToken ? JSON.parse(JSON.stringify(last.resumeToken)) : null;
        }
        expect(token).toBeNull();
        expect(bucket.live().map((e) => `${e.key}@${e.versionId}`)).toEqual(survivors);
        const totals = (r: PurgeResult) => ({ listed: r.listed, selected: r.selected, deleted: r.deleted, deleteMarkersDeleted: r.deleteMarkersDeleted, bytesDeleted: r.bytesDeleted, failed: r.failed });
        if (policy) expect(totals(last!)).toEqual(totals(expected));
        else expect({ deleted: last!.deleted, deleteMarkersDeleted: last!.deleteMarkersDeleted, failed: last!.failed }).toEqual({ deleted: expected.deleted, deleteMarkersDeleted: expected.deleteMarkersDeleted, failed: expected.failed });
      }),
      { numRuns: 60 },
    );
  });
});

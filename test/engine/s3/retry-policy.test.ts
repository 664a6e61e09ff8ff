/**
 * The one retry policy (lambda/engine/s3/retry-policy.ts): which faults are retried,
 * how long it waits, when it gives up. Errors are built as the SDK surfaces
 * them; that the SDK really surfaces them so is checked against a live HTTP
 * server in s3-retries.test.ts.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { MAX_TRANSIENT_ATTEMPTS, RETRY_BASE_MS, RETRY_CAP_MS } from '../../../lambda/engine/constants';
import { decideRetry, faultKind, keyFaultKind, withRetries } from '../../../lambda/engine/s3/retry-policy';

/** An error as the SDK surfaces an S3 answer: `name` is the S3 error code. */
function s3Error(name: string, httpStatusCode: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message: `${name} (test)` });
}

/** A network error as Node surfaces it: name `Error`, the cause in `code`. */
function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

afterEach(() => jest.restoreAllMocks());

describe('faultKind: which faults are retried', () => {
  it.each<[string, unknown]>([
    ['500 InternalError', s3Error('InternalError', 500)],
    ['502 Bad Gateway (no S3 code)', s3Error('Unknown', 502)],
    ['504 Gateway Timeout', s3Error('Unknown', 504)],
    ['400 RequestTimeout', s3Error('RequestTimeout', 400)],
    ['connection reset (ECONNRESET, socket hang up)', networkError('ECONNRESET', 'socket hang up')],
    ['broken pipe (EPIPE)', networkError('EPIPE', 'write EPIPE')],
    ['connection refused (ECONNREFUSED)', networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')],
    ['the SDK timing a request out (TimeoutError)', Object.assign(new Error('the request socket timed out'), { name: 'TimeoutError' })],
  ])('retries %s as transient', (_what, err) => {
    expect(faultKind(err)).toBe('transient');
  });

  it.each<[string, unknown]>([
    ['503 SlowDown', s3Error('SlowDown', 503)],
    ['SlowDown inside a 200 answer', s3Error('SlowDown', 200)],
    ['503 ServiceUnavailable', s3Error('ServiceUnavailable', 503)],
  ])('retries %s as a throttle', (_what, err) => {
    expect(faultKind(err)).toBe('throttle');
  });

  it.each<[string, unknown]>([
    ['403 AccessDenied', s3Error('AccessDenied', 403)],
    ['404 NoSuchBucket', s3Error('NoSuchBucket', 404)],
    ['404 NoSuchTagSet', s3Error('NoSuchTagSet', 404)],
    ['404 NoSuchBucketPolicy', s3Error('NoSuchBucketPolicy', 404)],
    ['400 MalformedXML', s3Error('MalformedXML', 400)],
    ['403 InvalidAccessKeyId', s3Error('InvalidAccessKeyId', 403)],
    ['501 NotImplemented (a store without the feature)', s3Error('NotImplemented', 501)],
    ['an unparseable 200 answer', Object.assign(new Error('Deserialization error'), { $metadata: { httpStatusCode: 200 } })],
    ['a programming error', new TypeError('x is not a function')],
  ])('never retries %s', (_what, err) => {
    expect(faultKind(err)).toBe('final');
  });

  it.each<[string, string]>([
    ['InternalError', 'transient'],
    ['ServiceUnavailable', 'transient'],
    ['SlowDown', 'throttle'],
    ['AccessDenied', 'final'],
    ['NoSuchVersion', 'final'],
  ])('sorts the per-key code %s inside a DeleteObjects 200 as %s', (code, kind) => {
    expect(keyFaultKind(code)).toBe(kind);
  });
});

describe('decideRetry: backoff bounds, attempts and deadline', () => {
  it('waits between 0 and min(cap, base × 2^(attempt-1)) ms, with full jitter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_TRANSIENT_ATTEMPTS - 1 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
        // GIVEN Math.random() answers `random`
        jest.spyOn(Math, 'random').mockReturnValue(random);
        // WHEN the policy decides after `attempt` failed attempts
        const next = decideRetry('transient', attempt);
        jest.restoreAllMocks();
        // THEN it retries after a delay within the bounds
        const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
        expect(next.retry).toBe(true);
        const delay = next.retry ? next.delayMs : -1;
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
  });

  it('waits at most 11.3 s over all the retries of one call (the documented bound)', () => {
    // GIVEN the longest jitter every time
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);
    // WHEN every attempt of one call fails
    let total = 0;
    for (let attempt = 1; ; attempt++) {
      const next = decideRetry('transient', attempt);
      if (!next.retry) break;
      total += next.delayMs;
    }
    // THEN the waits add up to at most 100+200+400+800+1600+3200+5000 ms
    expect(total).toBeLessThanOrEqual(11_300);
    expect(total).toBeGreaterThan(11_000);
  });

  it(`gives up after ${MAX_TRANSIENT_ATTEMPTS} attempts of a transient fault or a throttle`, () => {
    for (const kind of ['transient', 'throttle'] as const) {
      expect(decideRetry(kind, MAX_TRANSIENT_ATTEMPTS - 1).retry).toBe(true);
      expect(decideRetry(kind, MAX_TRANSIENT_ATTEMPTS)).toEqual({ retry: false, why: 'attempts' });
    }
  });

  it('retries throttles without an attempt limit for callers with a rate controller, but not other faults', () => {
    expect(decideRetry('throttle', 1_000, { unboundedThrottles: true }).retry).toBe(true);
    expect(decideRetry('transient', MAX_TRANSIENT_ATTEMPTS, { unboundedThrottles: true })).toEqual({ retry: false, why: 'attempts' });
  });

  it('never retries a final error, even on the first attempt', () => {
    expect(decideRetry('final', 1)).toEqual({ retry: false, why: 'final' });
  });

  it('gives up when the wait would end at or after the deadline, and not before', () => {
    // GIVEN the longest jitter: attempt 3 waits 400 ms
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);
    const now = 1_000_000;
    // WHEN the deadline leaves less than the wait, or more
    // THEN it stops for the deadline, or retries
    expect(decideRetry('transient', 3, { deadline: now + 399 }, now)).toEqual({ retry: false, why: 'deadline' });
    expect(decideRetry('transient', 3, { deadline: now + 401 }, now)).toEqual({ retry: true, delayMs: 400 });
  });
});

describe('withRetries', () => {
  beforeEach(() => {
    // Full-jitter backoff becomes 0 ms: no real waiting.
    jest.spyOn(Math, 'random').mockReturnValue(0);
  });

  it('returns the first success after transient faults and resets', async () => {
    // GIVEN a call that fails with a 500, a reset and a SlowDown, then succeeds
    const faults = [s3Error('InternalError', 500), networkError('ECONNRESET', 'socket hang up'), s3Error('SlowDown', 503)];
    const call = jest.fn(async () => {
      const fault = faults.shift();
      if (fault) throw fault;
      return 'ok';
    });
    // WHEN it runs with retries
    // THEN it succeeds on the fourth attempt
    await expect(withRetries(call)).resolves.toBe('ok');
    expect(call).toHaveBeenCalledTimes(4);
  });

  it(`rethrows the last transient fault after ${MAX_TRANSIENT_ATTEMPTS} attempts`, async () => {
    const call = jest.fn(async () => {
      throw s3Error('InternalError', 500);
    });
    await expect(withRetries(call)).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(call).toHaveBeenCalledTimes(MAX_TRANSIENT_ATTEMPTS);
  });

  it.each(['AccessDenied', 'NoSuchBucket', 'NoSuchTagSet', 'NoSuchBucketPolicy'])('rethrows %s after one attempt', async (code) => {
    const call = jest.fn(async () => {
      throw s3Error(code, code === 'AccessDenied' ? 403 : 404);
    });
    await expect(withRetries(call)).rejects.toMatchObject({ name: code });
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('stops retrying when the signal aborts during a backoff', async () => {
    // GIVEN a real backoff of up to 100 ms and a signal that aborts at once
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);
    const abort = new AbortController();
    const call = jest.fn(async () => {
      abort.abort();
      throw s3Error('InternalError', 500);
    });
    // WHEN it runs
    // THEN the fault is rethrown after that one attempt
    await expect(withRetries(call, { signal: abort.signal })).rejects.toMatchObject({ name: 'InternalError' });
    expect(call).toHaveBeenCalledTimes(1);
  });
});

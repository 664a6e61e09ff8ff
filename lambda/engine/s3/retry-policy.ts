import { backoffMs, sleep } from './backoff';
import { MAX_TRANSIENT_ATTEMPTS, RETRY_BASE_MS, RETRY_CAP_MS, THROTTLE_CODES, TRANSIENT_CODES } from '../constants';
import { isThrottle, isTransient } from './s3-errors';

/**
 * The one retry policy of every S3 call the project makes. The S3 client
 * (s3-client.ts) applies it to every call; the engine's listing and deleting
 * loops, which retry on their own so that their rate controllers see every
 * SlowDown, ask it the same questions.
 */

/** What a failed S3 call calls for. */
export type FaultKind = 'throttle' | 'transient' | 'final';

/** Why a failed call is not tried again. */
export type GiveUpReason = 'final' | 'attempts' | 'deadline';

/** The policy's answer after a failed attempt. */
export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly why: GiveUpReason };

/** Limits of one call's retries. */
export interface RetryLimits {
  /**
   * Epoch ms. No retry is waited for past it: the run stops there anyway.
   * @default - none
   */
  readonly deadline?: number;
  /**
   * Most attempts, the first included.
   * @default MAX_TRANSIENT_ATTEMPTS
   */
  readonly maxAttempts?: number;
  /**
   * Retry throttles (SlowDown) without an attempt limit, until the deadline:
   * for callers that slow down through a rate controller instead.
   * @default false
   */
  readonly unboundedThrottles?: boolean;
}

/** Backoff of throttled calls: a throttle needs a longer pause than a one-off 500. */
const THROTTLE_BASE_MS = 200;

/**
 * Sorts an error into throttle (SlowDown and other "slow down" answers,
 * 503), transient (other 5xx, InternalError, ServiceUnavailable, request
 * timeouts, connection resets and timeouts) or final (everything else:
 * AccessDenied, NoSuchBucket, NoSuchTagSet, MalformedXML, …).
 */
export function faultKind(err: unknown): FaultKind {
  if (isThrottle(err)) return 'throttle';
  return isTransient(err) ? 'transient' : 'final';
}

/** Sorts the code of a per-key error inside a DeleteObjects 200 answer. */
export function keyFaultKind(code: string): FaultKind {
  if (THROTTLE_CODES.has(code)) return 'throttle';
  return TRANSIENT_CODES.has(code) ? 'transient' : 'final';
}

/**
 * Decides whether to try again after `attempt` failed attempts (1-based) of
 * a fault of `kind`, and how long to wait: exponential backoff with full
 * jitter, at most {@link RETRY_CAP_MS}.
 */
export function decideRetry(kind: FaultKind, attempt: number, limits: RetryLimits = {}, now = Date.now()): RetryDecision {
  if (kind === 'final') return { retry: false, why: 'final' };
  const bounded = !(kind === 'throttle' && limits.unboundedThrottles);
  if (bounded && attempt >= (limits.maxAttempts ?? MAX_TRANSIENT_ATTEMPTS)) return { retry: false, why: 'attempts' };
  const delayMs = backoffMs(attempt, kind === 'throttle' ? THROTTLE_BASE_MS : RETRY_BASE_MS, RETRY_CAP_MS);
  if (limits.deadline !== undefined && now + delayMs >= limits.deadline) return { retry: false, why: 'deadline' };
  return { retry: true, delayMs };
}

/** Options of {@link withRetries}. */
export interface WithRetriesOptions extends RetryLimits {
  /** Cuts a backoff short; the call is then not tried again. */
  readonly signal?: AbortSignal;
}

/** Runs `call` until it succeeds, or the policy gives up; then rethrows the last error. */
export async function withRetries<T>(call: () => Promise<T>, options: WithRetriesOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const next = decideRetry(faultKind(err), attempt, options);
      if (!next.retry || options.signal?.aborted) throw err;
      await sleep(next.delayMs, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}

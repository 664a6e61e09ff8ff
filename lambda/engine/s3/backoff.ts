import { setMaxListeners } from 'node:events';
import { RETRY_BASE_MS, RETRY_CAP_MS } from '../constants';

/** Exponential backoff with full jitter for the given attempt (1-based). */
export function backoffMs(attempt: number, baseMs = RETRY_BASE_MS, capMs = RETRY_CAP_MS): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.random() * ceiling);
}

/** Resolves after `ms`, or early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  // Every batch and listing stream of a run may be backing off on the run's one
  // signal at once (dozens when S3 is having a bad minute): not a listener leak,
  // so Node's warning at 11 listeners would only pollute stderr.
  if (signal) setMaxListeners(0, signal);
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

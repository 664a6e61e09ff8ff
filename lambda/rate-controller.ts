import { sleep } from './backoff';

/** Tuning of {@link RateController}. */
export interface RateControllerOptions {
  /** Keys per second before anything is known. @default 2000 */
  readonly initialRate?: number;
  /** Fraction kept on a throttle. @default 0.85 */
  readonly decrease?: number;
  /** Floor, keys/s. @default 50 */
  readonly minRate?: number;
}

/**
 * Paces the keys sent to one S3 partition and adapts the rate to SlowDown
 * answers (AIMD). S3 limits deletes per partitioned prefix and counts every
 * key of a DeleteObjects request, so pacing by keys rather than by requests
 * in flight is what keeps a prefix near its ceiling without a burst of 503s.
 *
 * - Until the first throttle it grows the rate by half on each batch that had
 *   to wait for the pacer (slow start; a rate that is not the bottleneck does
 *   not grow).
 * - A throttle cuts the rate to `decrease` × the rate at that moment and
 *   remembers it as the ceiling estimate; answers to requests sent before the
 *   cut do not cut again.
 * - Afterwards it closes a tenth of the gap to the ceiling estimate per
 *   batch and probes slowly past it, so it finds more room when S3 scales
 *   the partition up.
 */
export class RateController {
  private rate: number;
  private ceiling: number | undefined;
  private nextSendAt = 0;
  private lastCutAt = 0;
  private limitedSinceLastGrowth = false;
  private readonly decrease: number;
  private readonly minRate: number;
  /** Throttles seen (all, including those that did not cut). */
  throttles = 0;

  constructor(options: RateControllerOptions = {}) {
    this.rate = options.initialRate ?? 2000;
    this.decrease = options.decrease ?? 0.85;
    this.minRate = options.minRate ?? 50;
  }

  /** Current rate, keys/s. */
  get currentRate(): number {
    return this.rate;
  }

  /** Waits until `keys` may be sent; returns the send time to hand back to `onThrottle`. */
  async acquire(keys: number, signal?: AbortSignal): Promise<number> {
    const now = Date.now();
    const start = Math.max(now, this.nextSendAt);
    this.nextSendAt = start + (keys / this.rate) * 1000;
    if (start > now) {
      this.limitedSinceLastGrowth = true;
      await sleep(start - now, signal);
    }
    return Date.now();
  }

  /** A batch of `keys` went through without throttling. */
  onSuccess(keys: number): void {
    const batches = Math.max(keys, 1) / 1000;
    if (this.ceiling === undefined) {
      if (this.limitedSinceLastGrowth) this.rate *= 1 + 0.5 * Math.min(1, batches);
    } else {
      const gap = this.ceiling - this.rate;
      if (gap > 0) this.rate += gap * 0.1 * Math.min(1, batches);
      this.rate += this.ceiling * 0.002 * Math.min(1, batches);
    }
    this.limitedSinceLastGrowth = false;
  }

  /** A request sent at `sentAt` was throttled. */
  onThrottle(sentAt: number): void {
    this.throttles++;
    if (sentAt < this.lastCutAt) return;
    this.ceiling = this.rate;
    this.rate = Math.max(this.minRate, this.rate * this.decrease);
    this.lastCutAt = Date.now();
    // Let the partition's bucket refill a little before the next send.
    this.nextSendAt = Math.max(this.nextSendAt, Date.now() + 1000 / Math.max(1, this.rate / 1000));
  }
}

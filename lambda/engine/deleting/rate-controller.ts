import { sleep } from '../s3/backoff';

/** Tuning of {@link RateController}. */
export interface RateControllerOptions {
  /** Keys per second before anything is known. @default 2000 */
  readonly initialRate?: number;
  /** Fraction kept on a throttle once slow start is over. @default 0.85 */
  readonly decrease?: number;
  /** Fraction kept on the first throttle, which ends slow start. @default 0.5 */
  readonly slowStartDecrease?: number;
  /** Floor, keys/s. @default 50 */
  readonly minRate?: number;
}

/**
 * Paces the keys sent to one S3 partition and adapts the rate to SlowDown
 * answers (AIMD). S3 limits deletes per partitioned prefix and counts every
 * key of a DeleteObjects request, so pacing by keys rather than by requests
 * in flight is what keeps a prefix near its ceiling without a burst of 503s.
 *
 * - Callers are let through one at a time, and the gap after each send is set
 *   when it is sent, from the rate of that moment, so a cut slows down every
 *   batch still waiting.
 * - Until the first throttle it grows the rate by half per second of sending
 *   that had to wait for the pacer (slow start; a rate that is not the
 *   bottleneck does not grow).
 * - The first throttle ends slow start and halves the rate: a partition that
 *   allows a burst lets slow start run far past its sustained rate before the
 *   first 503. The halved rate is the ceiling estimate.
 * - Later throttles cut the rate to `decrease` × its value and put the ceiling
 *   estimate halfway between the throttled rate and the cut one, just under
 *   where the 503 came; answers to requests sent before a cut do not cut again.
 * - After a cut it closes a tenth of the gap to the ceiling estimate per
 *   batch and probes slowly past it, so it finds more room when S3 scales
 *   the partition up.
 *
 * Tuned on the S3 model; the measurements and the tuning story are in
 * bench/README.md ("Tuning").
 */
export class RateController {
  private rate: number;
  private ceiling: number | undefined;
  private nextSendAt = 0;
  private lastCutAt = 0;
  private limitedSinceLastGrowth = false;
  /** Callers waiting for their turn, in order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly decrease: number;
  private readonly slowStartDecrease: number;
  private readonly minRate: number;
  /** Throttles seen (all, including those that did not cut). */
  throttles = 0;

  constructor(options: RateControllerOptions = {}) {
    this.rate = options.initialRate ?? 2000;
    this.decrease = options.decrease ?? 0.85;
    this.slowStartDecrease = options.slowStartDecrease ?? 0.5;
    this.minRate = options.minRate ?? 50;
  }

  /** Current rate, keys/s. */
  get currentRate(): number {
    return this.rate;
  }

  /** Waits until `keys` may be sent; returns the send time to hand back to `onThrottle`. */
  async acquire(keys: number, signal?: AbortSignal): Promise<number> {
    const turn = this.queue.then(() => this.waitForTurn(keys, signal));
    this.queue = turn;
    await turn;
    return Date.now();
  }

  private async waitForTurn(keys: number, signal?: AbortSignal): Promise<void> {
    for (let now = Date.now(); now < this.nextSendAt && signal?.aborted !== true; now = Date.now()) {
      this.limitedSinceLastGrowth = true;
      await sleep(this.nextSendAt - now, signal);
    }
    this.nextSendAt = Math.max(Date.now(), this.nextSendAt) + (keys / this.rate) * 1000;
  }

  /** A batch of `keys` went through without throttling. */
  onSuccess(keys: number): void {
    const batches = Math.min(1, Math.max(keys, 1) / 1000);
    if (this.ceiling === undefined) {
      // Half per second of sending: the batch kept the pacer busy for keys / rate seconds.
      if (this.limitedSinceLastGrowth) this.rate *= 1.5 ** Math.min(1, Math.max(keys, 1) / this.rate);
    } else {
      const gap = this.ceiling - this.rate;
      if (gap > 0) this.rate += gap * 0.1 * batches;
      this.rate += this.ceiling * 0.002 * batches;
    }
    this.limitedSinceLastGrowth = false;
  }

  /** A request sent at `sentAt` was throttled. */
  onThrottle(sentAt: number): void {
    this.throttles++;
    if (sentAt < this.lastCutAt) return;
    const throttledAt = this.rate;
    if (this.ceiling === undefined) {
      this.rate = Math.max(this.minRate, throttledAt * this.slowStartDecrease);
      this.ceiling = this.rate;
    } else {
      this.rate = Math.max(this.minRate, throttledAt * this.decrease);
      this.ceiling = (throttledAt + this.rate) / 2;
    }
    this.lastCutAt = Date.now();
    // Let the partition's bucket refill a little before the next send.
    this.nextSendAt = Math.max(this.nextSendAt, Date.now() + 1000 / Math.max(1, this.rate / 1000));
  }
}

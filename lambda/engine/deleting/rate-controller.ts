import { sleep } from '../s3/backoff';
import { MAX_KEYS_PER_DELETE } from '../constants';

/** Time as the controller sees it; tests and the bench's simulation pass a fake one. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep };

/** Tuning of {@link RateController}. */
export interface RateControllerOptions {
  /** Keys per second before anything is known (S3's documented DELETE rate per prefix). @default 3500 */
  readonly initialRate?: number;
  /** Fraction kept on a throttle that cannot be measured against an earlier one. @default 0.7 */
  readonly decrease?: number;
  /** Floor, keys/s. @default 50 */
  readonly minRate?: number;
  readonly clock?: Clock;
}

/** One request's place in the controller's record, handed back on a throttle. */
export interface SendTicket {
  /** When it was let through (clock ms). */
  readonly at: number;
  /** Keys let through before it, all requests counted. */
  readonly sentBefore: number;
  readonly keys: number;
}

/** A throttle: the partition had fewer tokens than the request's keys when it arrived. */
interface EmptyPoint extends SendTicket {
  /** Keys of throttled requests recorded before this one. */
  readonly throttledBefore: number;
}

/** Slow start: growth of the rate per second of sending that had to wait for the pacer. */
const SLOW_START_GROWTH = 2;
/** A batch is at most this much of the partition's rate, so that one request is never a long debt of tokens. */
const BATCH_SECONDS = 0.25;
const MIN_BATCH_KEYS = 100;
/** Before the rate is known, batches are smaller: those queued when the first throttle comes are sent at the cut rate. */
const SLOW_START_BATCH_SECONDS = 0.1;
/** Two throttles this far apart (ms) or more measure the partition's rate. */
const MIN_MEASURE_MS = 1000;
/** A measurement is used only when what the bucket may have held at either end is at most this fraction of it. */
const MAX_UNCERTAINTY = 0.1;
/** Throttles older than this (ms) are forgotten: a partition S3 has scaled since says nothing of today's rate. */
const MEASURE_MEMORY_MS = 30_000;
/** After a measurement, send at this fraction of it, and probe past it by this much (of it) per second of sending. */
const MEASURED_MARGIN = 0.98;
const PROBE_PER_SECOND = 0.02;
/**
 * The probe near a rate measured between two throttles: a quarter as steep,
 * so that a long run meets the next throttle about half as often. Past
 * {@link NEAR_MEASURED} × the measurement without a throttle, the partition
 * has grown (S3 scaled it) and the probe is steep again.
 */
const PROBE_NEAR_PER_SECOND = 0.005;
const NEAR_MEASURED = 1.05;
/**
 * The first throttle has no earlier one to measure against: the keys admitted so
 * far also spent the partition's burst, so divide by the time plus this much burst.
 */
const ASSUMED_BURST_SECONDS = 1;
/** S3's documented DELETE rate per partitioned prefix, keys/s: where slow start begins. */
export const DOCUMENTED_RATE = 3500;
/** Sends remembered for the first estimate: at S3's 3,500/s in 100-key batches, over a minute and a half of slow start. */
const MAX_SENDS_KEPT = 4096;
/** How far ahead of the pacer a stream may queue batches (ms): batches are then cut at about the rate they are sent at. */
const LOOKAHEAD_MS = 1000;

/**
 * Paces the keys sent to one S3 partition and finds the partition's rate
 * from its SlowDown answers. S3 limits deletes per partitioned prefix and
 * counts every key of a DeleteObjects request, so pacing by keys rather than
 * by requests in flight is what keeps a prefix at its ceiling.
 *
 * - Callers are let through one at a time, and the gap after each send is set
 *   when it is sent, from the rate of that moment, so a cut slows down every
 *   batch still waiting.
 * - Until the first throttle the rate doubles per second of sending that had
 *   to wait for the pacer (slow start; a rate that is not the bottleneck does
 *   not grow).
 * - A throttle means the partition's token bucket was empty when the request
 *   arrived. Between two such moments S3 admitted exactly its rate (give or
 *   take one batch), so the keys admitted between two throttles at least a
 *   second apart, over the time between them, measure the rate; the
 *   controller then sends just under it and probes slowly past it, which
 *   drains whatever the bucket saved meanwhile and finds more room when S3
 *   scales the partition up. The probe is gentler while it is within 5 % of
 *   such a measurement: a long run at a partition's ceiling meets about half
 *   as many throttles.
 * - The first throttle ends slow start: the most keys admitted over any window
 *   ending at it, over the window plus a second of burst, estimate the rate
 *   (see `firstEstimate`). A throttle too soon
 *   after another to measure cuts the rate to `decrease` × its value; answers
 *   to requests sent before a cut do not cut again.
 * - Batches are at most a quarter second of the rate, so at a low rate one
 *   request is not seconds of tokens (which the partition could refuse even
 *   below its rate), and a throttle costs a small request.
 *
 * Tuned on the S3 model's sweep; the measurements and the tuning story are in
 * bench/README.md.
 */
export class RateController {
  private rate: number;
  /** The last measured rate; undefined in slow start. */
  private measured: number | undefined;
  /** Whether `measured` was measured between two throttles, rather than estimated at the first or cut to. */
  private confirmed = false;
  private nextSendAt = 0;
  private lastCutAt = Number.NEGATIVE_INFINITY;
  private limitedSinceLastGrowth = false;
  private startedAt: number | undefined;
  private sent = 0;
  /** Keys waiting for their turn. */
  private queuedKeys = 0;
  private throttledKeys = 0;
  /** Recent throttles, oldest first. */
  private empties: EmptyPoint[] = [];
  /** Until the first throttle: when each batch was sent, and the keys sent before it (for the first estimate). */
  private sends: Array<{ readonly at: number; readonly sentBefore: number }> = [];
  /** Callers waiting for their turn, in order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly decrease: number;
  private readonly minRate: number;
  private readonly clock: Clock;
  /** Throttles seen (all, including those that did not cut). */
  throttles = 0;

  constructor(options: RateControllerOptions = {}) {
    this.rate = options.initialRate ?? DOCUMENTED_RATE;
    this.decrease = options.decrease ?? 0.7;
    this.minRate = options.minRate ?? 50;
    this.clock = options.clock ?? systemClock;
  }

  /** Current rate, keys/s. */
  get currentRate(): number {
    return this.rate;
  }

  /** How many keys a DeleteObjects request to this partition should carry now. */
  batchKeys(): number {
    const seconds = this.measured === undefined ? SLOW_START_BATCH_SECONDS : BATCH_SECONDS;
    const keys = Math.round((this.rate * seconds) / 50) * 50;
    return Math.min(MAX_KEYS_PER_DELETE, Math.max(MIN_BATCH_KEYS, keys));
  }

  /**
   * Waits while the batches already queued here take more than a second to
   * send, so that a stream lists only as far ahead as this partition deletes.
   */
  async roomToQueue(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const ahead = Math.max(0, this.nextSendAt - this.clock.now()) + (this.queuedKeys / this.rate) * 1000;
      if (ahead <= LOOKAHEAD_MS || signal?.aborted === true) return;
      await this.clock.sleep(ahead - LOOKAHEAD_MS, signal);
    }
  }

  /** Waits until `keys` may be sent; returns the ticket to hand back to `onThrottle`. */
  async acquire(keys: number, signal?: AbortSignal): Promise<SendTicket> {
    this.queuedKeys += keys;
    const turn = this.queue.then(() => this.waitForTurn(keys, signal));
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await turn;
    } finally {
      this.queuedKeys -= keys;
    }
  }

  private async waitForTurn(keys: number, signal?: AbortSignal): Promise<SendTicket> {
    for (let now = this.clock.now(); now < this.nextSendAt && signal?.aborted !== true; now = this.clock.now()) {
      this.limitedSinceLastGrowth = true;
      await this.clock.sleep(this.nextSendAt - now, signal);
    }
    const at = this.clock.now();
    this.startedAt ??= at;
    this.nextSendAt = Math.max(at, this.nextSendAt) + (keys / this.rate) * 1000;
    const ticket = { at, sentBefore: this.sent, keys };
    if (this.empties.length === 0 && this.sends.length < MAX_SENDS_KEPT) this.sends.push(ticket);
    this.sent += keys;
    return ticket;
  }

  /** A batch of `keys` went through without throttling. */
  onSuccess(keys: number): void {
    const seconds = Math.max(keys, 1) / this.rate;
    if (this.measured === undefined) {
      if (this.limitedSinceLastGrowth) this.rate *= SLOW_START_GROWTH ** Math.min(1, seconds);
    } else {
      // Just under the measured rate; probing past it drains what the bucket saved and finds a partition S3 scaled up.
      const slope = this.confirmed && this.rate < this.measured * NEAR_MEASURED ? PROBE_NEAR_PER_SECOND : PROBE_PER_SECOND;
      this.rate += this.measured * slope * Math.min(1, seconds);
    }
    this.limitedSinceLastGrowth = false;
  }

  /** The request of `ticket` was throttled. */
  onThrottle(ticket: SendTicket): void {
    this.throttles++;
    const now = this.clock.now();
    const point: EmptyPoint = { ...ticket, throttledBefore: this.throttledKeys };
    this.throttledKeys += ticket.keys;
    this.empties = this.empties.filter((p) => now - p.at <= MEASURE_MEMORY_MS);
    this.empties.push(point);
    if (ticket.at < this.lastCutAt) return;
    const found = this.measure(point);
    if (found !== undefined) {
      this.confirmed = found.betweenThrottles;
      this.measured = found.rate;
      this.rate = Math.max(this.minRate, found.rate * MEASURED_MARGIN);
    } else {
      this.rate = Math.max(this.minRate, this.rate * this.decrease);
      // The cut rate is the new target: climbing back to an older measurement would only meet the same 503.
      if (this.measured !== undefined) this.measured = this.rate / MEASURED_MARGIN;
      this.confirmed = false;
    }
    this.lastCutAt = now;
    // The bucket is empty: let it refill one batch before the next send.
    this.nextSendAt = Math.max(this.nextSendAt, now + (this.batchKeys() / this.rate) * 1000);
  }

  /**
   * Keys per second the partition admitted between an earlier throttle and
   * this one, or, at the first throttle, since the start. Between two throttles
   * S3 admitted its rate × the time between them, give or take what the
   * bucket held at each (less than the refused batch): the estimate counts
   * half of each and is used only when that uncertainty is under a tenth;
   * `betweenThrottles` is false for the first throttle's estimate.
   */
  private measure(at: EmptyPoint): { readonly rate: number; readonly betweenThrottles: boolean } | undefined {
    for (const earlier of this.empties) {
      const seconds = (at.at - earlier.at) / 1000;
      if (seconds * 1000 < MIN_MEASURE_MS) break;
      const sentBetween = at.sentBefore - (earlier.sentBefore + earlier.keys);
      const throttledBetween = this.empties.filter((p) => p.at > earlier.at && p.at < at.at).reduce((sum, p) => sum + p.keys, 0);
      const rate = (sentBetween - throttledBetween + (at.keys - earlier.keys) / 2) / seconds;
      const uncertainty = (at.keys + earlier.keys) / 2 / seconds;
      if (uncertainty <= MAX_UNCERTAINTY * rate) return { rate, betweenThrottles: true };
    }
    if (this.measured !== undefined || this.empties.length > 1 || this.startedAt === undefined) return undefined;
    return { rate: this.firstEstimate(at), betweenThrottles: false };
  }

  /**
   * The rate at the first throttle. The partition's bucket is empty now. Over
   * the window since it was last full, S3 admitted its burst plus its rate ×
   * the window; over any window ending now that starts earlier, less (the full
   * bucket overflowed, and those tokens were lost), and over any that starts
   * later, less too (the bucket held less than a burst). So the rate is the
   * most that any window ending now admitted, over the window plus the burst
   * (taken as a second of the rate). Counting from the start only would take a
   * slow start (a stream that lists more slowly than the partition deletes, a
   * split not yet made) for the partition's rate.
   */
  private firstEstimate(at: EmptyPoint): number {
    // The bucket held somewhere between none and all of the refused batch's keys: count half.
    const admittedSince = (sentBefore: number) => at.sentBefore - sentBefore - at.throttledBefore + at.keys / 2;
    let best = admittedSince(0) / ((at.at - this.startedAt!) / 1000 + ASSUMED_BURST_SECONDS);
    for (const send of this.sends) {
      if (send.at >= at.at) break;
      best = Math.max(best, admittedSince(send.sentBefore) / ((at.at - send.at) / 1000 + ASSUMED_BURST_SECONDS));
    }
    this.sends = [];
    return best;
  }
}

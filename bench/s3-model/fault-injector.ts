/** How often the model misbehaves on purpose; every rate is a fraction from 0 to 1. */
export interface FaultSettings {
  /** Requests answered 500 InternalError, before they are applied. */
  readonly internalErrorRate: number;
  /**
   * Requests whose connection is dropped without an answer. Half of them are
   * dropped before the request is applied, half after it (the answer is lost):
   * a retry must be harmless either way.
   */
  readonly connectionResetRate: number;
  /** Keys inside a DeleteObjects answered InternalError in its 200 answer (and not deleted). */
  readonly keyErrorRate: number;
  /** Seed of the faults' random sequence. */
  readonly faultSeed: number;
}

/** What to do to one request. */
export type RequestFault = 'none' | 'internal-error' | 'reset-before' | 'reset-after';

/** Faults injected so far. */
export interface FaultCounts {
  readonly internalErrors: number;
  readonly connectionResets: number;
  readonly keyInternalErrors: number;
}

/**
 * mulberry32: a tiny seeded generator, so that a seed gives the same sequence
 * of faults. The sequence is drawn in request arrival order, so concurrent
 * clients see the same fault rates run after run, not the same faulty requests.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws the model's injected faults from one seeded sequence and counts them. */
export class FaultInjector {
  private random: () => number;
  private settings: FaultSettings;
  private counts = { internalErrors: 0, connectionResets: 0, keyInternalErrors: 0 };

  constructor(settings: FaultSettings) {
    this.settings = settings;
    this.random = seededRandom(settings.faultSeed);
  }

  /** New rates apply from the next request; a new seed restarts the sequence. */
  configure(settings: FaultSettings): void {
    if (settings.faultSeed !== this.settings.faultSeed) this.random = seededRandom(settings.faultSeed);
    this.settings = settings;
  }

  /** Restarts the sequence from the seed and zeroes the counts. */
  reset(): void {
    this.random = seededRandom(this.settings.faultSeed);
    this.counts = { internalErrors: 0, connectionResets: 0, keyInternalErrors: 0 };
  }

  /** Decides the fate of one S3 request. */
  forRequest(): RequestFault {
    const { internalErrorRate, connectionResetRate } = this.settings;
    if (internalErrorRate === 0 && connectionResetRate === 0) return 'none';
    const draw = this.random();
    if (draw < internalErrorRate) {
      this.counts.internalErrors++;
      return 'internal-error';
    }
    if (draw < internalErrorRate + connectionResetRate) {
      this.counts.connectionResets++;
      return this.random() < 0.5 ? 'reset-before' : 'reset-after';
    }
    return 'none';
  }

  /** True when this key of a DeleteObjects is to be answered InternalError. */
  failKey(): boolean {
    if (this.settings.keyErrorRate === 0 || this.random() >= this.settings.keyErrorRate) return false;
    this.counts.keyInternalErrors++;
    return true;
  }

  get injected(): FaultCounts {
    return { ...this.counts };
  }
}

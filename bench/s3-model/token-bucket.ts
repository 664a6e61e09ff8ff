/**
 * S3's per-prefix request rate limit, modelled as one token bucket per
 * (bucket, partition). A request is admitted only if every partition it
 * touches can pay in full; otherwise nothing is charged and it gets a 503.
 */

export interface ThrottleSettings {
  /** Tokens (keys) per second per partition; 0 switches throttling off. */
  readonly ratePerSecond: number;
  /** Bucket capacity, in seconds of tokens. */
  readonly burstSeconds: number;
}

/** The partition S3 would charge: the key up to and including its first '/', or "" without one. */
export function partitionOf(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash + 1);
}

interface Tokens {
  available: number;
  updatedMs: number;
}

export class PartitionThrottle {
  private partitions = new Map<string, Tokens>();

  constructor(
    private settings: ThrottleSettings,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.settings.ratePerSecond > 0;
  }

  /** Changes the rate and refills every partition. */
  configure(settings: ThrottleSettings): void {
    this.settings = settings;
    this.partitions.clear();
  }

  reset(): void {
    this.partitions.clear();
  }

  /**
   * Charges `costs` (partition id → tokens) all or nothing. Partition ids
   * must already include the bucket name.
   */
  tryTake(costs: ReadonlyMap<string, number>): boolean {
    if (!this.enabled) return true;
    const now = this.clock();
    const capacity = this.settings.ratePerSecond * this.settings.burstSeconds;
    const charged: Array<[Tokens, number]> = [];
    for (const [partition, cost] of costs) {
      const tokens = this.refilled(partition, now, capacity);
      if (tokens.available < cost) return false;
      charged.push([tokens, cost]);
    }
    for (const [tokens, cost] of charged) tokens.available -= cost;
    return true;
  }

  private refilled(partition: string, now: number, capacity: number): Tokens {
    let tokens = this.partitions.get(partition);
    if (!tokens) {
      tokens = { available: capacity, updatedMs: now };
      this.partitions.set(partition, tokens);
    } else {
      const earned = ((now - tokens.updatedMs) / 1000) * this.settings.ratePerSecond;
      tokens.available = Math.min(capacity, tokens.available + earned);
      tokens.updatedMs = now;
    }
    return tokens;
  }
}

/** Tokens per partition for a request touching `keys` in `bucket`, one token per key. */
export function costByPartition(bucket: string, keys: Iterable<string>): Map<string, number> {
  const costs = new Map<string, number>();
  for (const key of keys) {
    const id = `${bucket}\u0000${partitionOf(key)}`;
    costs.set(id, (costs.get(id) ?? 0) + 1);
  }
  return costs;
}

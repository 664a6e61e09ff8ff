/**
 * Runs a pass's streams, at most `limit` at once, in the order added.
 * Streams may be added while others run (a split adds ranges of a running
 * stream: stream-splitter.ts); {@link done} waits for those too.
 */
export class StreamPool<T> {
  private readonly queue: T[] = [];
  private readonly workers: Array<Promise<void>> = [];
  private active = 0;

  constructor(
    private readonly limit: number,
    private readonly work: (item: T) => Promise<void>,
  ) {}

  /** How many more streams could start now without waiting for a worker. */
  get free(): number {
    return Math.max(0, this.limit - this.active - this.queue.length);
  }

  add(items: readonly T[]): void {
    this.queue.push(...items);
    while (this.active < this.limit && this.queue.length > 0) {
      this.active++;
      const worker = this.takeTurns();
      // done() reports the first error; a worker added after done() has given up must not crash Node unhandled.
      worker.catch(() => undefined);
      this.workers.push(worker);
    }
  }

  /** Settles once every stream added has run; rejects with the first error a stream threw (see {@link settled}). */
  async done(): Promise<void> {
    for (let awaited = 0; awaited < this.workers.length; ) {
      const more = this.workers.slice(awaited);
      awaited = this.workers.length;
      await Promise.all(more);
    }
  }

  /**
   * Drops the streams not started, and settles once every worker has ended,
   * errors or not: after done() rejected, the other streams are still running
   * until the caller stops them, and a failed run must not leave them listing
   * and deleting behind it.
   */
  async settled(): Promise<void> {
    this.queue.length = 0;
    for (let awaited = 0; awaited < this.workers.length; ) {
      awaited = this.workers.length;
      await Promise.allSettled(this.workers.slice(0, awaited));
    }
  }

  private async takeTurns(): Promise<void> {
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) await this.work(item);
    } finally {
      this.active--;
    }
  }
}

/**
 * Counts permits for tasks that outlive the call that started them: a lister
 * takes a permit before starting a delete and the delete gives it back when
 * done. (p-limit wraps a function call, which does not fit that shape.)
 */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<() => void> = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new TypeError(`permits must be an integer >= 1, got ${permits}`);
    this.available = permits;
  }

  /** Permits in use right now. */
  inUse(total: number): number {
    return total - this.available;
  }

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available++;
  }
}

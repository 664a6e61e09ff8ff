import type { FaultCounts } from './fault-injector';
import type { ModelStore } from './store';

export interface BucketStats {
  readonly keys: number;
  readonly objectVersions: number;
  readonly deleteMarkers: number;
  /** Versions plus delete markers: what still blocks DeleteBucket. */
  readonly versionsRemaining: number;
}

export interface StatsSnapshot {
  readonly buckets: Record<string, BucketStats>;
  /** Requests answered 503 SlowDown by the throttle. */
  readonly slowDown503: number;
  readonly requestsByOperation: Record<string, number>;
  readonly errorsByCode: Record<string, number>;
  /** Versions and delete markers removed by delete calls. */
  readonly keysDeleted: number;
  readonly deleteMarkersCreated: number;
  readonly objectsPut: number;
  /** Keys carried by DeleteObjects calls that were admitted (not throttled). */
  readonly deleteObjectsKeys: number;
  readonly inFlight: number;
  readonly peakInFlight: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Injected faults (500s are also in errorsByCode.InternalError). */
  readonly faultsInjected: FaultCounts;
}

function increment(counts: Record<string, number>, name: string, by = 1): void {
  counts[name] = (counts[name] ?? 0) + by;
}

/** Request-level counters; storage-level counters live in the store. */
export class RequestStats {
  private requestsByOperation: Record<string, number> = {};
  private errorsByCode: Record<string, number> = {};
  private slowDowns = 0;
  private deleteObjectsKeys = 0;
  private inFlight = 0;
  private peakInFlight = 0;

  requestStarted(): void {
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
  }

  requestFinished(): void {
    this.inFlight--;
  }

  operation(name: string): void {
    increment(this.requestsByOperation, name);
  }

  error(code: string): void {
    increment(this.errorsByCode, code);
    if (code === 'SlowDown') this.slowDowns++;
  }

  deleteObjectsAdmitted(keys: number): void {
    this.deleteObjectsKeys += keys;
  }

  reset(): void {
    this.requestsByOperation = {};
    this.errorsByCode = {};
    this.slowDowns = 0;
    this.deleteObjectsKeys = 0;
    this.peakInFlight = this.inFlight;
  }

  snapshot(store: ModelStore): Omit<StatsSnapshot, 'faultsInjected'> {
    const buckets: Record<string, BucketStats> = {};
    for (const b of store.allBuckets()) {
      buckets[b.name] = {
        keys: b.keys.size,
        objectVersions: b.objectVersionCount,
        deleteMarkers: b.deleteMarkerCount,
        versionsRemaining: b.entryCount,
      };
    }
    const memory = process.memoryUsage();
    return {
      buckets,
      slowDown503: this.slowDowns,
      requestsByOperation: { ...this.requestsByOperation },
      errorsByCode: { ...this.errorsByCode },
      keysDeleted: store.counters.versionsRemoved,
      deleteMarkersCreated: store.counters.deleteMarkersCreated,
      objectsPut: store.counters.objectsPut,
      deleteObjectsKeys: this.deleteObjectsKeys,
      inFlight: this.inFlight,
      peakInFlight: this.peakInFlight,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    };
  }
}

import { setTimeout as sleep } from 'node:timers/promises';

/** Service time per request, in milliseconds. */
export interface LatencySettings {
  /** Per ListObjectVersions / ListObjects page. */
  readonly listMs: number;
  /** DeleteObjects: fixed part … */
  readonly deleteBaseMs: number;
  /** … plus this much per key in the request. */
  readonly deletePerKeyMs: number;
  /** Every other S3 operation, including error and 503 answers. */
  readonly otherMs: number;
  /** Relative jitter: 0.1 spreads each delay uniformly over ±10 %. */
  readonly jitter: number;
}

export const DEFAULT_LATENCY: LatencySettings = {
  listMs: 120,
  deleteBaseMs: 200,
  deletePerKeyMs: 0.25,
  otherMs: 20,
  jitter: 0.1,
};

export const NO_LATENCY: LatencySettings = { listMs: 0, deleteBaseMs: 0, deletePerKeyMs: 0, otherMs: 0, jitter: 0 };

export type LatencyClass = { kind: 'list' } | { kind: 'deleteObjects'; keys: number } | { kind: 'other' };

export function nominalDelayMs(settings: LatencySettings, request: LatencyClass): number {
  switch (request.kind) {
    case 'list':
      return settings.listMs;
    case 'deleteObjects':
      return settings.deleteBaseMs + settings.deletePerKeyMs * request.keys;
    case 'other':
      return settings.otherMs;
  }
}

export function withJitter(ms: number, jitter: number, random: () => number = Math.random): number {
  return Math.max(0, ms * (1 + jitter * (2 * random() - 1)));
}

/** Waits out the modelled service time on a timer. */
export async function serviceDelay(settings: LatencySettings, request: LatencyClass): Promise<void> {
  const ms = withJitter(nominalDelayMs(settings, request), settings.jitter);
  if (ms > 0) await sleep(ms);
}

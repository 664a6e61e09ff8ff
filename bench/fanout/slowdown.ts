import { DEFAULT_CONFIG, type ModelConfig } from '../s3-model/model-config';

/**
 * The S3 model slowed down uniformly by `factor`: every latency × factor,
 * the per-partition rate ÷ factor, and the token bucket's burst × factor in
 * seconds, so it holds the same number of tokens (3,500) and a 1,000-key
 * DeleteObjects still fits. Requests per key and the shape of every
 * exchange stay as at full speed; only time stretches, so the machine does
 * 1/factor of the work per second. The engine's own clocks (slow start,
 * back-off, the rate controller's initial 2,000 keys/s) do not stretch: at
 * factor 10 it starts at 5.7× a partition's rate instead of 0.57×, which
 * shows in the throttled share.
 */
export function slowedModel(factor: number): Partial<ModelConfig> {
  if (!(factor >= 1)) throw new RangeError(`the slowdown must be at least 1, got ${factor}`);
  return {
    listLatencyMs: DEFAULT_CONFIG.listLatencyMs * factor,
    deleteBaseMs: DEFAULT_CONFIG.deleteBaseMs * factor,
    deletePerKeyMs: DEFAULT_CONFIG.deletePerKeyMs * factor,
    otherLatencyMs: DEFAULT_CONFIG.otherLatencyMs * factor,
    rate: DEFAULT_CONFIG.rate / factor,
    burstSeconds: DEFAULT_CONFIG.burstSeconds * factor,
  };
}

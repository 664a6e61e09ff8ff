import type { FaultSettings } from './fault-injector';
import { DEFAULT_LATENCY, type LatencySettings } from './latency';
import type { ThrottleSettings } from './token-bucket';

/** Runtime settings of a model server; the same names are used by CLI flags and /__model/config. */
export interface ModelConfig {
  /** --list-latency-ms: per ListObjectVersions / ListObjects page. */
  readonly listLatencyMs: number;
  /** --delete-base-ms: fixed part of a DeleteObjects call. */
  readonly deleteBaseMs: number;
  /** --delete-per-key-ms: per key of a DeleteObjects call. */
  readonly deletePerKeyMs: number;
  /** --other-latency-ms: every other operation. */
  readonly otherLatencyMs: number;
  /** --jitter: relative, 0.1 = ±10 %. */
  readonly jitter: number;
  /** --rate: tokens (keys) per second per prefix partition; 0 disables throttling. */
  readonly rate: number;
  /** --burst-seconds: token bucket capacity in seconds of rate. */
  readonly burstSeconds: number;
  /** --no-throttle sets this to false. */
  readonly throttle: boolean;
  /** --internal-error-rate: fraction of requests answered 500 InternalError. */
  readonly internalErrorRate: number;
  /** --connection-reset-rate: fraction of requests whose connection is dropped without an answer. */
  readonly connectionResetRate: number;
  /** --key-error-rate: fraction of keys inside a DeleteObjects answered InternalError in its 200. */
  readonly keyErrorRate: number;
  /** --fault-seed: seed of the injected faults' random sequence. */
  readonly faultSeed: number;
}

export const DEFAULT_CONFIG: ModelConfig = {
  listLatencyMs: DEFAULT_LATENCY.listMs,
  deleteBaseMs: DEFAULT_LATENCY.deleteBaseMs,
  deletePerKeyMs: DEFAULT_LATENCY.deletePerKeyMs,
  otherLatencyMs: DEFAULT_LATENCY.otherMs,
  jitter: DEFAULT_LATENCY.jitter,
  rate: 3500,
  burstSeconds: 1,
  throttle: true,
  internalErrorRate: 0,
  connectionResetRate: 0,
  keyErrorRate: 0,
  faultSeed: 1,
};

/** No latency and no throttling: for functional tests. */
export const INSTANT_CONFIG: Partial<ModelConfig> = {
  listLatencyMs: 0,
  deleteBaseMs: 0,
  deletePerKeyMs: 0,
  otherLatencyMs: 0,
  jitter: 0,
  throttle: false,
};

const FRACTION_FIELDS = ['internalErrorRate', 'connectionResetRate', 'keyErrorRate'] as const;
const NUMERIC_FIELDS = ['listLatencyMs', 'deleteBaseMs', 'deletePerKeyMs', 'otherLatencyMs', 'jitter', 'rate', 'burstSeconds', 'faultSeed', ...FRACTION_FIELDS] as const;

export class ConfigError extends Error {}

/** Applies a partial update, rejecting unknown fields and negative or non-numeric values. */
export function updateConfig(current: ModelConfig, patch: unknown): ModelConfig {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new ConfigError('config must be a JSON object');
  const next: Record<string, number | boolean> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (name === 'throttle') {
      if (typeof value !== 'boolean') throw new ConfigError('throttle must be a boolean');
      next.throttle = value;
    } else if ((NUMERIC_FIELDS as readonly string[]).includes(name)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigError(`${name} must be a non-negative number`);
      if ((FRACTION_FIELDS as readonly string[]).includes(name) && value > 1) throw new ConfigError(`${name} must be a fraction from 0 to 1`);
      next[name] = value;
    } else {
      throw new ConfigError(`unknown config field ${name}`);
    }
  }
  return next as unknown as ModelConfig;
}

export function latencySettings(config: ModelConfig): LatencySettings {
  return {
    listMs: config.listLatencyMs,
    deleteBaseMs: config.deleteBaseMs,
    deletePerKeyMs: config.deletePerKeyMs,
    otherMs: config.otherLatencyMs,
    jitter: config.jitter,
  };
}

export function faultSettings(config: ModelConfig): FaultSettings {
  return {
    internalErrorRate: config.internalErrorRate,
    connectionResetRate: config.connectionResetRate,
    keyErrorRate: config.keyErrorRate,
    faultSeed: config.faultSeed,
  };
}

export function throttleSettings(config: ModelConfig): ThrottleSettings {
  return { ratePerSecond: config.throttle ? config.rate : 0, burstSeconds: config.burstSeconds };
}

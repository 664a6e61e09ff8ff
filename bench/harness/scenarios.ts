import type { ModelConfig } from '../s3-model/model-config';
import type { SeedSpec } from '../s3-model/seed';

/** `old` is the engine of an earlier build (`--old-cli`), measured side by side with this one. */
export type ContenderId = 'engine' | 'old' | 'cdk' | 'boto3';

/** The shape of a seeded bucket, without its name. */
export type Shape = Omit<SeedSpec, 'bucket' | 'tags' | 'policy'>;

export interface Scenario {
  /** Short id used by --scenario. */
  readonly id: string;
  /** One line for the table. */
  readonly title: string;
  /** Model settings that differ from the model's defaults (the model's own CLI flags are derived from them). */
  readonly model: Partial<ModelConfig>;
  /** What our engine empties. */
  readonly engine: Shape;
  /** What the baselines empty; smaller than `engine` where they would take too long. */
  readonly baseline: Shape;
  /** Which of issue #5's targets this scenario checks. */
  readonly target?: 'one-prefix' | 'many-prefixes';
  /**
   * A fault storm: the id of the same scenario without faults, run in the
   * same bench run so that throughput can be compared (selected with it).
   */
  readonly calm?: string;
  /** Only these contenders. @default - all chosen on the command line */
  readonly contenders?: readonly ContenderId[];
}

/** Model settings of the "other model" scenarios: 60 ms per list page, 400 ms per 1,000-key DeleteObjects, 2,000 keys/s. */
export const ALT_MODEL: Partial<ModelConfig> = { listLatencyMs: 60, deleteBaseMs: 150, deletePerKeyMs: 0.25, rate: 2000 };

/**
 * The fault storm of issue 16: 5% of requests answered 500 InternalError, 1%
 * of connections reset, 5% of the keys inside each DeleteObjects answered
 * InternalError in a 200. Fixed seed; on top of the default latency and throttling.
 */
export const STORM_MODEL: Partial<ModelConfig> = { internalErrorRate: 0.05, connectionResetRate: 0.01, keyErrorRate: 0.05, faultSeed: 16 };

const flat = (keys: number, versionsPerKey: number, prefixes: number): Shape => ({ keys, versionsPerKey, prefixes });
const hot = (hotKeyVersions: number, keys: number, versionsPerKey: number, prefixes: number): Shape => ({
  keys,
  versionsPerKey,
  prefixes,
  hotKeyVersions,
});

/**
 * The full benchmark. Baselines empty at most 100k versions (about 80–90 s
 * each here); their rate does not depend on the bucket size, since they list
 * one page and delete it, one after the other.
 */
export const FULL: readonly Scenario[] = [
  { id: '1p-100k', title: '1 prefix, 100k versions', target: 'one-prefix', model: {}, engine: flat(10_000, 10, 1), baseline: flat(10_000, 10, 1) },
  { id: '1p-1m', title: '1 prefix, 1M versions', target: 'one-prefix', model: {}, engine: flat(100_000, 10, 1), baseline: flat(10_000, 10, 1) },
  { id: '16p-100k', title: '16 prefixes, 100k versions', target: 'many-prefixes', model: {}, engine: flat(10_000, 10, 16), baseline: flat(10_000, 10, 16) },
  { id: '16p-1m', title: '16 prefixes, 1M versions', target: 'many-prefixes', model: {}, engine: flat(100_000, 10, 16), baseline: flat(10_000, 10, 16) },
  {
    id: 'hot-key',
    title: 'hot key: 1 key with 200k versions + 50k versions in 16 prefixes',
    model: {},
    engine: hot(200_000, 5_000, 10, 16),
    baseline: hot(50_000, 1_250, 10, 16),
  },
  {
    id: '16p-100k-unthrottled',
    title: '16 prefixes, 100k versions, throttling off',
    model: { throttle: false },
    engine: flat(10_000, 10, 16),
    baseline: flat(10_000, 10, 16),
  },
  {
    id: '1p-1m-unthrottled',
    title: '1 prefix, 1M versions, throttling off',
    model: { throttle: false },
    engine: flat(100_000, 10, 1),
    baseline: flat(10_000, 10, 1),
  },
  { id: 'alt-1p-100k', title: 'other model: 1 prefix, 100k versions', model: ALT_MODEL, engine: flat(10_000, 10, 1), baseline: flat(10_000, 10, 1) },
  { id: 'alt-16p-1m', title: 'other model: 16 prefixes, 1M versions', model: ALT_MODEL, engine: flat(100_000, 10, 16), baseline: flat(10_000, 10, 16) },
  {
    id: '16p-100k-storm',
    title: '16 prefixes, 100k versions, fault storm (5% 500s, 1% resets, 5% per-key errors)',
    model: STORM_MODEL,
    engine: flat(10_000, 10, 16),
    baseline: flat(10_000, 10, 16),
    calm: '16p-100k',
    contenders: ['engine'],
  },
];

/** A smoke run of a few minutes: the same scenarios, small. */
export const QUICK: readonly Scenario[] = [
  { id: '1p-20k', title: '1 prefix, 20k versions', target: 'one-prefix', model: {}, engine: flat(2_000, 10, 1), baseline: flat(1_000, 10, 1) },
  { id: '16p-50k', title: '16 prefixes, 50k versions', target: 'many-prefixes', model: {}, engine: flat(5_000, 10, 16), baseline: flat(1_000, 10, 16) },
  {
    id: 'hot-key',
    title: 'hot key: 1 key with 20k versions + 5k versions in 16 prefixes',
    model: {},
    engine: hot(20_000, 500, 10, 16),
    baseline: hot(5_000, 100, 10, 16),
  },
  {
    id: '16p-50k-unthrottled',
    title: '16 prefixes, 50k versions, throttling off',
    model: { throttle: false },
    engine: flat(5_000, 10, 16),
    baseline: flat(1_000, 10, 16),
  },
  { id: 'alt-1p-20k', title: 'other model: 1 prefix, 20k versions', model: ALT_MODEL, engine: flat(2_000, 10, 1), baseline: flat(1_000, 10, 1) },
  {
    id: '16p-50k-storm',
    title: '16 prefixes, 50k versions, fault storm (5% 500s, 1% resets, 5% per-key errors)',
    model: STORM_MODEL,
    engine: flat(5_000, 10, 16),
    baseline: flat(1_000, 10, 16),
    calm: '16p-50k',
    contenders: ['engine'],
  },
];

/** Versions a shape seeds (no delete markers are seeded). */
export function versionsOf(shape: Shape): number {
  return shape.keys * (shape.versionsPerKey ?? 1) + (shape.hotKeyVersions ?? 0);
}

/** Versions per throttle partition: each seeded prefix `pNN/`, plus `hot/` for the hot key. */
export function partitionLoads(shape: Shape): number[] {
  const groups = Math.max(1, shape.prefixes ?? 1);
  const loads: number[] = [];
  for (let g = 0; g < groups; g++) {
    const keys = Math.floor(shape.keys / groups) + (g < shape.keys % groups ? 1 : 0);
    if (keys > 0) loads.push(keys * (shape.versionsPerKey ?? 1));
  }
  if ((shape.hotKeyVersions ?? 0) > 0) loads.push(shape.hotKeyVersions ?? 0);
  return loads;
}

/** Model CLI flags for a scenario's settings. */
export function modelFlags(model: Partial<ModelConfig>): string[] {
  const names: Record<string, string> = {
    listLatencyMs: '--list-latency-ms',
    deleteBaseMs: '--delete-base-ms',
    deletePerKeyMs: '--delete-per-key-ms',
    otherLatencyMs: '--other-latency-ms',
    jitter: '--jitter',
    rate: '--rate',
    burstSeconds: '--burst-seconds',
    internalErrorRate: '--internal-error-rate',
    connectionResetRate: '--connection-reset-rate',
    keyErrorRate: '--key-error-rate',
    faultSeed: '--fault-seed',
  };
  const flags: string[] = [];
  for (const [field, value] of Object.entries(model)) {
    if (field === 'throttle') {
      if (value === false) flags.push('--no-throttle');
    } else if (names[field]) flags.push(names[field], String(value));
  }
  return flags;
}

/**
 * Matches ids against comma-separated patterns with `*` wildcards. A storm
 * scenario brings its calm one along: its result is a ratio to it.
 */
export function selectScenarios(all: readonly Scenario[], patterns: readonly string[]): Scenario[] {
  if (patterns.length === 0) return [...all];
  const regexes = patterns.map((p) => new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`));
  const matched = all.filter((s) => regexes.some((r) => r.test(s.id)));
  if (matched.length === 0) throw new Error(`no scenario matches ${patterns.join(',')}; known: ${all.map((s) => s.id).join(', ')}`);
  const wanted = new Set(matched.flatMap((s) => (s.calm ? [s.id, s.calm] : [s.id])));
  return all.filter((s) => wanted.has(s.id));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

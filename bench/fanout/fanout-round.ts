import { createS3Client } from '../../lambda/engine/s3/s3-client';
import type { ModelConfig } from '../s3-model/model-config';
import type { SeedResult, SeedSpec } from '../s3-model/seed';
import type { StatsSnapshot } from '../s3-model/stats';
import { planRanges } from './plan';
import { WorkerPool, type RangeOutcome } from './worker-pool';

/** The parts of ModelProcess (harness/model-process.ts) a round needs. */
export interface ModelHandle {
  readonly endpoint: string;
  seed(spec: SeedSpec): Promise<SeedResult>;
  stats(): Promise<StatsSnapshot>;
  configure(patch: Partial<ModelConfig>): Promise<ModelConfig>;
  cpuSeconds(): number;
}

/** One fan-out round: W workers empty one freshly seeded bucket. */
export interface RoundSpec {
  readonly workers: number;
  /** Top-level folders p00/ … seeded, one range each. */
  readonly partitions: number;
  /** Keys per partition. */
  readonly keysPerPartition: number;
  readonly versionsPerKey: number;
  /** Model settings applied before the round (they also refill every token bucket). */
  readonly model: Partial<ModelConfig>;
  readonly sliceMs: number;
}

export interface RoundRow {
  readonly workers: number;
  readonly ranges: number;
  readonly seeded: number;
  readonly removed: number;
  /** What the workers said they deleted, summed over ranges. */
  readonly reported: number;
  readonly left: number;
  readonly planSeconds: number;
  readonly wallSeconds: number;
  readonly versionsPerSecond: number;
  readonly slices: number;
  readonly requests: number;
  readonly requestsByOperation: Record<string, number>;
  readonly slowDown503: number;
  readonly throttledPercent: number;
  /** Sum over workers of user+sys CPU during the fan-out (s). */
  readonly workerCpuSeconds: number;
  /** The busiest worker's CPU (s). */
  readonly maxWorkerCpuSeconds: number;
  readonly modelCpuSeconds: number;
  /** Median of the ranges' wall times (s). */
  readonly medianRangeSeconds: number;
  readonly outcomes: RangeOutcome[];
  readonly problems: string[];
}

function diffOps(after: StatsSnapshot, before: StatsSnapshot): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const [op, n] of Object.entries(after.requestsByOperation)) {
    const d = n - (before.requestsByOperation[op] ?? 0);
    if (d > 0) ops[op] = d;
  }
  return ops;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Plans and runs the fan-out with warm workers, between two readings of the model's counters. */
async function measureFanout(model: ModelHandle, pool: WorkerPool, spec: RoundSpec, bucket: string) {
  // Re-applying the settings refills every partition's token bucket, after the workers' warm-up.
  await model.configure(spec.model);
  await new Promise((r) => setTimeout(r, 500));
  const before = await model.stats();
  const modelCpuBefore = model.cpuSeconds();

  const planStarted = performance.now();
  const client = createS3Client({ endpoint: model.endpoint, region: 'us-east-1' });
  const ranges = await planRanges(client, bucket);
  client.destroy();
  const planSeconds = (performance.now() - planStarted) / 1000;

  const fanout = await pool.run({ endpoint: model.endpoint, bucket, ranges, sliceMs: spec.sliceMs });
  const after = await model.stats();
  return { fanout, before, after, modelCpuSeconds: model.cpuSeconds() - modelCpuBefore, planSeconds, ranges };
}

/**
 * Seeds a bucket with `partitions` folders, plans it into ranges with the
 * engine's planner, runs the fan-out, and checks the result against the
 * model's own counts: the bucket must be empty, and what the workers report
 * must add up to what the model removed.
 */
export async function runRound(
  model: ModelHandle,
  spec: RoundSpec,
  context: { distDir: string; bucket: string; logPrefix: string; env: NodeJS.ProcessEnv },
): Promise<RoundRow> {
  const seeded = await model.seed({
    bucket: context.bucket,
    keys: spec.partitions * spec.keysPerPartition,
    versionsPerKey: spec.versionsPerKey,
    prefixes: spec.partitions,
  });
  const pool = await WorkerPool.start({ distDir: context.distDir, endpoint: model.endpoint, workers: spec.workers, logPrefix: context.logPrefix, env: context.env });
  const { fanout, before, after, modelCpuSeconds, planSeconds, ranges } = await measureFanout(model, pool, spec, context.bucket).finally(() => pool.stop());

  const left = after.buckets[context.bucket]?.versionsRemaining ?? 0;
  const removed = (before.buckets[context.bucket]?.versionsRemaining ?? seeded.totalVersions) - left;
  const reported = fanout.ranges.reduce((sum, r) => sum + r.counts.deleted + r.counts.deleteMarkersDeleted, 0);
  const requestsByOperation = diffOps(after, before);
  const requests = Object.values(requestsByOperation).reduce((a, b) => a + b, 0);
  const slowDown503 = after.slowDown503 - before.slowDown503;
  const problems = [...fanout.errors];
  if (left > 0) problems.push(`${left} versions left in the bucket`);
  if (reported !== removed) problems.push(`workers reported ${reported} deleted, the model counted ${removed}`);
  if (removed !== seeded.totalVersions) problems.push(`seeded ${seeded.totalVersions}, removed ${removed}`);
  if (fanout.ranges.length !== ranges.length) problems.push(`${ranges.length - fanout.ranges.length} of ${ranges.length} ranges not done`);
  const failed = fanout.ranges.reduce((sum, r) => sum + r.counts.failed, 0);
  if (failed > 0) problems.push(`${failed} deletions failed`);
  return {
    workers: spec.workers,
    ranges: ranges.length,
    seeded: seeded.totalVersions,
    removed,
    reported,
    left,
    planSeconds,
    wallSeconds: fanout.wallSeconds,
    versionsPerSecond: removed / fanout.wallSeconds,
    slices: fanout.ranges.reduce((sum, r) => sum + r.slices, 0),
    requests,
    requestsByOperation,
    slowDown503,
    throttledPercent: requests > 0 ? (100 * slowDown503) / requests : 0,
    workerCpuSeconds: fanout.workerCpuSeconds.reduce((a, b) => a + b, 0),
    maxWorkerCpuSeconds: Math.max(0, ...fanout.workerCpuSeconds),
    modelCpuSeconds,
    medianRangeSeconds: median(fanout.ranges.map((r) => r.ms / 1000)),
    outcomes: fanout.ranges,
    problems,
  };
}

import type { S3Client } from '@aws-sdk/client-s3';
import { rangesFromBoundaries, splitPoints, thinBoundaries } from '../../engine/listing/key-ranges';
import type { KeyRange } from '../../engine/purge-types';
import { scopesOf } from '../../engine/purge-engine';
import { isNoSuchBucket } from '../../engine/s3/s3-errors';
import type { RetentionExecutionInput, RetentionRunState } from '../../workflow/contract';
import { type ConfiguredRunSource, readConfiguredRun } from './configured-run';
import { EMPTY_TALLY, NO_RETENTION_TOTALS, nextRound } from './rounds';

/**
 * Most key ranges of a retention run. Between rounds the run's state holds
 * every range's resume token (at most 8 KiB each, usually a few hundred
 * bytes), and Step Functions caps a state at 256 KiB.
 */
export const MAX_RETENTION_RANGES = 16;

/** What Plan needs. */
export interface RetentionPlanDeps extends ConfiguredRunSource {
  readonly s3: S3Client;
  readonly logger: { info(message: string, attributes?: Record<string, unknown>): void };
}

/**
 * Plan: reads the configured run from the stack (the request can only narrow
 * it), splits its prefixes into disjoint key ranges covering every key under
 * them (at their folders), and plans the first round.
 * @param runId the execution's name: names the run in logs and reports
 * @throws RetentionEventError for a request that cannot run
 */
export async function planRetention(run: RetentionExecutionInput, runId: string, deps: RetentionPlanDeps): Promise<RetentionRunState> {
  const startedAt = deps.now();
  const asOf = run.asOf !== undefined ? Date.parse(run.asOf) : startedAt;
  const event = await readConfiguredRun(run, asOf, deps);
  const scopes = scopesOf(event.policy.prefixes);
  const perScope = Math.max(0, Math.floor(MAX_RETENTION_RANGES / scopes.length) - 1);
  const ranges: KeyRange[] = [];
  for (const prefix of scopes) {
    const boundaries = perScope > 0 ? await boundariesOf(deps.s3, event.bucketName, prefix) : [];
    ranges.push(...rangesFromBoundaries(prefix, thinBoundaries(boundaries, perScope)));
  }
  deps.logger.info('Retention run planned', { bucket: event.bucketName, runId, ranges: ranges.length, dryRun: event.dryRun, asOf: new Date(asOf).toISOString() });
  return nextRound({
    next: 'ranges',
    runId,
    bucket: event.bucketName,
    dryRun: event.dryRun,
    asOf,
    startedAt,
    remaining: event.maxDeletionsPerRun ?? null,
    capReached: false,
    round: 0,
    ranges: ranges.map((range, index) => ({ index, range, token: null, done: false })),
    items: [],
    totals: NO_RETENTION_TOTALS,
    tally: EMPTY_TALLY,
    report: event.dryRun && event.report ? { entriesWritten: 0, files: [] } : null,
  });
}

/** Split points under `prefix`; none for a missing bucket (the slices report it). */
async function boundariesOf(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  try {
    return await splitPoints(s3, bucket, prefix);
  } catch (err) {
    if (isNoSuchBucket(err)) return [];
    throw err;
  }
}

import type { PurgeResult } from '../../lambda/engine/purge-types';

/** An engine result with every count at zero, completed, for handler tests that fake the engine. */
export function purgeResult(partial: Partial<PurgeResult> = {}): PurgeResult {
  return {
    bucket: 'b',
    mode: 'purge',
    dryRun: false,
    listed: 0,
    selected: 0,
    deleted: 0,
    deleteMarkersDeleted: 0,
    bytesDeleted: 0,
    failed: 0,
    errors: [],
    uploadsSelected: 0,
    uploadsAborted: 0,
    uploadsFailed: 0,
    uploadErrors: [],
    durationMs: 1,
    resumeToken: null,
    bucketMissing: false,
    capReached: false,
    throttled: 0,
    passes: 1,
    fault: null,
    ...partial,
  };
}

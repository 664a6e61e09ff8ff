import type { S3Client } from '@aws-sdk/client-s3';
import type { PurgeCounts, ResumeToken, UploadCounts } from './resume-token';
import type { RetentionPolicy } from './retention-policy';
import type { DeleteFailure, SelectorFactory, TransientFault } from './types';
import type { AbortFailure, UploadPredicate } from './uploads/upload-sweep';
import type { KeyRange } from './listing/version-listing';
import type { SplitListing } from './stream-splitter';

export type { PurgeCounts, ResumeToken, UploadCounts } from './resume-token';
export type { AbortFailure, UploadEntry, UploadPredicate } from './uploads/upload-sweep';
export type { KeyRange } from './listing/version-listing';
export type { SplitListing } from './stream-splitter';

/** What a run is for: teardown of every version, or retention cleanup. */
export type PurgeMode = 'purge' | 'retain';

/** Options of {@link purgeBucket}. */
export interface PurgeOptions {
  /** The S3 client to use (any S3-compatible endpoint). */
  readonly client: S3Client;
  readonly bucket: string;
  /**
   * Only keys under these prefixes are listed.
   * @default - the whole bucket
   */
  readonly prefixes?: readonly string[];
  /**
   * Decides what to delete.
   * @default - every version and delete marker (teardown)
   */
  readonly selector?: SelectorFactory;
  /**
   * Whether the selector snapshots in `resumeToken` come from a trusted
   * source. When false (a token that travelled in a Lambda payload, which
   * anyone allowed to invoke the function can forge), a stream that resumes
   * in the middle of a key rebuilds the selector's state for that key from a
   * listing of the key, and never uses the snapshot: a forged snapshot could
   * otherwise name a current version as an expired delete marker, or claim
   * that newer noncurrent versions were already counted.
   * @default true
   */
  readonly trustSelectorState?: boolean;
  /** @default 'purge' */
  readonly mode?: PurgeMode;
  /**
   * Most DeleteObjects requests in flight at once.
   * @default DEFAULT_CONCURRENCY
   */
  readonly concurrency?: number;
  /**
   * Purge mode: listing streams in the first pass. The key space is split
   * into disjoint ranges at its top-level "folders" and listed in parallel.
   * Retention runs and confirmation passes list each prefix in one stream.
   * @default DEFAULT_LIST_CONCURRENCY
   */
  readonly listConcurrency?: number;
  /**
   * Purge mode, first pass: whether a stream that lists more slowly than its
   * partition could delete (a prefix without folders, with slow list pages)
   * is split into several while it runs, up to `listConcurrency` streams
   * (stream-splitter.ts). 'always' splits whatever the timing (tests).
   * @default 'auto'
   */
  readonly splitListing?: SplitListing;
  /**
   * Retention: the policy the selector applies. It is recorded in resume
   * tokens, and a token written under another policy is refused.
   * @default - none (purge)
   */
  readonly policy?: RetentionPolicy;
  /**
   * Which incomplete multipart uploads under the run's prefixes to abort
   * (ListMultipartUploads, then AbortMultipartUpload). Each pass starts
   * with this sweep, so that a purge's confirming pass also finds uploads
   * started while it ran. A dry run lists and chooses, and aborts nothing.
   * @default - purge mode: every upload; retain mode: none (uploads are not listed)
   */
  readonly abortUploads?: UploadPredicate;
  /** List and select, delete nothing. @default false */
  readonly dryRun?: boolean;
  /** Bypass GOVERNANCE retention (sent only to Object Lock buckets). @default false */
  readonly bypassGovernanceRetention?: boolean;
  /** Epoch ms. The run stops cleanly before it and returns a resume token. */
  readonly deadline?: number;
  /** Aborts like a deadline: in-flight batches finish, a resume token is returned. */
  readonly signal?: AbortSignal;
  /**
   * Continue a run that returned this token. It must come from a run with the
   * same bucket, mode, dry-run setting, prefixes and policy, or the run is
   * refused with a {@link ResumeTokenError} before anything is deleted.
   */
  readonly resumeToken?: ResumeToken | null;
  /**
   * Stop after this many deletions (retention safety cap). Counted with the
   * totals a resume token carries: pass the token's `counts.selected` plus
   * what this segment may add.
   */
  readonly maxDeletions?: number;
  /**
   * With `maxDeletions`: reaching the cap returns a resume token for what is
   * left (the Step Functions workflow gives each key range a quota per round
   * and resumes it in the next round). Without it a capped run is complete.
   * @default false
   */
  readonly resumableAtCap?: boolean;
  /**
   * Restricts the run to one key range (lambda/engine/listing/key-ranges.ts):
   * every pass lists only this range, and only uploads whose key is in it
   * are aborted. Its prefix must be one of `prefixes` (or `''` without
   * prefixes). A resume token must lie inside the range, or it is refused.
   * The workflow runs one range per slice, many slices in parallel.
   * @default - the whole bucket (or every prefix)
   */
  readonly range?: KeyRange;
  /**
   * Purge mode: how many full passes at most (each pass after the first lists
   * from the start again to confirm emptiness).
   * @default 5
   */
  readonly maxPasses?: number;
  /** Called as the run progresses (throttled to a few times a second). */
  readonly onProgress?: (progress: PurgeProgress) => void;
  /** Called for each entry the selector chose (dry-run reports, samples). */
  readonly onSelected?: (entry: import('./types').VersionEntry) => void;
}

/** A snapshot of a running purge. */
export interface PurgeProgress extends PurgeCounts {
  readonly bucket: string;
  readonly pass: number;
  readonly elapsedMs: number;
  readonly throttled: number;
}

/** What a run did. */
export interface PurgeResult extends PurgeCounts, UploadCounts {
  readonly bucket: string;
  readonly mode: PurgeMode;
  readonly dryRun: boolean;
  /** The first 100 failures. */
  readonly errors: DeleteFailure[];
  /** The first 100 uploads that could not be aborted (`uploadsFailed` counts them all). */
  readonly uploadErrors: AbortFailure[];
  /** Time spent by the whole run, over all its segments when it was resumed. */
  readonly durationMs: number;
  /** `null` when the run is complete. */
  readonly resumeToken: ResumeToken | null;
  /** True when the bucket does not exist ("nothing to delete"). */
  readonly bucketMissing: boolean;
  /** True when `maxDeletions` stopped the run. */
  readonly capReached: boolean;
  /** Number of 503 SlowDown answers seen. */
  readonly throttled: number;
  /** Passes run (purge mode). */
  readonly passes: number;
  /**
   * The transient fault the run gave up on after retrying it (see
   * retry-policy.ts), or null. The run stopped cleanly there: `resumeToken`
   * continues it.
   */
  readonly fault: TransientFault | null;
}

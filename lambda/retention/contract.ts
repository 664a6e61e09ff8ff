/**
 * The contract between the `VersionPurger` construct's retention schedule
 * (lib/) and the handler's retention path (lambda/): the event the
 * EventBridge rule sends (the input of a retention execution of the Step
 * Functions workflow), the configured run, and the metric names the alarms
 * watch. Types and plain constants only, so that
 * lib/ can import this file without pulling Lambda code into a CDK app.
 */
import type { PrefixTotals } from './prefix-report';
import type { RetentionPolicy } from '../engine/retention-policy';

/** `kind` of the event the schedule sends. */
export const RETENTION_EVENT_KIND = 'retention';

/**
 * Key of the custom resource's CloudFormation `Metadata` entry that holds a
 * purger's configured retention run (a {@link RetentionEvent}, with
 * CloudFormation's references resolved). The function reads it with
 * `DescribeStackResource`: the policy comes from the stack, never from the
 * invoking event.
 */
export const RETENTION_METADATA_KEY = 'cdk-version-purger:retention';

/**
 * What the schedule sends (the rule target's input), and what a person may
 * send to run a purger's retention by hand. It names the purger; it cannot
 * carry a policy, a bucket or prefixes. It can only narrow the configured run.
 */
export interface RetentionRequest {
  readonly kind: typeof RETENTION_EVENT_KIND;
  readonly v: 2;
  /** Logical id of the purger's `Custom::VersionPurger` resource in the function's stack. */
  readonly purger: string;
  /**
   * `true` makes the run a dry run. `false` cannot turn a configured dry run into a real one.
   * @default - the configured `dryRun`
   */
  readonly dryRun?: boolean;
  /**
   * ISO-8601 instant to evaluate the policy at. A later instant than now
   * would select more than the policy allows today, so it is accepted only
   * for a dry run (a preview).
   * @default - the run's start time
   */
  readonly asOf?: string;
}

/** Where a dry run writes its report (the construct's `dryRunReportLocation`, resolved). */
export interface RetentionReportTarget {
  readonly bucketName: string;
  /** Key prefix of the report objects; `''` for the bucket's root. */
  readonly prefix: string;
}

/**
 * A purger's configured retention run, version 1: what the construct stores
 * in the custom resource's metadata ({@link RETENTION_METADATA_KEY}), and what
 * lambda/retention/run.ts runs once the handler has loaded it and applied a
 * request's narrowing. Durations are milliseconds.
 */
export interface RetentionEvent {
  readonly kind: typeof RETENTION_EVENT_KIND;
  readonly v: 1;
  /** The bucket to clean up. */
  readonly bucketName: string;
  /** What to delete. */
  readonly policy: RetentionPolicy;
  /**
   * The run stops after selecting this many entries for deletion.
   * @default - no cap (the construct always sends one)
   */
  readonly maxDeletionsPerRun?: number;
  /** List and report, delete nothing. */
  readonly dryRun: boolean;
  /**
   * Where a dry run writes its report.
   * @default - no report object, logs only
   */
  readonly report?: RetentionReportTarget;
  /**
   * ISO-8601 instant the policy is evaluated at. The construct never sets it;
   * it is for manual invocations that preview a future date.
   * @default - the run's start time
   */
  readonly asOf?: string;
}

/** Selected entries tallied by top-level prefix, and a few examples, carried across invocations. */
export interface RetentionTallySnapshot {
  /** Per top-level prefix; prefixes beyond the tracked maximum are folded into `(other prefixes)`. */
  readonly byPrefix: Record<string, PrefixTotals>;
  /** Totals over every prefix (exact even when prefixes were folded). */
  readonly total: PrefixTotals;
  /** The first few selected entries. */
  readonly sample: ReadonlyArray<RetentionSampleEntry>;
}

/** One selected entry as shown in logs and reports. */
export interface RetentionSampleEntry {
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly lastModified: string;
  readonly size: number;
}

/** Progress of a dry-run report across invocations. */
export interface RetentionReportProgress {
  /** Entries written to entry files so far. */
  readonly entriesWritten: number;
  /** Keys of the entry files written so far. */
  readonly files: readonly string[];
}

/** CloudWatch namespace of the retention metrics. */
export const METRICS_NAMESPACE = 'VersionPurger';

/** The one dimension of every retention metric. */
export const METRICS_DIMENSION = 'BucketName';

/**
 * Metrics every retention run emits once, when it ends (in the invocation
 * that ends it), with the run's totals.
 */
export const RETENTION_METRIC = {
  /** Noncurrent versions deleted (Count). */
  versionsDeleted: 'VersionsDeleted',
  /** Delete markers deleted (Count). */
  deleteMarkersDeleted: 'DeleteMarkersDeleted',
  /** Bytes of the versions deleted (Bytes). */
  bytesDeleted: 'BytesDeleted',
  /** Entries that could not be deleted (Count). */
  deleteErrors: 'DeleteErrors',
  /** From the first invocation's start to the end of the run (Milliseconds). */
  runDurationMs: 'RunDurationMs',
  /** 1 when `maxDeletionsPerRun` stopped the run, else 0 (Count). */
  capReached: 'CapReached',
  /** 1 when the run failed (entries not deleted, an error, a missing bucket, an unwritable report), else 0 (Count). */
  runFailed: 'RunFailed',
} as const;

/** True when `value` is meant for the retention path (its payload is validated there). */
function isRetentionRequest(value: unknown): value is { readonly kind: string } {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === RETENTION_EVENT_KIND;
}

export { isRetentionRequest };

/**
 * The metrics every retention run emits once, when it ends, with the run's
 * totals (namespace `VersionPurger`, dimension `BucketName`). Pass one to
 * `VersionPurger.metricRetention()`.
 *
 * The values are the metric names the handler emits
 * (lambda/retention/contract.ts `RETENTION_METRIC`); a test keeps the two equal.
 */
export enum RetentionMetric {
  /** Noncurrent versions deleted (Count). */
  VERSIONS_DELETED = 'VersionsDeleted',
  /** Delete markers deleted (Count). */
  DELETE_MARKERS_DELETED = 'DeleteMarkersDeleted',
  /** Bytes of the versions deleted (Bytes). */
  BYTES_DELETED = 'BytesDeleted',
  /** Entries that could not be deleted (Count). */
  DELETE_ERRORS = 'DeleteErrors',
  /** From the first invocation's start to the end of the run (Milliseconds). */
  RUN_DURATION_MS = 'RunDurationMs',
  /** 1 when `maxDeletionsPerRun` stopped the run, else 0 (Count). */
  CAP_REACHED = 'CapReached',
  /** 1 when the run failed (entries not deleted, an error, a missing bucket, an unwritable report), else 0 (Count). */
  RUN_FAILED = 'RunFailed',
}

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PurgeResult, ResumeToken } from '../engine/purge-types';

/**
 * Namespace and dimension of teardown metrics: the same as retention's
 * (lambda/retention/contract.ts), which teardown may not import; a test
 * keeps the two equal.
 */
export const TEARDOWN_METRICS_NAMESPACE = 'VersionPurger';
export const TEARDOWN_METRICS_DIMENSION = 'BucketName';

/**
 * Metrics a teardown (the Delete of a `Custom::VersionPurger`) emits once,
 * in the invocation that answers CloudFormation, with the totals of all its
 * invocations. Named apart from retention's, which share the namespace and
 * dimension, so that sums never mix the two.
 */
export const TEARDOWN_METRIC = {
  /** Versions deleted (Count). */
  versionsDeleted: 'TeardownVersionsDeleted',
  /** Delete markers deleted (Count). */
  deleteMarkersDeleted: 'TeardownDeleteMarkersDeleted',
  /** Bytes of the versions deleted (Bytes). */
  bytesDeleted: 'TeardownBytesDeleted',
  /** Incomplete multipart uploads aborted (Count). */
  uploadsAborted: 'TeardownUploadsAborted',
  /** Versions, delete markers and uploads that could not be deleted or aborted, in the last pass (Count). */
  errors: 'TeardownErrors',
  /** From the first invocation's start to the answer (Milliseconds). */
  durationMs: 'TeardownDurationMs',
  /** Passes over the bucket (Count). */
  passes: 'TeardownPasses',
  /** 1 when the answer to CloudFormation is FAILED, else 0 (Count). */
  failed: 'TeardownFailed',
} as const;

/** What a teardown did so far, across its invocations. */
export interface TeardownProgress {
  readonly versionsDeleted: number;
  readonly deleteMarkersDeleted: number;
  readonly bytesDeleted: number;
  readonly uploadsAborted: number;
  readonly errors: number;
  readonly passes: number;
}

/** The totals of one teardown, as emitted when it answers CloudFormation. */
export interface TeardownMetrics extends TeardownProgress {
  readonly bucket: string;
  /** CloudFormation's RequestId of the Delete. */
  readonly requestId: string;
  readonly invocations: number;
  readonly durationMs: number;
  readonly failed: boolean;
}

/** Emits a teardown's metrics; the handler's default writes CloudWatch EMF to stdout. */
export type PublishTeardownMetrics = (metrics: TeardownMetrics) => void;

/** Nothing done yet: a Delete that answers before purging. */
export const NO_PROGRESS: TeardownProgress = {
  versionsDeleted: 0,
  deleteMarkersDeleted: 0,
  bytesDeleted: 0,
  uploadsAborted: 0,
  errors: 0,
  passes: 0,
};

/** The progress an engine result or a resume token records (none for a first slice). */
export function progressOf(source: PurgeResult | ResumeToken | null): TeardownProgress {
  if (source === null) return NO_PROGRESS;
  if ('counts' in source) {
    const { counts, uploads } = source;
    return {
      versionsDeleted: counts.deleted,
      deleteMarkersDeleted: counts.deleteMarkersDeleted,
      bytesDeleted: counts.bytesDeleted,
      uploadsAborted: uploads?.uploadsAborted ?? 0,
      errors: counts.failed + (uploads?.uploadsFailed ?? 0),
      passes: source.pass,
    };
  }
  return {
    versionsDeleted: source.deleted,
    deleteMarkersDeleted: source.deleteMarkersDeleted,
    bytesDeleted: source.bytesDeleted,
    uploadsAborted: source.uploadsAborted,
    errors: source.failed + source.uploadsFailed,
    passes: source.passes,
  };
}

/**
 * Writes one CloudWatch Embedded Metric Format line (Powertools Metrics) with
 * the teardown's totals, in namespace `VersionPurger` with the single
 * dimension `BucketName` (Powertools' default `service` dimension dropped,
 * as for retention). Every metric is emitted, zeros included.
 */
export function publishTeardownMetrics(m: TeardownMetrics): void {
  const metrics = new Metrics({ namespace: TEARDOWN_METRICS_NAMESPACE, serviceName: 'cdk-version-purger' });
  metrics.clearDefaultDimensions();
  metrics.addDimension(TEARDOWN_METRICS_DIMENSION, m.bucket);
  metrics.addMetadata('requestId', m.requestId);
  metrics.addMetadata('invocations', String(m.invocations));
  metrics.addMetric(TEARDOWN_METRIC.versionsDeleted, MetricUnit.Count, m.versionsDeleted);
  metrics.addMetric(TEARDOWN_METRIC.deleteMarkersDeleted, MetricUnit.Count, m.deleteMarkersDeleted);
  metrics.addMetric(TEARDOWN_METRIC.bytesDeleted, MetricUnit.Bytes, m.bytesDeleted);
  metrics.addMetric(TEARDOWN_METRIC.uploadsAborted, MetricUnit.Count, m.uploadsAborted);
  metrics.addMetric(TEARDOWN_METRIC.errors, MetricUnit.Count, m.errors);
  metrics.addMetric(TEARDOWN_METRIC.durationMs, MetricUnit.Milliseconds, m.durationMs);
  metrics.addMetric(TEARDOWN_METRIC.passes, MetricUnit.Count, m.passes);
  metrics.addMetric(TEARDOWN_METRIC.failed, MetricUnit.Count, m.failed ? 1 : 0);
  metrics.publishStoredMetrics();
}

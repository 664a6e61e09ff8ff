import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_DIMENSION, METRICS_NAMESPACE, RETENTION_METRIC } from './contract';

/** The totals of one retention run, as emitted when the run ends. */
export interface RetentionRunMetrics {
  readonly bucket: string;
  readonly runId: string;
  readonly dryRun: boolean;
  readonly invocations: number;
  readonly versionsDeleted: number;
  readonly deleteMarkersDeleted: number;
  readonly bytesDeleted: number;
  readonly deleteErrors: number;
  readonly runDurationMs: number;
  readonly capReached: boolean;
  readonly runFailed: boolean;
}

/** Emits a run's metrics; the handler's default writes CloudWatch EMF to stdout. */
export type PublishRetentionMetrics = (metrics: RetentionRunMetrics) => void;

/**
 * Writes one CloudWatch Embedded Metric Format line (Powertools Metrics) with
 * the run's totals, in namespace `VersionPurger` with the single dimension
 * `BucketName` (Powertools' default `service` dimension is dropped, so that
 * the construct's alarms name the exact dimension set). Every metric is
 * emitted, zeros included, so that an alarm sees each run.
 */
function publishRetentionMetrics(m: RetentionRunMetrics): void {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'cdk-version-purger' });
  metrics.clearDefaultDimensions();
  metrics.addDimension(METRICS_DIMENSION, m.bucket);
  metrics.addMetadata('runId', m.runId);
  metrics.addMetadata('dryRun', String(m.dryRun));
  metrics.addMetadata('invocations', String(m.invocations));
  metrics.addMetric(RETENTION_METRIC.versionsDeleted, MetricUnit.Count, m.versionsDeleted);
  metrics.addMetric(RETENTION_METRIC.deleteMarkersDeleted, MetricUnit.Count, m.deleteMarkersDeleted);
  metrics.addMetric(RETENTION_METRIC.bytesDeleted, MetricUnit.Bytes, m.bytesDeleted);
  metrics.addMetric(RETENTION_METRIC.deleteErrors, MetricUnit.Count, m.deleteErrors);
  metrics.addMetric(RETENTION_METRIC.runDurationMs, MetricUnit.Milliseconds, m.runDurationMs);
  metrics.addMetric(RETENTION_METRIC.capReached, MetricUnit.Count, m.capReached ? 1 : 0);
  metrics.addMetric(RETENTION_METRIC.runFailed, MetricUnit.Count, m.runFailed ? 1 : 0);
  metrics.publishStoredMetrics();
}

export { publishRetentionMetrics };

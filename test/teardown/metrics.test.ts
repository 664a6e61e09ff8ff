import { METRICS_DIMENSION, METRICS_NAMESPACE } from '../../lambda/retention/contract';
import { TEARDOWN_METRIC, TEARDOWN_METRICS_DIMENSION, TEARDOWN_METRICS_NAMESPACE } from '../../lambda/teardown/metrics';
import { RETENTION_METRIC } from '../../lambda/retention/contract';

describe('teardown metric names', () => {
  test('share the namespace and dimension of retention metrics, and no metric name', () => {
    // GIVEN / WHEN / THEN
    expect(TEARDOWN_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
    expect(TEARDOWN_METRICS_DIMENSION).toBe(METRICS_DIMENSION);
    const retention = new Set<string>(Object.values(RETENTION_METRIC));
    expect(Object.values(TEARDOWN_METRIC).filter((name) => retention.has(name))).toEqual([]);
  });
});

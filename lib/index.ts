export { VersionPurger, DEFAULT_SERVICE_TIMEOUT } from './version-purger';
export type { VersionPurgerProps } from './version-purger';
export { VersionPurgerValidationError } from './validation-error';
export { DEFAULT_MAX_DELETIONS_PER_RUN, DEFAULT_REPORT_PREFIX } from './version-purger-retention';
export type { RetentionOptions, DryRunReportLocation, RetentionMetricName } from './version-purger-retention';
export {
  DEFAULT_MEMORY_SIZE,
  DEFAULT_TIMEOUT,
  DEFAULT_RUNTIME,
  DEFAULT_LOG_RETENTION,
  DEAD_LETTER_RETENTION,
} from './version-purger-provider';
export { PURGE_TAG_KEY, FENCE_STATEMENT_SID, RESOURCE_TYPE } from '../lambda/resource-contract';
export { METRICS_NAMESPACE, METRICS_DIMENSION, RETENTION_METRIC } from '../lambda/retention/contract';
export type { RetentionRequest } from '../lambda/retention/contract';

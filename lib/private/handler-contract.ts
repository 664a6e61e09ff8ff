/**
 * Everything lib/ takes from the Lambda handler's side (lambda/), in one
 * place.
 *
 * Why re-export instead of copying: the handler owns the contract (property
 * names, the ownership tag, the retention event and metadata key, the metric
 * names) and the policy validation; lib/ must send exactly what the handler
 * reads, so both compile against the same source and cannot drift apart.
 *
 * Why this is safe for jsii: jsii compiles every file lib/ reaches, but its
 * API is only what lib/index.ts exports, and nothing here is. The modules
 * below are plain constants and pure functions (no AWS SDK, no Powertools,
 * no handler code); their only runtime dependency is picomatch, listed in
 * `bundleDependencies`. test/lib/jsii-assembly.test.ts checks that lib/
 * imports lambda/ through this file only, that these modules import nothing
 * of the handler, and that the assembly holds types from lib/ only.
 */
export { ENV, PROPERTY, PURGE_TAG_KEY, FENCE_STATEMENT_SID, RESOURCE_TYPE } from '../../lambda/resource-contract';
export {
  METRICS_DIMENSION,
  METRICS_NAMESPACE,
  RETENTION_EVENT_KIND,
  RETENTION_METADATA_KEY,
  RETENTION_METRIC,
} from '../../lambda/retention/contract';
export { createKeyFilter } from '../../lambda/engine/key-filter';
export { validateRetentionPolicy } from '../../lambda/engine/retention-policy';
export {
  RETENTION_EXECUTION_KIND,
  STATE,
  STATE_MACHINE_NAME_PREFIX,
  STEP,
  TEARDOWN_EXECUTION_KIND,
  WORKFLOW_KIND,
  WORKFLOW_VERSION,
} from '../../lambda/workflow/contract';

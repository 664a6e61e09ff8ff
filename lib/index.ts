export { VersionPurger, DEFAULT_SERVICE_TIMEOUT } from './version-purger';
export type { VersionPurgerProps } from './version-purger';
export { VersionPurgerValidationError } from './validation-error';
export {
  DEFAULT_MEMORY_SIZE,
  DEFAULT_TIMEOUT,
  DEFAULT_RUNTIME,
  DEFAULT_LOG_RETENTION,
} from './version-purger-provider';
export { PURGE_TAG_KEY, PURGE_TAG_VALUE, FENCE_STATEMENT_SID, RESOURCE_TYPE } from '../lambda/resource-contract';

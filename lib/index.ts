// The jsii API: what every CDK language sees. Constants are static members
// of VersionPurger (jsii cannot export module-level constants).
export { VersionPurger } from './version-purger';
export type { VersionPurgerProps } from './version-purger';
export { RetentionMetric } from './retention-metric';
export type { RetentionOptions, DryRunReportLocation } from './version-purger-retention';
// TypeScript only: jsii cannot carry a subclass of Error. In other languages
// the same message arrives as the language's jsii runtime error.
export { VersionPurgerValidationError } from './validation-error';

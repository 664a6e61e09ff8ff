/**
 * The contract between the `VersionPurger` construct (lib/) and the Lambda
 * handler (lambda/): resource type, property names, the ownership tag and the
 * environment variables. Plain constants only, so that lib/ can import this
 * file without pulling Lambda code into a CDK app.
 */

/** CloudFormation resource type of the purge custom resource. */
export const RESOURCE_TYPE = 'Custom::VersionPurger';

/**
 * Property names of the custom resource, as CloudFormation passes them in
 * `ResourceProperties`. CloudFormation turns every scalar into a string, so
 * booleans arrive as `'true'` / `'false'`.
 */
export const PROPERTY = {
  /** The bucket to purge. */
  bucketName: 'BucketName',
  /**
   * Identity of the `VersionPurger` that owns the bucket: the construct's
   * `node.addr`. The bucket's {@link PURGE_TAG_KEY} tag carries the same
   * value; a Delete purges only when the two match.
   */
  ownerId: 'OwnerId',
  /** `'false'` makes Delete a no-op. */
  purgeOnDelete: 'PurgeOnDelete',
  /** `'false'` skips the deny-PutObject bucket policy statement. */
  fenceWrites: 'FenceWrites',
  /** `'true'` bypasses GOVERNANCE retention. */
  bypassGovernanceRetention: 'BypassGovernanceRetention',
  /** Set by CloudFormation itself from the resource's `ServiceTimeout` (seconds). */
  serviceTimeout: 'ServiceTimeout',
} as const;

/**
 * The tag that marks a bucket as owned by one `VersionPurger`. Its value is
 * the owner's id (the construct's `node.addr`, also sent as the
 * {@link PROPERTY.ownerId} property). The handler purges on Delete only when
 * the bucket's tag names the very resource being deleted: a renamed, moved or
 * removed construct sends its Delete after the bucket's tag was changed to
 * the new owner's id, or removed, so it deletes nothing.
 */
export const PURGE_TAG_KEY = 'cdk-version-purger:purge-on-delete';

/** `Sid` of the deny-PutObject statement the handler adds to the bucket policy. */
export const FENCE_STATEMENT_SID = 'VersionPurgerDenyWrites';

/** Physical id answered when Create fails, so that the following Delete is ignored. */
export const CREATE_FAILED_PHYSICAL_ID = 'VersionPurger::CREATE_FAILED';

/** Prefix of the physical resource id: `version-purger:<bucket name>:<owner id>` (lambda/teardown/physical-id.ts). */
export const PHYSICAL_ID_PREFIX = 'version-purger:';

/** Environment variables the handler reads (all optional). */
export const ENV = {
  /**
   * Milliseconds of Lambda time kept free at the end of each invocation for
   * stopping the engine and returning the step result to the workflow.
   */
  safetyMarginMs: 'VERSION_PURGER_SAFETY_MARGIN_MS',
  /**
   * Milliseconds of the serviceTimeout budget kept free for the final
   * estimate and the answer to CloudFormation.
   */
  answerReserveMs: 'VERSION_PURGER_ANSWER_RESERVE_MS',
  /** ARN of the function's stack: where retention reads the configured policies. */
  stackId: 'VERSION_PURGER_STACK_ID',
} as const;

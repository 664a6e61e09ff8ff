/** Base class of every error the purge engine throws. */
class PurgeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PurgeError';
  }
}

/**
 * The bucket cannot be purged as configured (for example MFA Delete is on).
 * Thrown before anything is deleted.
 */
class PurgeConfigError extends PurgeError {
  constructor(message: string) {
    super(message);
    this.name = 'PurgeConfigError';
  }
}

/**
 * A scheduled retention event or continuation that cannot be run (missing
 * bucket name, invalid policy, unknown version). Thrown out of the handler so
 * that the invocation lands in the on-failure destination; it is never retried.
 */
class RetentionEventError extends PurgeError {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionEventError';
  }
}

/**
 * A retention run ended in failure: entries could not be deleted, the engine
 * stopped with an error, the bucket is missing, the dry-run report could not
 * be written, or the run could not continue. Thrown at the end of the run,
 * after its metrics were emitted, so that the invocation lands in the
 * on-failure destination.
 */
class RetentionRunError extends PurgeError {
  /** The bucket the run was for. */
  public readonly bucket: string;

  constructor(bucket: string, message: string) {
    super(message);
    this.name = 'RetentionRunError';
    this.bucket = bucket;
  }
}

export { PurgeError, PurgeConfigError, RetentionEventError, RetentionRunError };

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

export { PurgeError, PurgeConfigError };

/** S3's limit on keys in one DeleteObjects request. */
export const MAX_KEYS_PER_DELETE = 1000;
/** S3's limit on entries in one ListObjectVersions page. */
export const MAX_KEYS_PER_LIST = 1000;
/**
 * Default most DeleteObjects requests in flight. Was 32 with 1,000-key
 * batches; the rate controller now sends 0.1 s of a partition's rate per
 * batch until it has measured the rate (350 keys at S3's 3,500/s), so a
 * CPU-bound run of 16 prefixes, whose pacers rarely wait, keeps small batches; 32 requests of
 * 350 keys capped it near 39k keys/s at the S3 model's latency. 48 carry
 * about 17k keys, fewer than 32 × 1,000 did (bench/README.md, issue 12).
 */
export const DEFAULT_CONCURRENCY = 48;
/** Default parallel listing streams in the first purge pass. */
export const DEFAULT_LIST_CONCURRENCY = 16;
/** Purge passes at most: the first, then confirmation passes from the start. */
export const DEFAULT_MAX_PASSES = 5;
/** How many failures a result lists (all are counted). */
export const MAX_REPORTED_ERRORS = 100;
/**
 * Attempts, the first included, for an S3 call or a key that failed with a
 * transient error (retry-policy.ts). With the backoff below, the retries of
 * one call wait up to 11.3 s in all (5.7 s on average): enough to ride out a
 * burst of 500s or a dropped connection, short enough for a stuck call to be
 * reported while the run still has time.
 */
export const MAX_TRANSIENT_ATTEMPTS = 8;
/** Backoff of transient retries: base, cap (ms). Full jitter. */
export const RETRY_BASE_MS = 100;
export const RETRY_CAP_MS = 5_000;
/** Per-key error codes worth retrying. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'OperationAborted',
  'ThrottlingException',
]);
/** Whole-request error codes that mean "slow down". */
export const THROTTLE_CODES: ReadonlySet<string> = new Set(['SlowDown', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
/** How often progress is reported, at most (ms). */
export const PROGRESS_INTERVAL_MS = 250;
/** Most ranges the first pass splits the key space into. */
export const MAX_SHARDS = 64;

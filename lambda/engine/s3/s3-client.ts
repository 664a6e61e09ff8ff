import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { addMd5Fallback } from './md5-fallback';
import { addRetries } from './s3-retries';

/** How to reach S3 or an S3-compatible store. */
export interface S3ClientOptions {
  /** Endpoint URL. @default - the SDK's standard configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, region) */
  readonly endpoint?: string;
  /** @default - the SDK's standard configuration */
  readonly region?: string;
  /** Send Content-MD5 instead of a CRC32 checksum on DeleteObjects. @default false */
  readonly md5?: boolean;
  /** Use path-style URLs. @default - true when an endpoint is given */
  readonly forcePathStyle?: boolean;
}

/**
 * A connection that takes this long to open, or a socket silent for
 * {@link SOCKET_IDLE_TIMEOUT_MS}, is dropped and the call retried: without a
 * timeout a dead connection would hang the run until Lambda kills it.
 */
const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_IDLE_TIMEOUT_MS = 60_000;

/**
 * Creates the S3 client the project uses. The SDK's own retries are off (one
 * attempt); the project's retry policy (retry-policy.ts) retries every call
 * instead, except the engine's listing and deleting calls, which retry
 * themselves so that their rate controllers see every SlowDown.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
  };
  if (!config.region && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION) {
    // S3-compatible stores rarely care; AWS resolves the bucket's region through redirects.
    config.region = 'us-east-1';
  }
  const client = new S3Client(config);
  addRetries(client);
  if (options.md5) addMd5Fallback(client);
  return client;
}

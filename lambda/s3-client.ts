import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { addMd5Fallback } from './md5-fallback';

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
 * Creates the S3 client the engine expects. The SDK's own retries are off
 * (one attempt): the engine retries itself, so that it sees every SlowDown and
 * can adapt its request rate.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    maxAttempts: 1,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
  };
  if (!config.region && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION) {
    // S3-compatible stores rarely care; AWS resolves the bucket's region through redirects.
    config.region = 'us-east-1';
  }
  const client = new S3Client(config);
  if (options.md5) addMd5Fallback(client);
  return client;
}

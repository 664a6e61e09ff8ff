import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import type { PurgeOptions, PurgeResult } from '../engine/purge-types';

/** The logger subset teardown uses (Powertools Logger fits it). */
export interface TeardownLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** What teardown needs from the outside world. */
export interface TeardownDeps {
  readonly s3: S3Client;
  /** Confirms with CloudFormation that the stack is deleting the resource. */
  readonly cloudFormation: CloudFormationClient;
  /** The purge engine's entry point. */
  readonly purge: (options: PurgeOptions) => Promise<PurgeResult>;
  readonly logger: TeardownLogger;
  /** AWS partition for ARNs (`aws`, `aws-cn`, `aws-us-gov`). */
  readonly partition: string;
  /** Where the logs go; named in failure reasons. */
  readonly logLocation?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

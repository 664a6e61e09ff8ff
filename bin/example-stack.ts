import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { VersionPurger } from '../lib';

/**
 * Example: a versioned bucket that is emptied, every version and delete
 * marker, when the stack is deleted, and cleaned up every six hours by a
 * retention policy in the meantime.
 */
export class ExampleStack extends Stack {
  /** The bucket the purger empties on stack deletion. */
  public readonly bucket: s3.Bucket;
  /** The purger. */
  public readonly purger: VersionPurger;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.bucket = new s3.Bucket(this, 'Data', {
      versioned: true,
      removalPolicy: RemovalPolicy.DESTROY,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Example data bucket: server access logging is the application\'s choice and would need a second bucket to purge.',
    });
    this.purger = new VersionPurger(this, 'Purger', {
      bucket: this.bucket,
      retention: {
        schedule: events.Schedule.rate(Duration.hours(6)),
        noncurrentVersionsOlderThan: Duration.days(30),
        keepNoncurrentVersions: 5,
        expiredDeleteMarkers: true,
      },
    });
  }
}

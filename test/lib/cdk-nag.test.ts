import { App, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ExampleStack } from '../../bin/example-stack';
import { VersionPurger } from '../../lib';

describe('cdk-nag AwsSolutions', () => {
  test('the example stack has no unacknowledged findings', () => {
    // GIVEN
    const app = new App();
    const stack = new ExampleStack(app, 'Example');

    // WHEN
    const report = new AwsSolutionsChecks(app).validateScope(stack);

    // THEN
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('a stack with several purgers and every option on has no findings from the construct', () => {
    // GIVEN
    const app = new App();
    const stack = new Stack(app, 'Many');
    for (const id of ['A', 'B', 'C']) {
      const bucket = new s3.Bucket(stack, id, {
        versioned: true,
        removalPolicy: RemovalPolicy.DESTROY,
        enforceSSL: true,
        serverAccessLogsPrefix: 'access/',
        objectLockEnabled: id === 'C',
      });
      new VersionPurger(stack, `Purger${id}`, { bucket, bypassGovernanceRetention: id !== 'A', fenceWrites: id !== 'B' });
    }

    // WHEN
    const report = new AwsSolutionsChecks(app).validateScope(stack);

    // THEN
    expect(report.violations).toEqual([]);
  });

  test('retention schedules (prefixes, dry-run report to a KMS bucket, imported bucket) add no findings', () => {
    // GIVEN
    const app = new App();
    const stack = new Stack(app, 'Retention');
    const bucket = new s3.Bucket(stack, 'Data', {
      versioned: true,
      removalPolicy: RemovalPolicy.DESTROY,
      enforceSSL: true,
      serverAccessLogsPrefix: 'access/',
    });
    const reports = new s3.Bucket(stack, 'Reports', {
      enforceSSL: true,
      serverAccessLogsPrefix: 'access/',
      encryption: s3.BucketEncryption.KMS,
    });
    const schedule = events.Schedule.rate(Duration.hours(6));
    new VersionPurger(stack, 'Owned', {
      bucket,
      retention: { schedule, keepNoncurrentVersions: 5, prefixes: ['logs/', 'exports/'], dryRun: true, dryRunReportLocation: { bucket: reports } },
    });
    new VersionPurger(stack, 'Imported', {
      bucket: s3.Bucket.fromBucketName(stack, 'Elsewhere', 'some-existing-bucket'),
      purgeOnDelete: false,
      retention: { schedule, noncurrentVersionsOlderThan: Duration.days(30) },
    });

    // WHEN
    const report = new AwsSolutionsChecks(app).validateScope(stack);

    // THEN
    expect(report.violations).toEqual([]);
  });

  test('every acknowledgement carries a written reason', () => {
    // GIVEN
    const app = new App();
    const stack = new ExampleStack(app, 'Example');

    // WHEN
    const acknowledgements = collectAcknowledgements(stack);

    // THEN
    expect(acknowledgements.map((a) => a.id)).toEqual(
      expect.arrayContaining([
        'AwsSolutions-S1',
        'AwsSolutions-SQS3',
        expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<Data\w+\.Arn>\/\*\]$/),
      ]),
    );
    for (const a of acknowledgements) expect(a.reason.length).toBeGreaterThan(40);
  });
});

/** Every acknowledged rule in the tree, with its reason. */
function collectAcknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

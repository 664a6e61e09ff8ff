import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RetentionMetric, type RetentionOptions, VersionPurger, VersionPurgerValidationError } from '../../lib';
import { configuredRuns, OWN_WORKFLOW_STATEMENTS, policyDocuments, policyNamed, READ_OWN_STACK, scheduleRules } from '../support/template';

const { DEFAULT_MAX_DELETIONS_PER_RUN, PURGE_TAG_KEY } = VersionPurger;

const SIX_HOURS = events.Schedule.rate(Duration.hours(6));

describe('VersionPurger retention schedule', () => {
  test('creates one EventBridge rule whose input is the policy, durations in milliseconds', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: {
        schedule: SIX_HOURS,
        noncurrentVersionsOlderThan: Duration.days(30),
        keepNoncurrentVersions: 5,
        expiredDeleteMarkers: true,
        prefixes: ['logs/', 'exports/'],
        exclude: ['**/*.keep'],
        maxDeletionsPerRun: 5_000_000,
        dryRun: false,
      },
    });

    // THEN
    const template = Template.fromStack(stack);
    expect(scheduleRules(template)).toHaveLength(1);
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)', State: 'ENABLED' });
    expect(ruleInput(template, { [logicalIdOf(stack, bucket)]: 'my-data' })).toEqual({
      kind: 'retention',
      v: 1,
      bucketName: 'my-data',
      policy: {
        noncurrentVersionsOlderThanMs: 2_592_000_000,
        keepNoncurrentVersions: 5,
        expiredDeleteMarkers: true,
        prefixes: ['logs/', 'exports/'],
        exclude: ['**/*.keep'],
      },
      maxDeletionsPerRun: 5_000_000,
      dryRun: false,
    });
  });

  test('defaults: a cap of 1,000,000 deletions, no dry run, no expired delete markers, every key', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 0 } });

    // THEN
    expect(DEFAULT_MAX_DELETIONS_PER_RUN).toBe(1_000_000);
    expect(ruleInput(Template.fromStack(stack), { [logicalIdOf(stack, bucket)]: 'b' })).toEqual({
      kind: 'retention',
      v: 1,
      bucketName: 'b',
      policy: { keepNoncurrentVersions: 0, expiredDeleteMarkers: false },
      maxDeletionsPerRun: 1_000_000,
      dryRun: false,
    });
  });

  test('accepts any duration to the millisecond, including zero', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: { schedule: SIX_HOURS, noncurrentVersionsOlderThan: Duration.seconds(90) },
    });
    const other = new s3.Bucket(stack, 'Other', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    new VersionPurger(stack, 'Zero', { bucket: other, retention: { schedule: SIX_HOURS, noncurrentVersionsOlderThan: Duration.seconds(0) } });

    // THEN
    const template = Template.fromStack(stack);
    const refs = { [logicalIdOf(stack, bucket)]: 'b', [logicalIdOf(stack, other)]: 'o' };
    expect(configuredRuns(template, refs).map((i) => i.policy)).toEqual(
      expect.arrayContaining([
        { noncurrentVersionsOlderThanMs: 90_000, expiredDeleteMarkers: false },
        { noncurrentVersionsOlderThanMs: 0, expiredDeleteMarkers: false },
      ]),
    );
  });

  test('targets the shared workflow, with the dead-letter queue, through a role that may start only it', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const machine = logicalIdOfType(template, 'AWS::StepFunctions::StateMachine');
    const queue = logicalIdOfType(template, 'AWS::SQS::Queue');
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Id: 'Target0',
          Arn: { Ref: machine },
          RoleArn: Match.anyValue(),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
          Input: Match.anyValue(),
        },
      ],
    });
    // The schedule does not invoke the function: it starts the workflow. (EventBridge may invoke the function
    // for one rule only: WorkflowClosed, the backstop answer.)
    const invokers = template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'events.amazonaws.com' } });
    expect(Object.values(invokers).map((p: any) => p.Properties.SourceArn)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^CdkVersionPurgerProviderWorkflowClosed/), 'Arn'] },
    ]);
    expect(policyNamed(template, /^CdkVersionPurgerProviderWorkflowEventsRoleDefaultPolicy/).document.Statement).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machine } },
    ]);
    expect(purger.retentionRule).toBeDefined();
  });

  test('the rule waits for its permissions, so that the first run is not refused', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const [rule] = scheduleRules(template);
    expect(rule.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^PurgerRetentionPolicy/)]));
  });
});

describe('VersionPurger retention failures are visible', () => {
  test('asynchronous invocations are not retried and fail to an encrypted, TLS-only queue kept 14 days', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const fn = logicalIdOfType(template, 'AWS::Lambda::Function');
    const queue = logicalIdOfType(template, 'AWS::SQS::Queue');
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    expect(Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'))[0].Properties).toEqual({
      FunctionName: { Ref: fn },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
    });
    template.resourceCountIs('AWS::SQS::Queue', 1);
    expect(Object.values(template.findResources('AWS::SQS::Queue'))[0].Properties).toEqual({
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
          },
        ]),
      },
    });
    expect(purger.deadLetterQueue).toBeDefined();
  });

  test('an alarm adds DeleteErrors, CapReached and RunFailed of this bucket and keeps the last run\'s verdict', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const bucketRef = { Ref: logicalIdOf(stack, bucket) };
    const metric = (id: string, name: string) => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: 'VersionPurger', MetricName: name, Dimensions: [{ Name: 'BucketName', Value: bucketRef }] },
        Period: 300,
        Stat: 'Sum',
      },
      ReturnData: false,
    });
    const alarm = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'errors + cap + failed' })]) },
    });
    expect(Object.values(alarm)).toHaveLength(1);
    expect(Object.values(alarm)[0].Properties).toEqual({
      AlarmDescription: expect.stringMatching(/last retention run for Stack\/Purger failed .*maxDeletionsPerRun/),
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      Threshold: 0,
      TreatMissingData: 'ignore',
      Metrics: [
        { Id: 'expr_1', Expression: 'errors + cap + failed', Label: 'Failed or capped retention runs', ReturnData: true },
        metric('errors', 'DeleteErrors'),
        metric('cap', 'CapReached'),
        metric('failed', 'RunFailed'),
      ],
    });
    expect(purger.retentionAlarm).toBeDefined();
  });

  test('an alarm goes off while the dead-letter queue holds a message', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const queue = logicalIdOfType(template, 'AWS::SQS::Queue');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(purger.deadLetterAlarm).toBeDefined();
  });

  test('a stack without retention keeps teardown as it was: no invoke config, queue, rule or alarm', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket });

    // THEN
    const template = Template.fromStack(stack);
    for (const type of ['AWS::Lambda::EventInvokeConfig', 'AWS::SQS::Queue', 'AWS::CloudWatch::Alarm']) {
      template.resourceCountIs(type, 0);
    }
    // The only rule is the workflow's backstop (WorkflowClosed), which teardown has too.
    expect(scheduleRules(template)).toEqual([]);
    template.resourceCountIs('AWS::Events::Rule', 1);
    expect([purger.retentionRule, purger.retentionAlarm, purger.deadLetterQueue, purger.retentionIamPolicy]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('several purgers with retention share one queue and invoke config, each with its own rule, alarm and policy', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const other = new s3.Bucket(stack, 'Other', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });

    // WHEN
    const a = new VersionPurger(stack, 'PurgerA', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });
    const b = new VersionPurger(stack, 'PurgerB', { bucket: other, retention: { schedule: SIX_HOURS, expiredDeleteMarkers: true } });

    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    expect(scheduleRules(template)).toHaveLength(2);
    // Each purger's alarm, the dead-letter queue's, the workflow's.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    expect(a.deadLetterQueue).toBe(b.deadLetterQueue);
    expect(policyDocuments(template).filter((p) => /^Purger[AB]RetentionPolicy/.test(p.name))).toHaveLength(2);
  });

  test('metricRetention names the bucket\'s metric', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const purger = new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // WHEN
    const metric = purger.metricRetention(RetentionMetric.BYTES_DELETED, { statistic: 'Maximum' });

    // THEN
    expect(metric.namespace).toBe('VersionPurger');
    expect(metric.metricName).toBe('BytesDeleted');
    expect(metric.statistic).toBe('Maximum');
    expect(stack.resolve(metric.dimensions)).toEqual({ BucketName: { Ref: logicalIdOf(stack, bucket) } });
    expect(() => new VersionPurger(stack, 'Plain', { bucket, purgeOnDelete: false }).metricRetention(RetentionMetric.DELETE_ERRORS)).toThrow(
      /needs the retention prop/,
    );
  });
});

describe('VersionPurger retention IAM', () => {
  test('grants exactly list, versioning, Object Lock reads and version deletes: no bucket policy, bypass or tag', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      bypassGovernanceRetention: true,
      retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 },
    });

    // THEN
    const template = Template.fromStack(stack);
    const bucketArn = { 'Fn::GetAtt': [logicalIdOf(stack, bucket), 'Arn'] };
    expect(policyNamed(template, /^PurgerRetentionPolicy/).document).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetBucketObjectLockConfiguration', 's3:GetBucketVersioning', 's3:ListBucket', 's3:ListBucketVersions'],
          Resource: bucketArn,
        },
        {
          Effect: 'Allow',
          Action: ['s3:DeleteObjectVersion', 's3:GetObjectLegalHold', 's3:GetObjectRetention'],
          Resource: { 'Fn::Join': ['', [bucketArn, '/*']] },
        },
      ],
    });
  });

  test('with prefixes, version deletes are granted under those prefixes only', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3, prefixes: ['logs/', 'exports/', 'logs/'] },
    });

    // THEN
    const bucketArn = { 'Fn::GetAtt': [logicalIdOf(stack, bucket), 'Arn'] };
    const [, objects] = policyNamed(Template.fromStack(stack), /^PurgerRetentionPolicy/).document.Statement;
    expect(objects.Resource).toEqual([
      { 'Fn::Join': ['', [bucketArn, '/exports/*']] },
      { 'Fn::Join': ['', [bucketArn, '/logs/*']] },
    ]);
  });

  test('abortIncompleteUploadsAfter adds listing and aborting uploads, under the prefixes only; its value goes to the configured run in ms', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: { schedule: SIX_HOURS, abortIncompleteUploadsAfter: Duration.millis(86_400_001), prefixes: ['logs/', 'tmp/'], exclude: ['logs/keep/'] },
    });

    // THEN
    const template = Template.fromStack(stack);
    const bucketArn = { 'Fn::GetAtt': [logicalIdOf(stack, bucket), 'Arn'] };
    const statements = policyNamed(template, /^PurgerRetentionPolicy/).document.Statement;
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 's3:ListBucketMultipartUploads', Resource: bucketArn });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 's3:AbortMultipartUpload',
      Resource: [{ 'Fn::Join': ['', [bucketArn, '/logs/*']] }, { 'Fn::Join': ['', [bucketArn, '/tmp/*']] }],
    });
    expect(ruleInput(template, { [logicalIdOf(stack, bucket)]: 'b' }).policy).toEqual({
      abortIncompleteUploadsOlderThanMs: 86_400_001,
      expiredDeleteMarkers: false,
      prefixes: ['logs/', 'tmp/'],
      exclude: ['logs/keep/'],
    });
  });

  test('without abortIncompleteUploadsAfter, retention may neither list nor abort uploads', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, purgeOnDelete: false, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const actions = JSON.stringify(policyNamed(Template.fromStack(stack), /^PurgerRetentionPolicy/).document);
    expect(actions).not.toMatch(/MultipartUpload/);
  });

  test('the role may write its logs and send to the dead-letter queue; it may start only its own workflow', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup')).find((id) => id.startsWith('CdkVersionPurgerProviderLogGroup'));
    const queue = logicalIdOfType(template, 'AWS::SQS::Queue');
    expect(policyNamed(template, /^CdkVersionPurgerProviderRoleDefaultPolicy/).document).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] } },
        READ_OWN_STACK,
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
        },
      ],
    });
    expect(policyNamed(template, /^CdkVersionPurgerProviderStartExecutionPolicy/).document.Statement).toEqual(OWN_WORKFLOW_STATEMENTS);
    expect(JSON.stringify(policyDocuments(template).filter((p) => /^CdkVersionPurgerProvider(Role|StartExecution)/.test(p.name)))).not.toContain(
      'lambda:InvokeFunction',
    );
  });

  test('a dry run with a report location may put objects under the report prefix only, and use the bucket\'s KMS key', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const reports = new s3.Bucket(stack, 'Reports', { encryption: s3.BucketEncryption.KMS });

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: {
        schedule: SIX_HOURS,
        keepNoncurrentVersions: 3,
        dryRun: true,
        dryRunReportLocation: { bucket: reports, prefix: 'previews/' },
      },
    });

    // THEN
    const template = Template.fromStack(stack);
    const reportsId = logicalIdOf(stack, reports);
    const keyId = logicalIdOfType(template, 'AWS::KMS::Key');
    const statements = policyNamed(template, /^PurgerRetentionPolicy/).document.Statement;
    expect(statements.slice(2)).toEqual([
      { Effect: 'Allow', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reportsId, 'Arn'] }, '/previews/*']] } },
      { Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    ]);
    expect(ruleInput(template, { [logicalIdOf(stack, bucket)]: 'b', [reportsId]: 'r' })).toMatchObject({
      dryRun: true,
      report: { bucketName: 'r', prefix: 'previews/' },
    });
  });

  test('a report location without dryRun is ignored with a warning and grants nothing', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const reports = new s3.Bucket(stack, 'Reports');

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3, dryRunReportLocation: { bucket: reports } },
    });

    // THEN
    const template = Template.fromStack(stack);
    expect(policyNamed(template, /^PurgerRetentionPolicy/).document.Statement).toHaveLength(2);
    expect(ruleInput(template, { [logicalIdOf(stack, bucket)]: 'b' })).not.toHaveProperty('report');
    Annotations.fromStack(stack).hasWarning('/Stack/Purger', Match.stringLikeRegexp('dryRunReportLocation is set but dryRun is not true'));
  });

  test('the default report prefix is version-purger-reports/', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3, dryRun: true, dryRunReportLocation: { bucket } },
    });

    // THEN
    const bucketId = logicalIdOf(stack, bucket);
    const template = Template.fromStack(stack);
    expect(ruleInput(template, { [bucketId]: 'b' }).report).toEqual({ bucketName: 'b', prefix: 'version-purger-reports/' });
    expect(policyNamed(template, /^PurgerRetentionPolicy/).document.Statement[2].Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/version-purger-reports/*']],
    });
  });
});

describe('VersionPurger retention without teardown', () => {
  test('a retention-only purger (purgeOnDelete: false) neither tags the bucket nor grants the purge permissions', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, purgeOnDelete: false, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { Tags: Match.absent() });
    template.hasResourceProperties('Custom::VersionPurger', { PurgeOnDelete: 'false' });
    expect(policyDocuments(template).map((p) => p.name)).toEqual([
      expect.stringMatching(/^CdkVersionPurgerProviderRoleDefaultPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderStartExecutionPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderWorkflowDistributedMapPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderWorkflowEventsRoleDefaultPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderWorkflowRoleDefaultPolicy/),
      expect.stringMatching(/^PurgerRetentionPolicy/),
    ]);
  });

  test('a retention-only purger accepts a bucket that is retained on stack deletion', () => {
    const stack = new Stack(new App(), 'Stack');
    const bucket = new s3.Bucket(stack, 'Data', { versioned: true });
    expect(
      () => new VersionPurger(stack, 'Purger', { bucket, purgeOnDelete: false, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } }),
    ).not.toThrow();
  });

  test('an imported bucket gets retention with purgeOnDelete: false, with permissions on its ARN', () => {
    // GIVEN
    const stack = new Stack(new App(), 'Stack');
    const imported = s3.Bucket.fromBucketName(stack, 'Imported', 'some-existing-bucket');

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket: imported, purgeOnDelete: false, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    const template = Template.fromStack(stack);
    const arn = (suffix: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::some-existing-bucket${suffix}`]] });
    const [bucketStatement, objectStatement] = policyNamed(template, /^PurgerRetentionPolicy/).document.Statement;
    expect(bucketStatement.Resource).toEqual(arn(''));
    expect(objectStatement.Resource).toEqual(arn('/*'));
    expect(ruleInput(template, {})).toMatchObject({ bucketName: 'some-existing-bucket' });
  });

  test('an imported bucket is still refused while purgeOnDelete is true, retention or not', () => {
    const stack = new Stack(new App(), 'Stack');
    const imported = s3.Bucket.fromBucketName(stack, 'Imported', 'some-existing-bucket');
    expect(() => new VersionPurger(stack, 'Purger', { bucket: imported, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } })).toThrow(
      /is imported.*purgeOnDelete: false/,
    );
  });

  test('warns about a bucket without versioning: retention would find nothing to delete', () => {
    // GIVEN
    const stack = new Stack(new App(), 'Stack');
    const bucket = new s3.Bucket(stack, 'Data');

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, purgeOnDelete: false, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });

    // THEN
    Annotations.fromStack(stack).hasWarning('/Stack/Purger', Match.stringLikeRegexp('is not versioned, so retention finds no noncurrent versions'));
  });

  test('the bucket keeps its purge tag when retention is added to a teardown purger', () => {
    const { stack, bucket } = givenStack();
    const purger = new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, keepNoncurrentVersions: 3 } });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: PURGE_TAG_KEY, Value: purger.ownerId }]),
    });
  });
});

describe('VersionPurger retention synth-time validation', () => {
  test.each<[string, Partial<RetentionOptions>, RegExp]>([
    ['no rule at all', {}, /retention needs at least one rule.*retention never means delete everything/],
    ['expiredDeleteMarkers: false alone', { expiredDeleteMarkers: false }, /retention never means delete everything/],
    ['a negative keepNoncurrentVersions', { keepNoncurrentVersions: -1 }, /keepNoncurrentVersions must be a whole number >= 0, got -1/],
    ['a fractional keepNoncurrentVersions', { keepNoncurrentVersions: 2.5 }, /keepNoncurrentVersions must be a whole number >= 0, got 2.5/],
    ['maxDeletionsPerRun 0', { keepNoncurrentVersions: 1, maxDeletionsPerRun: 0 }, /maxDeletionsPerRun must be a whole number >= 1, got 0/],
    ['a fractional maxDeletionsPerRun', { keepNoncurrentVersions: 1, maxDeletionsPerRun: 1.5 }, /maxDeletionsPerRun must be a whole number >= 1/],
    ['an empty prefixes list', { keepNoncurrentVersions: 1, prefixes: [] }, /prefixes must not be empty/],
    ['an empty prefix', { keepNoncurrentVersions: 1, prefixes: [''] }, /Invalid prefix ""/],
    ['an empty exclude item', { keepNoncurrentVersions: 1, exclude: [''] }, /Invalid exclude item ""/],
    ['a fraction of a millisecond', { noncurrentVersionsOlderThan: Duration.millis(1.5) }, /whole number of milliseconds/],
    [
      'an upload age with a fraction of a millisecond',
      { abortIncompleteUploadsAfter: Duration.millis(0.5) },
      /retention.abortIncompleteUploadsAfter must be a whole number of milliseconds/,
    ],
    [
      'a report prefix with a leading slash',
      { keepNoncurrentVersions: 1, dryRun: true, dryRunReportLocation: { bucket: s3.Bucket.fromBucketName(new Stack(), 'R', 'reports'), prefix: '/x/' } },
      /dryRunReportLocation.prefix must not start with "\/"/,
    ],
  ])('refuses %s', (_name, options, message) => {
    const { stack, bucket } = givenStack();
    const create = () => new VersionPurger(stack, 'Purger', { bucket, retention: { schedule: SIX_HOURS, ...options } });
    expect(create).toThrow(message);
    expect(() => new VersionPurger(stack, 'Purger2', { bucket, retention: { schedule: SIX_HOURS, ...options } })).toThrow(
      VersionPurgerValidationError,
    );
  });

  test('refuses a retention without schedule', () => {
    const { stack, bucket } = givenStack();
    expect(() => new VersionPurger(stack, 'Purger', { bucket, retention: { keepNoncurrentVersions: 1 } as unknown as RetentionOptions })).toThrow(
      /retention.schedule is required/,
    );
  });

  test('skips the checks for unresolved tokens and passes them to the rule input', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const keep = new CfnParameter(stack, 'Keep', { type: 'Number' });
    const cap = new CfnParameter(stack, 'Cap', { type: 'Number' });
    const ms = new CfnParameter(stack, 'Ms', { type: 'Number' });

    // WHEN / THEN
    expect(
      () =>
        new VersionPurger(stack, 'Purger', {
          bucket,
          retention: {
            schedule: SIX_HOURS,
            keepNoncurrentVersions: keep.valueAsNumber,
            maxDeletionsPerRun: cap.valueAsNumber,
            noncurrentVersionsOlderThan: Duration.millis(ms.valueAsNumber),
          },
        }),
    ).not.toThrow();
    const input = Object.values(Template.fromStack(stack).findResources('Custom::VersionPurger'))[0].Metadata;
    for (const parameter of ['Keep', 'Cap', 'Ms']) expect(JSON.stringify(input)).toContain(`{"Ref":"${parameter}"}`);
  });

  test('a duration from a token must be given in milliseconds', () => {
    const { stack, bucket } = givenStack();
    const days = new CfnParameter(stack, 'Days', { type: 'Number' });
    expect(
      () =>
        new VersionPurger(stack, 'Purger', {
          bucket,
          retention: { schedule: SIX_HOURS, noncurrentVersionsOlderThan: Duration.days(days.valueAsNumber) },
        }),
    ).toThrow(/comes from a token: give it as Duration.millis\(token\)/);
  });
});

/** A stack with a versioned bucket that is destroyed with it. */
function givenStack(app = new App(), id = 'Stack'): { stack: Stack; bucket: s3.Bucket } {
  const stack = new Stack(app, id);
  const bucket = new s3.Bucket(stack, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
  return { stack, bucket };
}

/** Logical id of a construct's CloudFormation resource. */
function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.resolve((construct.node.defaultChild as s3.CfnBucket).logicalId);
}

/** Logical id of the only resource of a type. */
function logicalIdOfType(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0];
}



/** The only configured retention run, resolved. */
function ruleInput(template: Template, refs: Record<string, string>): any {
  const inputs = configuredRuns(template, refs);
  expect(inputs).toHaveLength(1);
  return inputs[0];
}

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { VersionPurger, type VersionPurgerProps, VersionPurgerValidationError } from '../../lib';
import { handlerAssetDir } from '../../lib/handler-asset';
import { OWN_WORKFLOW_STATEMENTS, policyDocuments, policyNamed, READ_OWN_STACK } from '../support/template';

const { PURGE_TAG_KEY } = VersionPurger;

describe('VersionPurger resources', () => {
  test('creates one custom resource naming the bucket, and a Node.js 24 function with a one-month log group', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket });

    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::VersionPurger', 1);
    template.hasResourceProperties('Custom::VersionPurger', {
      ServiceToken: { 'Fn::GetAtt': [functionLogicalId(template), 'Arn'] },
      ServiceTimeout: '3600',
      BucketName: { Ref: logicalIdOf(stack, bucket) },
      PurgeOnDelete: 'true',
      FenceWrites: 'true',
      BypassGovernanceRetention: 'false',
    });
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      MemorySize: 1769,
      Timeout: 900,
      LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete' });
  });

  test('passes memory, timeout, runtime, log retention and serviceTimeout overrides through', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', {
      bucket,
      memorySize: 2048,
      timeout: Duration.minutes(5),
      runtime: lambda.Runtime.NODEJS_22_X,
      logRetention: logs.RetentionDays.ONE_WEEK,
      serviceTimeout: Duration.minutes(20),
    });

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048, Timeout: 300, Runtime: 'nodejs22.x' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('Custom::VersionPurger', { ServiceTimeout: '1200' });
  });

  test('tags the bucket it owns for purging', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket });

    // THEN the tag and the resource name the same owner: this construct
    const template = Template.fromStack(stack);
    expect(purger.ownerId).toBe(purger.node.addr);
    template.hasResourceProperties('AWS::S3::Bucket', { Tags: Match.arrayWith([{ Key: PURGE_TAG_KEY, Value: purger.ownerId }]) });
    template.hasResourceProperties('Custom::VersionPurger', { OwnerId: purger.ownerId });
  });

  test('purgeOnDelete: false neither tags the bucket nor grants access to it, and tells the handler', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, purgeOnDelete: false });

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { Tags: Match.absent() });
    template.hasResourceProperties('Custom::VersionPurger', { PurgeOnDelete: 'false' });
    expect(policyDocuments(template).map((p) => p.name)).toEqual([
      expect.stringMatching(/^CdkVersionPurgerProviderRoleDefaultPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderStartExecutionPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderWorkflowDistributedMapPolicy/),
      expect.stringMatching(/^CdkVersionPurgerProviderWorkflowRoleDefaultPolicy/),
    ]);
  });

  test('two purgers in a stack share one function and role, each with its own bucket policy', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const other = new s3.Bucket(stack, 'Other', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });

    // WHEN
    new VersionPurger(stack, 'PurgerA', { bucket });
    new VersionPurger(stack, 'PurgerB', { bucket: other, bypassGovernanceRetention: true });

    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    // The function's role, and the workflow's.
    template.resourceCountIs('AWS::IAM::Role', 2);
    // The function's log group, and the workflow's.
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.resourceCountIs('Custom::VersionPurger', 2);
    const fn = functionLogicalId(template);
    for (const resource of Object.values(template.findResources('Custom::VersionPurger'))) {
      expect(resource.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [fn, 'Arn'] });
    }
    const bucketPolicies = policyDocuments(template).filter((p) => /^Purger[AB]HandlerPolicy/.test(p.name));
    expect(bucketPolicies).toHaveLength(2);
    for (const p of bucketPolicies) expect(p.roles).toEqual([{ Ref: roleLogicalId(template) }]);
  });

  test('a second purger asking for other function settings is refused', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const other = new s3.Bucket(stack, 'Other', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    new VersionPurger(stack, 'PurgerA', { bucket, memorySize: 2048 });

    // WHEN / THEN
    expect(() => new VersionPurger(stack, 'PurgerB', { bucket: other, memorySize: 512 })).toThrow(
      /shares one Lambda function.*memorySize 512 \(the function has 2048\)/,
    );
    const third = new s3.Bucket(stack, 'Third', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
    expect(() => new VersionPurger(stack, 'PurgerC', { bucket: third, memorySize: 2048 })).not.toThrow();
  });

  test('purgers in two stacks get one function each', () => {
    // GIVEN
    const app = new App();
    const a = givenStack(app, 'A');
    const b = givenStack(app, 'B');

    // WHEN
    new VersionPurger(a.stack, 'Purger', { bucket: a.bucket });
    new VersionPurger(b.stack, 'Purger', { bucket: b.bucket });

    // THEN
    Template.fromStack(a.stack).resourceCountIs('AWS::Lambda::Function', 1);
    Template.fromStack(b.stack).resourceCountIs('AWS::Lambda::Function', 1);
  });
});

describe('VersionPurger ownership', () => {
  test('a second purger that empties the same bucket is refused, naming both', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    new VersionPurger(stack, 'First', { bucket });

    // WHEN / THEN
    expect(() => new VersionPurger(stack, 'Second', { bucket })).toThrow(
      /bucket Stack\/Data already has a VersionPurger that empties it on delete \(Stack\/First\); this one \(Stack\/Second\)/,
    );
    expect(() => new VersionPurger(stack, 'RetentionOnly', { bucket, purgeOnDelete: false })).not.toThrow();
  });

  test('renaming or moving the purger changes its owner id, so the old resource no longer owns the bucket', () => {
    // GIVEN
    const ownerOf = (build: (stack: Stack, bucket: s3.Bucket) => VersionPurger): string => {
      const { stack, bucket } = givenStack();
      const purger = build(stack, bucket);
      const tags = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket'))[0].Properties.Tags;
      expect(tags).toEqual([{ Key: PURGE_TAG_KEY, Value: purger.ownerId }]);
      return purger.ownerId;
    };

    // WHEN
    const original = ownerOf((stack, bucket) => new VersionPurger(stack, 'Purger', { bucket }));
    const again = ownerOf((stack, bucket) => new VersionPurger(stack, 'Purger', { bucket }));
    const renamed = ownerOf((stack, bucket) => new VersionPurger(stack, 'Cleaner', { bucket }));
    const moved = ownerOf((stack, bucket) => new VersionPurger(new Construct(stack, 'Group'), 'Purger', { bucket }));

    // THEN
    expect(again).toBe(original);
    expect(new Set([original, renamed, moved]).size).toBe(3);
  });

  test('the shared function keeps its construct path and logical id, so the ServiceToken never changes across releases', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket });

    // THEN CloudFormation refuses to change a custom resource's ServiceToken on update
    expect(purger.handlerFunction.node.path).toBe('Stack/CdkVersionPurgerProvider/Handler');
    expect(functionLogicalId(Template.fromStack(stack))).toBe('CdkVersionPurgerProviderHandlerD4185639');
    Template.fromStack(stack).hasResourceProperties('Custom::VersionPurger', {
      ServiceToken: { 'Fn::GetAtt': ['CdkVersionPurgerProviderHandlerD4185639', 'Arn'] },
    });
  });
});

describe('VersionPurger IAM', () => {
  test('grants exactly the purge permissions, on this bucket only', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket });

    // THEN
    const template = Template.fromStack(stack);
    const bucketId = logicalIdOf(stack, bucket);
    expect(policyNamed(template, /^PurgerHandlerPolicy/).document).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            's3:GetBucketObjectLockConfiguration',
            's3:GetBucketTagging',
            's3:GetBucketVersioning',
            's3:ListBucket',
            's3:ListBucketMultipartUploads',
            's3:ListBucketVersions',
            's3:GetBucketPolicy',
            's3:PutBucketPolicy',
          ],
          Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObjectLegalHold', 's3:GetObjectRetention'],
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
        },
      ],
    });
  });

  test('the role may write its own log group, read its own stack and start its own workflow, nothing else', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket });

    // THEN
    const template = Template.fromStack(stack);
    const logGroupId = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    expect(policyNamed(template, /^CdkVersionPurgerProviderRoleDefaultPolicy/).document).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        },
        READ_OWN_STACK,
      ],
    });
    expect(policyNamed(template, /^CdkVersionPurgerProviderStartExecutionPolicy/).document).toEqual({
      Version: '2012-10-17',
      Statement: OWN_WORKFLOW_STATEMENTS,
    });
    const functionRolePolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('CdkVersionPurgerProviderRole'),
    );
    expect(JSON.stringify(functionRolePolicies)).not.toContain('lambda:InvokeFunction');
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
  });

  test('bypassGovernanceRetention adds s3:BypassGovernanceRetention; fenceWrites: false drops the bucket policy actions', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket, bypassGovernanceRetention: true, fenceWrites: false });

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::VersionPurger', { BypassGovernanceRetention: 'true', FenceWrites: 'false' });
    const [bucketStatement, objectStatement] = policyNamed(template, /^PurgerHandlerPolicy/).document.Statement;
    expect(bucketStatement.Action).toEqual([
      's3:GetBucketObjectLockConfiguration',
      's3:GetBucketTagging',
      's3:GetBucketVersioning',
      's3:ListBucket',
      's3:ListBucketMultipartUploads',
      's3:ListBucketVersions',
    ]);
    expect(objectStatement.Action).toEqual([
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObjectLegalHold',
      's3:GetObjectRetention',
      's3:BypassGovernanceRetention',
    ]);
  });

  test('the custom resource depends on its permissions and on the bucket policy, also one added later', () => {
    // GIVEN
    const { stack, bucket } = givenStack();

    // WHEN
    const purger = new VersionPurger(stack, 'Purger', { bucket });
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], principals: [new iam.AccountRootPrincipal()], resources: [bucket.arnForObjects('*')] }),
    );

    // THEN
    const template = Template.fromStack(stack);
    const dependsOn: string[] = template.findResources('Custom::VersionPurger')[logicalIdOf(stack, purger.customResource)].DependsOn;
    expect(dependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PurgerHandlerPolicy/),
        expect.stringMatching(/^CdkVersionPurgerProviderStartExecutionPolicy/),
        expect.stringMatching(/^CdkVersionPurgerProviderWorkflow[0-9A-F]{8}$/),
        Object.keys(template.findResources('AWS::S3::BucketPolicy'))[0],
      ]),
    );
  });
});

describe('VersionPurger synth-time validation', () => {
  test('without a bucket, fails with a VersionPurgerValidationError saying what to pass, not a TypeError', () => {
    // GIVEN: a caller without type checking (JavaScript, or another jsii language) leaves bucket out
    const stack = new Stack(new App(), 'Stack');
    const props = {} as unknown as VersionPurgerProps;

    // WHEN
    let error: unknown;
    try {
      new VersionPurger(stack, 'Purger', props);
    } catch (e) {
      error = e;
    }

    // THEN
    expect(error).toBeInstanceOf(VersionPurgerValidationError);
    expect((error as Error).message).toMatch(/^Stack\/Purger: bucket is required: pass the versioned bucket to empty/);
  });

  test('refuses a bucket that is retained on stack deletion', () => {
    // GIVEN
    const stack = new Stack(new App(), 'Stack');
    const bucket = new s3.Bucket(stack, 'Data', { versioned: true });

    // WHEN / THEN
    expect(() => new VersionPurger(stack, 'Purger', { bucket })).toThrow(
      /DeletionPolicy Retain.*removalPolicy: RemovalPolicy.DESTROY/,
    );
    expect(() => new VersionPurger(stack, 'Purger2', { bucket })).toThrow(VersionPurgerValidationError);
  });

  test('accepts a retained bucket when purgeOnDelete is false', () => {
    const stack = new Stack(new App(), 'Stack');
    const bucket = new s3.Bucket(stack, 'Data', { versioned: true });
    expect(() => new VersionPurger(stack, 'Purger', { bucket, purgeOnDelete: false })).not.toThrow();
  });

  test('fails synth when the removal policy is changed to RETAIN after the construct', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    new VersionPurger(stack, 'Purger', { bucket });

    // WHEN
    bucket.applyRemovalPolicy(RemovalPolicy.RETAIN);

    // THEN
    expect(() => Template.fromStack(stack)).toThrow(/DeletionPolicy Retain/);
  });

  test('refuses an imported bucket, unless purgeOnDelete is false', () => {
    // GIVEN
    const stack = new Stack(new App(), 'Stack');
    const imported = s3.Bucket.fromBucketName(stack, 'Imported', 'some-existing-bucket');

    // WHEN / THEN
    expect(() => new VersionPurger(stack, 'Purger', { bucket: imported })).toThrow(/is imported.*cannot tag them/);
    expect(() => new VersionPurger(stack, 'Kept', { bucket: imported, purgeOnDelete: false })).not.toThrow();
  });

  test('refuses a bucket of another stack', () => {
    // GIVEN
    const app = new App();
    const { bucket } = givenStack(app, 'Owner');
    const other = new Stack(app, 'Other');

    // WHEN / THEN
    expect(() => new VersionPurger(other, 'Purger', { bucket })).toThrow(/belongs to stack Owner, not Other/);
  });

  test.each([
    [Duration.seconds(0), /serviceTimeout must be a whole number of seconds from 1 to 3600.*got 0 seconds/],
    [Duration.seconds(3601), /serviceTimeout .* got 1 hour 1 second/],
    [Duration.millis(1500), /serviceTimeout must be a whole number/],
  ])('refuses serviceTimeout %s', (serviceTimeout, message) => {
    const { stack, bucket } = givenStack();
    expect(() => new VersionPurger(stack, 'Purger', { bucket, serviceTimeout })).toThrow(message);
  });

  test.each([64, 10_241, 1024.5])('refuses memorySize %s', (memorySize) => {
    const { stack, bucket } = givenStack();
    expect(() => new VersionPurger(stack, 'Purger', { bucket, memorySize })).toThrow(/memorySize must be a whole number of MB from 128 to 10240/);
  });

  test.each([Duration.minutes(16), Duration.millis(500)])('refuses timeout %s', (timeout) => {
    const { stack, bucket } = givenStack();
    expect(() => new VersionPurger(stack, 'Purger', { bucket, timeout })).toThrow(/timeout must be from 1 second to 15 minutes/);
  });

  test.each([lambda.Runtime.NODEJS_20_X, lambda.Runtime.PYTHON_3_13])('refuses runtime %s', (runtime) => {
    const { stack, bucket } = givenStack();
    expect(() => new VersionPurger(stack, 'Purger', { bucket, runtime })).toThrow(/runtime must be Node.js 22 or later/);
  });

  test('skips the checks for unresolved tokens', () => {
    // GIVEN
    const { stack, bucket } = givenStack();
    const seconds = new CfnParameter(stack, 'Seconds', { type: 'Number' });

    // WHEN / THEN
    expect(() => new VersionPurger(stack, 'Purger', { bucket, serviceTimeout: Duration.seconds(seconds.valueAsNumber) })).not.toThrow();
  });

  test('warns, without failing, about a bucket that is not versioned', () => {
    // GIVEN
    const stack = new Stack(new App(), 'Stack');
    const bucket = new s3.Bucket(stack, 'Data', { removalPolicy: RemovalPolicy.DESTROY });

    // WHEN
    new VersionPurger(stack, 'Purger', { bucket });

    // THEN
    Annotations.fromStack(stack).hasWarning('/Stack/Purger', Match.stringLikeRegexp('is not versioned'));
  });
});

describe('handler asset', () => {
  test('is found from the source tree', () => {
    expect(fs.existsSync(path.join(handlerAssetDir(), 'index.js'))).toBe(true);
  });

  test('a missing bundle fails with the command that builds it', () => {
    // GIVEN a package without assets/handler
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-asset-'));
    fs.writeFileSync(path.join(root, 'package.json'), '{}');
    fs.mkdirSync(path.join(root, 'dist', 'lib'), { recursive: true });

    // WHEN / THEN
    expect(() => handlerAssetDir(path.join(root, 'dist', 'lib'))).toThrow(/handler bundle .* is missing\. Run "npm run build"/);
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

function functionLogicalId(template: Template): string {
  return Object.keys(template.findResources('AWS::Lambda::Function'))[0];
}

function roleLogicalId(template: Template): string {
  return Object.keys(template.findResources('AWS::IAM::Role'))[0];
}



import {
  Annotations,
  Aspects,
  CfnDeletionPolicy,
  type CfnResource,
  CustomResource,
  Duration,
  type IAspect,
  Stack,
  Tags,
  Token,
  Validations,
} from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import {
  FENCE_STATEMENT_SID,
  METRICS_DIMENSION,
  METRICS_NAMESPACE,
  PROPERTY,
  PURGE_TAG_KEY,
  RESOURCE_TYPE,
} from './private/handler-contract';
import type { RetentionMetric } from './retention-metric';
import {
  DEAD_LETTER_RETENTION,
  DEFAULT_LOG_RETENTION,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MEMORY_SIZE,
  DEFAULT_RUNTIME,
  DEFAULT_TIMEOUT,
  MAX_MAX_CONCURRENCY,
  VersionPurgerProvider,
} from './version-purger-provider';
import {
  DEFAULT_MAX_DELETIONS_PER_RUN,
  DEFAULT_REPORT_PREFIX,
  PurgerRetention,
  type RetentionOptions,
} from './version-purger-retention';
import { VersionPurgerValidationError } from './validation-error';

/** CloudFormation's limit on a custom resource's ServiceTimeout (s). */
const MAX_SERVICE_TIMEOUT_SECONDS = 3600;
/** Default serviceTimeout: CloudFormation's maximum. */
const DEFAULT_SERVICE_TIMEOUT = Duration.seconds(MAX_SERVICE_TIMEOUT_SECONDS);
/** Lambda's memory range (MB). */
const MIN_MEMORY_MB = 128;
const MAX_MEMORY_MB = 10_240;
/** Lambda's timeout range (s). */
const MAX_TIMEOUT_SECONDS = 900;
/** Oldest Node.js major the handler bundle runs on. */
const MIN_NODE_MAJOR = 22;

/**
 * The purger that arms teardown for each bucket construct, so that a second
 * one for the same bucket is refused: each would tag the bucket with its own
 * owner id, and the Delete of either could not tell which one CloudFormation
 * meant to keep.
 */
const teardownOwners = new WeakMap<IConstruct, VersionPurger>();

/**
 * Properties for `VersionPurger`.
 */
export interface VersionPurgerProps {
  /**
   * The bucket to empty when the stack is deleted. It must be defined in the
   * same stack (`new s3.Bucket(...)`) and, with `purgeOnDelete`, have
   * `removalPolicy: RemovalPolicy.DESTROY`.
   *
   * Imported buckets (`s3.Bucket.fromBucketName` and friends) and buckets of
   * other stacks are refused while `purgeOnDelete` is true: CloudFormation
   * cannot tag them, and without the tag removing the construct could not be
   * told apart from deleting the stack.
   */
  readonly bucket: s3.IBucket;

  /**
   * Empty the bucket when this resource is deleted (stack deletion). When
   * false, the bucket is not tagged, the function gets no permissions on it,
   * and Delete leaves it as it is.
   * @default true
   */
  readonly purgeOnDelete?: boolean;

  /**
   * Before purging, add a statement to the bucket policy that denies
   * `s3:PutObject` to everyone (Sid `VersionPurgerDenyWrites`), so that late
   * writers cannot refill the bucket while it is emptied. Other statements
   * are kept.
   * @default true
   */
  readonly fenceWrites?: boolean;

  /**
   * Delete versions under GOVERNANCE-mode Object Lock retention, by sending
   * `x-amz-bypass-governance-retention` (only to Object Lock buckets) and
   * granting `s3:BypassGovernanceRetention`. COMPLIANCE retention and legal
   * holds can never be bypassed: such versions make the deletion fail with a
   * clear reason.
   * @default false
   */
  readonly bypassGovernanceRetention?: boolean;

  /**
   * How long CloudFormation waits for the purge (the custom resource's
   * `ServiceTimeout`), from 1 second to 1 hour. A purge that needs longer
   * answers FAILED shortly before the limit, saying how far it got; retrying
   * the stack deletion continues it.
   * @default Duration.hours(1)
   */
  readonly serviceTimeout?: Duration;

  /**
   * Memory of the shared handler function (MB, 128 to 10,240). Shared by
   * every `VersionPurger` in the stack: set it on all of them alike, or on
   * the first one only.
   * @default 1769
   */
  readonly memorySize?: number;

  /**
   * Timeout of one handler invocation (1 second to 15 minutes). A key range
   * that needs longer continues in the next slice of the workflow. Shared
   * like `memorySize`.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;

  /**
   * Runtime of the handler function: Node.js 22 or later. Shared like
   * `memorySize`.
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * Key ranges purged at once: the largest number of child executions of the
   * workflow's Distributed Map in flight, each one invocation of the handler
   * working on its own disjoint key range (1 to 10,000, Step Functions'
   * limit). More ranges in flight use more of S3's per-partition request
   * rates and more concurrent Lambda invocations. Shared like `memorySize`.
   * @default 16
   */
  readonly maxConcurrency?: number;

  /**
   * Retention of the handler's log group. Shared like `memorySize`.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Scheduled retention cleanup: on the given schedule, delete the bucket's
   * noncurrent versions and expired delete markers that the policy selects.
   * The current version of a key is never deleted.
   *
   * Works with `purgeOnDelete: false`, and then also with imported buckets
   * and buckets of other stacks: retention never deletes current data and
   * does not rely on the teardown tag.
   *
   * The first retention schedule in a stack also makes the shared function's
   * asynchronous invocations unretried (`retryAttempts: 0`) with an SQS
   * on-failure destination (see README.md, "Usage: retention").
   * @default - no scheduled cleanup
   */
  readonly retention?: RetentionOptions;
}

/**
 * Empties a versioned S3 bucket (every version and delete marker) when the
 * stack is deleted, before CloudFormation deletes the bucket.
 *
 * One Lambda function and one Step Functions workflow per stack serve every
 * `VersionPurger` in it. On Delete the function checks that the bucket still
 * carries the `cdk-version-purger:purge-on-delete` tag, denies new writes in
 * the bucket policy, then starts the workflow, which deletes in passes over
 * disjoint key ranges in parallel (a Distributed Map) until a listing comes
 * back empty; the answer to CloudFormation comes once, at the end.
 * Create and Update never delete anything.
 *
 * With `retention`, the same workflow also cleans the bucket up on a
 * schedule: an EventBridge rule starts it with the purger's name, and it
 * deletes the noncurrent versions and expired delete markers the configured
 * policy selects, never a current version (see README.md, "Usage: retention").
 *
 * @example
 * import { Duration, RemovalPolicy } from 'aws-cdk-lib';
 * import * as events from 'aws-cdk-lib/aws-events';
 * import * as s3 from 'aws-cdk-lib/aws-s3';
 * import { VersionPurger } from 'cdk-version-purger';
 *
 * const bucket = new s3.Bucket(this, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY });
 * new VersionPurger(this, 'Purger', {
 *   bucket,
 *   retention: { schedule: events.Schedule.rate(Duration.hours(6)), noncurrentVersionsOlderThan: Duration.days(30) },
 * });
 */
export class VersionPurger extends Construct {
  /** Default of `serviceTimeout`: CloudFormation's maximum, 1 hour. */
  public static readonly DEFAULT_SERVICE_TIMEOUT: Duration = DEFAULT_SERVICE_TIMEOUT;
  /**
   * Default of `memorySize` (MB): one full vCPU, which the single-threaded
   * engine saturates at about 16 busy prefixes.
   */
  public static readonly DEFAULT_MEMORY_SIZE: number = DEFAULT_MEMORY_SIZE;
  /** Default of `timeout`: Lambda's maximum, 15 minutes. */
  public static readonly DEFAULT_TIMEOUT: Duration = DEFAULT_TIMEOUT;
  /** Default of `runtime`: the newest Node.js runtime aws-cdk-lib offers. */
  public static readonly DEFAULT_RUNTIME: lambda.Runtime = DEFAULT_RUNTIME;
  /** Default of `maxConcurrency`: key ranges in flight at once. */
  public static readonly DEFAULT_MAX_CONCURRENCY: number = DEFAULT_MAX_CONCURRENCY;
  /** Default of `logRetention`. */
  public static readonly DEFAULT_LOG_RETENTION: logs.RetentionDays = DEFAULT_LOG_RETENTION;
  /** How long the dead-letter queue keeps failed invocations: SQS's maximum, 14 days. */
  public static readonly DEAD_LETTER_RETENTION: Duration = DEAD_LETTER_RETENTION;
  /** Default of `RetentionOptions.maxDeletionsPerRun`. */
  public static readonly DEFAULT_MAX_DELETIONS_PER_RUN: number = DEFAULT_MAX_DELETIONS_PER_RUN;
  /** Default of `DryRunReportLocation.prefix`. */
  public static readonly DEFAULT_REPORT_PREFIX: string = DEFAULT_REPORT_PREFIX;
  /** Key of the tag that marks a bucket as owned by one purger (its value is the purger's `ownerId`). */
  public static readonly PURGE_TAG_KEY: string = PURGE_TAG_KEY;
  /** `Sid` of the deny-PutObject statement the handler adds to the bucket policy before purging. */
  public static readonly FENCE_STATEMENT_SID: string = FENCE_STATEMENT_SID;
  /** CloudFormation resource type of the purge custom resource. */
  public static readonly RESOURCE_TYPE: string = RESOURCE_TYPE;
  /** CloudWatch namespace of the retention metrics. */
  public static readonly METRICS_NAMESPACE: string = METRICS_NAMESPACE;
  /** The one dimension of every retention metric (its value is the bucket name). */
  public static readonly METRICS_DIMENSION: string = METRICS_DIMENSION;

  /** The bucket this construct purges. */
  public readonly bucket: s3.IBucket;
  /** The stack's shared handler function. */
  public readonly handlerFunction: lambda.IFunction;
  /** The stack's shared workflow: runs every teardown and retention run over key ranges. */
  public readonly stateMachine: sfn.IStateMachine;
  /**
   * In ALARM after a workflow execution failed, timed out or was aborted
   * (a retention run that failed ends its execution so). Created with the
   * first retention schedule in the stack.
   */
  public readonly workflowAlarm?: cloudwatch.IAlarm;
  /** The `Custom::VersionPurger` resource. */
  public readonly customResource: CustomResource;
  /**
   * Identity of this purger: its construct address (`node.addr`). With
   * `purgeOnDelete`, the bucket's `cdk-version-purger:purge-on-delete` tag
   * carries it, and so do the custom resource's properties (`OwnerId`). A
   * Delete purges only when both match, so renaming or moving this construct
   * (which changes its address and CloudFormation logical id) never empties
   * the bucket.
   */
  public readonly ownerId: string;
  /**
   * The IAM policy, attached to the shared function's role, that lets the
   * handler empty this bucket on stack deletion (list, delete versions, and
   * with `fenceWrites` edit the bucket policy). Not a bucket policy.
   * Undefined when `purgeOnDelete` is false.
   */
  public readonly purgeOnDeleteIamPolicy?: iam.Policy;
  /** The EventBridge rule that starts retention runs; undefined without `retention`. */
  public readonly retentionRule?: events.Rule;
  /**
   * The IAM policy, attached to the shared function's role, that lets the
   * handler clean up this bucket by retention (and write the dry-run report);
   * undefined without `retention`.
   */
  public readonly retentionIamPolicy?: iam.Policy;
  /**
   * In ALARM after a retention run that failed (`DeleteErrors` or `RunFailed`
   * > 0) or stopped at `maxDeletionsPerRun` (`CapReached`), until a run
   * succeeds. Add your actions to it. Undefined without `retention`.
   */
  public readonly retentionAlarm?: cloudwatch.Alarm;
  /**
   * The stack's dead-letter queue: the shared function's on-failure
   * destination for asynchronous invocations, and the schedule rules' DLQ.
   * Undefined without `retention`.
   */
  public readonly deadLetterQueue?: sqs.IQueue;
  /** In ALARM while {@link deadLetterQueue} holds a message. Undefined without `retention`. */
  public readonly deadLetterAlarm?: cloudwatch.Alarm;
  private readonly retention?: PurgerRetention;

  constructor(scope: Construct, id: string, props: VersionPurgerProps) {
    super(scope, id);
    const settings = this.validate(props);
    this.bucket = props.bucket;
    this.ownerId = this.node.addr;
    if (settings.purgeOnDelete) this.claimTeardown(props.bucket);

    const provider = VersionPurgerProvider.getOrCreate(this, {
      memorySize: props.memorySize,
      timeout: props.timeout,
      runtime: props.runtime,
      logRetention: props.logRetention,
      maxConcurrency: props.maxConcurrency,
    });
    this.handlerFunction = provider.function;
    this.stateMachine = provider.stateMachine;
    if (settings.purgeOnDelete) {
      this.purgeOnDeleteIamPolicy = this.grantPurge(provider, props.bucket, settings);
      Tags.of(props.bucket).add(PURGE_TAG_KEY, this.ownerId);
    }
    this.customResource = this.createCustomResource(provider, props.bucket, settings);

    if (props.retention) {
      this.retention = new PurgerRetention(this, 'Retention', { bucket: props.bucket, provider, options: props.retention,
        purgerResource: this.customResource.node.defaultChild as CfnResource,
      });
      const failure = provider.enableRetention();
      this.retentionRule = this.retention.rule;
      this.retentionIamPolicy = this.retention.iamPolicy;
      this.retentionAlarm = this.retention.alarm;
      this.deadLetterQueue = failure.deadLetterQueue;
      this.deadLetterAlarm = failure.deadLetterAlarm;
      this.workflowAlarm = failure.workflowAlarm;
    }
    this.orderDeletion(provider, props.bucket, settings.cfnBucket);
  }

  /**
   * A metric the retention runs for this bucket emit (namespace
   * `VersionPurger`, dimension `BucketName`; Sum over 5 minutes unless
   * overridden), for dashboards and your own alarms.
   * @throws Error when this purger has no `retention`.
   */
  public metricRetention(metricName: RetentionMetric, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.retention) throw new VersionPurgerValidationError(this, 'metricRetention needs the retention prop.');
    return this.retention.metric(metricName, props);
  }

  /**
   * Checks the props and fills in the defaults of the teardown settings.
   * Throws before anything is created, so a bad prop leaves no half-built
   * construct behind.
   */
  private validate(props: VersionPurgerProps): TeardownSettings {
    if (!props || !props.bucket) {
      throw new VersionPurgerValidationError(
        this,
        'bucket is required: pass the versioned bucket to empty, e.g. ' +
          "new VersionPurger(this, 'Purger', { bucket }) with bucket = new s3.Bucket(this, 'Data', { versioned: true, removalPolicy: RemovalPolicy.DESTROY }).",
      );
    }
    const purgeOnDelete = props.purgeOnDelete ?? true;
    const serviceTimeout = props.serviceTimeout ?? DEFAULT_SERVICE_TIMEOUT;
    this.validateFunctionSettings(props);
    validateServiceTimeout(this, serviceTimeout);
    const cfnBucket = purgeOnDelete ? this.validateOwnedBucket(props.bucket) : undefined;
    if (props.retention && !purgeOnDelete) this.warnIfUnversioned(props.bucket);
    return {
      purgeOnDelete,
      fenceWrites: props.fenceWrites ?? true,
      bypassGovernanceRetention: props.bypassGovernanceRetention ?? false,
      serviceTimeout,
      cfnBucket,
    };
  }

  /** The `Custom::VersionPurger` resource: what the handler reads on Create, Update and Delete. */
  private createCustomResource(provider: VersionPurgerProvider, bucket: s3.IBucket, settings: TeardownSettings): CustomResource {
    return new CustomResource(this, 'Resource', {
      serviceToken: provider.function.functionArn,
      resourceType: RESOURCE_TYPE,
      serviceTimeout: settings.serviceTimeout,
      properties: {
        [PROPERTY.bucketName]: bucket.bucketName,
        [PROPERTY.ownerId]: this.ownerId,
        [PROPERTY.purgeOnDelete]: String(settings.purgeOnDelete),
        [PROPERTY.fenceWrites]: String(settings.fenceWrites),
        [PROPERTY.bypassGovernanceRetention]: String(settings.bypassGovernanceRetention),
      },
    });
  }

  /**
   * Makes CloudFormation delete the custom resource (and so run the purge)
   * before everything the handler needs while it purges: the workflow and
   * the permission to start it, its bucket permissions and the bucket's policy.
   */
  private orderDeletion(provider: VersionPurgerProvider, bucket: s3.IBucket, cfnBucket: s3.CfnBucket | undefined): void {
    this.customResource.node.addDependency(provider.startExecutionPolicy, provider.stateMachine);
    if (this.purgeOnDeleteIamPolicy) this.customResource.node.addDependency(this.purgeOnDeleteIamPolicy);
    if (cfnBucket) {
      // A bucket policy added after this construct (addToResourcePolicy) must
      // also outlive the purge, or its deletion would drop the write fence.
      Aspects.of(this).add(new DependOnBucketPolicy(this, bucket));
      this.node.addValidation({ validate: () => deletionPolicyErrors(cfnBucket) });
    }
  }

  /** Refuses a second purger with `purgeOnDelete` for the same bucket. */
  private claimTeardown(bucket: s3.IBucket): void {
    const existing = teardownOwners.get(bucket);
    if (existing) {
      throw new VersionPurgerValidationError(
        this,
        `bucket ${bucket.node.path} already has a VersionPurger that empties it on delete (${existing.node.path}); ` +
          `this one (${this.node.path}) would be a second. A bucket takes one VersionPurger with purgeOnDelete: ` +
          'remove one of them, or set purgeOnDelete: false on this one (for example to add a retention schedule).',
      );
    }
    teardownOwners.set(bucket, this);
  }

  /** Warns when a bucket defined in this app is not versioned: retention then has nothing to delete. */
  private warnIfUnversioned(bucket: s3.IBucket): void {
    const cfnBucket = bucket.node.defaultChild;
    if (!(cfnBucket instanceof s3.CfnBucket) || Token.isUnresolved(cfnBucket.versioningConfiguration)) return;
    const status = (cfnBucket.versioningConfiguration as s3.CfnBucket.VersioningConfigurationProperty | undefined)?.status;
    if (status !== 'Enabled' && !Token.isUnresolved(status)) {
      Annotations.of(this).addWarningV2(
        'cdk-version-purger:retentionBucketNotVersioned',
        `bucket ${bucket.node.path} is not versioned, so retention finds no noncurrent versions to delete.`,
      );
    }
  }

  /** Checks memory, timeout and runtime against Lambda's limits, maxConcurrency against Step Functions' (tokens are skipped). */
  private validateFunctionSettings(props: VersionPurgerProps): void {
    const { memorySize, timeout, runtime, maxConcurrency } = props;
    if (maxConcurrency !== undefined && !Token.isUnresolved(maxConcurrency)) {
      if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > MAX_MAX_CONCURRENCY) {
        throw new VersionPurgerValidationError(
          this,
          `maxConcurrency must be a whole number from 1 to ${MAX_MAX_CONCURRENCY.toLocaleString('en-US')} (key ranges in flight; ` +
            `Step Functions' Distributed Map runs at most that many child executions at once), got ${maxConcurrency}.`,
        );
      }
    }
    if (memorySize !== undefined && !Token.isUnresolved(memorySize)) {
      if (!Number.isInteger(memorySize) || memorySize < MIN_MEMORY_MB || memorySize > MAX_MEMORY_MB) {
        throw new VersionPurgerValidationError(
          this,
          `memorySize must be a whole number of MB from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}, got ${memorySize}.`,
        );
      }
    }
    if (timeout !== undefined && !timeout.isUnresolved()) {
      const seconds = timeout.toSeconds({ integral: false });
      if (seconds < 1 || seconds > MAX_TIMEOUT_SECONDS) {
        throw new VersionPurgerValidationError(
          this,
          `timeout must be from 1 second to 15 minutes (Lambda's limit), got ${timeout.toHumanString()}.`,
        );
      }
    }
    if (runtime !== undefined) {
      const match = /^nodejs(\d+)/.exec(runtime.name);
      if (!match || Number(match[1]) < MIN_NODE_MAJOR) {
        throw new VersionPurgerValidationError(
          this,
          `runtime must be Node.js ${MIN_NODE_MAJOR} or later (the handler is a Node.js bundle), got ${runtime.name}.`,
        );
      }
    }
  }

  /**
   * Checks that the bucket is defined in this stack and will be deleted with
   * it; warns when it is not versioned. Returns its CfnBucket.
   */
  private validateOwnedBucket(bucket: s3.IBucket): s3.CfnBucket {
    const cfnBucket = bucket.node.defaultChild;
    if (!(cfnBucket instanceof s3.CfnBucket)) {
      throw new VersionPurgerValidationError(
        this,
        `bucket ${bucket.node.path} is imported (not defined with new s3.Bucket in this app). VersionPurger refuses ` +
          `imported buckets because CloudFormation cannot tag them, and the tag is what keeps the removal of this ` +
          `construct from emptying the bucket. Define the bucket in this stack, use the version-purger CLI, or set ` +
          `purgeOnDelete: false.`,
      );
    }
    if (Stack.of(cfnBucket) !== Stack.of(this)) {
      throw new VersionPurgerValidationError(
        this,
        `bucket ${bucket.node.path} belongs to stack ${Stack.of(cfnBucket).stackName}, not ${Stack.of(this).stackName}. ` +
          'A VersionPurger must be in the stack that deletes the bucket: create it in the bucket\'s stack.',
      );
    }
    const errors = deletionPolicyErrors(cfnBucket);
    if (errors.length > 0) throw new VersionPurgerValidationError(this, errors[0]);

    const versioning = cfnBucket.versioningConfiguration;
    if (!Token.isUnresolved(versioning)) {
      const status = (versioning as s3.CfnBucket.VersioningConfigurationProperty | undefined)?.status;
      if (status !== 'Enabled' && !Token.isUnresolved(status)) {
        Annotations.of(this).addWarningV2(
          'cdk-version-purger:bucketNotVersioned',
          `bucket ${bucket.node.path} is not versioned. VersionPurger still empties it on delete, but ` +
            "aws-cdk-lib's autoDeleteObjects would do for a bucket without versions.",
        );
      }
    }
    return cfnBucket;
  }

  /**
   * Attaches to the shared role a policy for this bucket only. It is a
   * resource of this construct, so removing the construct deletes the policy
   * after the custom resource (which depends on it), never before.
   */
  private grantPurge(
    provider: VersionPurgerProvider,
    bucket: s3.IBucket,
    options: { fenceWrites: boolean; bypassGovernanceRetention: boolean },
  ): iam.Policy {
    const bucketActions = [
      's3:GetBucketObjectLockConfiguration',
      's3:GetBucketTagging',
      's3:GetBucketVersioning',
      's3:ListBucket',
      // Teardown aborts every incomplete multipart upload: they are not objects, yet hold stored parts.
      's3:ListBucketMultipartUploads',
      's3:ListBucketVersions',
      ...(options.fenceWrites ? ['s3:GetBucketPolicy', 's3:PutBucketPolicy'] : []),
    ];
    const objectActions = [
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObjectLegalHold',
      's3:GetObjectRetention',
      ...(options.bypassGovernanceRetention ? ['s3:BypassGovernanceRetention'] : []),
    ];
    const policy = new iam.Policy(this, 'HandlerPolicy', {
      roles: [provider.role],
      statements: [
        new iam.PolicyStatement({ actions: bucketActions, resources: [bucket.bucketArn] }),
        new iam.PolicyStatement({ actions: objectActions, resources: [bucket.arnForObjects('*')] }),
      ],
    });
    // cdk-nag (AwsSolutions-IAM5) reports the object ARN's wildcard.
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    const logicalId = Stack.of(this).resolve(cfnBucket.logicalId) as string;
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`,
      reason:
        'Object-level actions (DeleteObjectVersion, GetObjectRetention, ...) apply to object ARNs; ' +
        'the wildcard covers the objects of this one bucket, which the handler must empty.',
    });
    return policy;
  }
}

/** The teardown settings of one purger, defaults filled in. */
interface TeardownSettings {
  readonly purgeOnDelete: boolean;
  readonly fenceWrites: boolean;
  readonly bypassGovernanceRetention: boolean;
  readonly serviceTimeout: Duration;
  /** The bucket's CfnBucket, checked; undefined without `purgeOnDelete`. */
  readonly cfnBucket?: s3.CfnBucket;
}

/** Refuses a serviceTimeout outside CloudFormation's 1 to 3,600 seconds. */
function validateServiceTimeout(scope: IConstruct, serviceTimeout: Duration): void {
  if (serviceTimeout.isUnresolved()) return;
  const seconds = serviceTimeout.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SERVICE_TIMEOUT_SECONDS) {
    throw new VersionPurgerValidationError(
      scope,
      `serviceTimeout must be a whole number of seconds from 1 to ${MAX_SERVICE_TIMEOUT_SECONDS} ` +
        `(CloudFormation's limit), got ${serviceTimeout.toHumanString()}.`,
    );
  }
}

/** Errors when the bucket would not be deleted with the stack (its DeletionPolicy is not Delete). */
function deletionPolicyErrors(cfnBucket: s3.CfnBucket): string[] {
  const policy = cfnBucket.cfnOptions.deletionPolicy;
  if (policy === undefined || policy === CfnDeletionPolicy.DELETE) return [];
  return [
    `bucket ${cfnBucket.node.scope?.node.path ?? cfnBucket.node.path} has DeletionPolicy ${policy}; purging it ` +
      'on stack deletion needs removalPolicy: RemovalPolicy.DESTROY on the bucket (or purgeOnDelete: false).',
  ];
}

/**
 * Makes the custom resource depend on the bucket's policy, whenever that
 * policy was created, so that CloudFormation deletes the policy only after
 * the purge; otherwise its deletion could remove the write fence mid-purge.
 */
class DependOnBucketPolicy implements IAspect {
  constructor(
    private readonly purger: VersionPurger,
    private readonly bucket: s3.IBucket,
  ) {}

  public visit(node: IConstruct): void {
    if (node !== this.purger || !this.bucket.policy) return;
    this.purger.customResource.node.addDependency(this.bucket.policy);
  }
}

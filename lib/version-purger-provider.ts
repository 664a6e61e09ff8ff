import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { ENV } from './private/handler-contract';
import { handlerAssetDir } from './handler-asset';
import { VersionPurgerValidationError } from './validation-error';

/**
 * Default memory of the handler (MB): one full vCPU. bench/RESULTS.md measured
 * 38–48 ms of CPU per 1,000 deleted keys, so one prefix at S3's 3,500 keys/s
 * needs about 0.17 vCPU and 16 busy prefixes saturate the single JavaScript
 * thread at about one vCPU (26–28k keys/s). Lambda gives one vCPU at 1,769 MB;
 * more buys a second vCPU the engine cannot use. While CPU-bound, the cost in
 * GB-seconds is the same at any size, since the run gets shorter.
 */
export const DEFAULT_MEMORY_SIZE = 1769;

/**
 * Default timeout of one handler invocation: Lambda's maximum, so that a purge
 * needs as few hand-overs as possible (at the measured 3,500–28,000 keys/s, one
 * invocation deletes 3–25 million versions). Longer purges continue in
 * further invocations.
 */
export const DEFAULT_TIMEOUT = Duration.minutes(15);

/**
 * Default runtime: the newest Node.js runtime aws-cdk-lib offers. The handler
 * bundle targets Node.js 22, so 22 or later is required.
 */
export const DEFAULT_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Default retention of the handler's log group. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Settings of the shared function; every `VersionPurger` in a stack must agree on them. */
export interface ProviderSettings {
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly runtime: lambda.Runtime;
  readonly logRetention: logs.RetentionDays;
}

/** Settings a `VersionPurger` asked for explicitly (the rest take the defaults). */
export type RequestedSettings = Partial<ProviderSettings>;

/** Construct id of the singleton in its stack. */
const PROVIDER_ID = 'CdkVersionPurgerProvider';

/** How long failed invocations wait in the dead-letter queue: SQS's maximum. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * What the provider adds once the first retention schedule appears in the
 * stack: where failed asynchronous invocations go, and an alarm on it.
 */
export interface RetentionFailureHandling {
  /** Receives failed asynchronous invocations of the function (its on-failure destination) and undeliverable schedule events. */
  readonly deadLetterQueue: sqs.Queue;
  /** In ALARM while the dead-letter queue holds a message. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
}

/**
 * The one Lambda function (with its role and log group) shared by every
 * `VersionPurger` in a stack. Each purger attaches its own bucket policy to
 * {@link role}; the provider only grants what is not bucket-specific: writing
 * its logs and invoking itself to continue long purges.
 */
export class VersionPurgerProvider extends Construct {
  /**
   * Returns the stack's provider, creating it on first use. Settings asked
   * for explicitly by a later purger must match the existing function's.
   * @throws VersionPurgerValidationError on conflicting settings.
   */
  public static getOrCreate(requester: IConstruct, requested: RequestedSettings): VersionPurgerProvider {
    const stack = Stack.of(requester);
    const existing = stack.node.tryFindChild(PROVIDER_ID);
    if (existing instanceof VersionPurgerProvider) {
      existing.assertCompatible(requester, requested);
      return existing;
    }
    return new VersionPurgerProvider(stack, PROVIDER_ID, {
      memorySize: requested.memorySize ?? DEFAULT_MEMORY_SIZE,
      timeout: requested.timeout ?? DEFAULT_TIMEOUT,
      runtime: requested.runtime ?? DEFAULT_RUNTIME,
      logRetention: requested.logRetention ?? DEFAULT_LOG_RETENTION,
    });
  }

  /** The handler function. */
  public readonly function: lambda.Function;
  /** The function's execution role; purgers attach their bucket policies to it. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /**
   * Lets the function invoke itself. A separate policy (not the role's
   * default policy, on which the function depends) so that it can name the
   * function's own ARN without a dependency cycle. Custom resources depend on it.
   */
  public readonly selfInvokePolicy: iam.Policy;
  /** The settings the function was created with. */
  public readonly settings: ProviderSettings;
  private failureHandling?: RetentionFailureHandling;

  private constructor(scope: Construct, id: string, settings: ProviderSettings) {
    super(scope, id);
    this.settings = settings;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: settings.logRetention,
      // The log group goes with the stack: it outlives the function during
      // deletion, and a failed deletion keeps both for inspection.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'cdk-version-purger handler: purges the buckets of this stack that carry its tag',
    });
    // Instead of AWSLambdaBasicExecutionRole: only this log group.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    // A Delete purges only when CloudFormation confirms that this stack is
    // deleting the resource (lambda/teardown/stack-deletion-check.ts): read-only, this stack only.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackEvents'],
        resources: [Stack.of(this).stackId],
      }),
    );

    this.function = new lambda.Function(this, 'Handler', {
      description: 'cdk-version-purger: empties versioned S3 buckets before CloudFormation deletes them',
      runtime: settings.runtime,
      code: lambda.Code.fromAsset(handlerAssetDir()),
      handler: 'index.handler',
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'cdk-version-purger',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Where retention reads each purger's configured policy.
        [ENV.stackId]: Stack.of(this).stackId,
      },
    });

    this.selfInvokePolicy = new iam.Policy(this, 'SelfInvokePolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [this.function.functionArn],
        }),
      ],
    });
  }

  /**
   * Prepares the function for scheduled retention runs, once per stack:
   * - asynchronous invocations are not retried (`retryAttempts: 0`): a
   *   retention run that failed throws at its end, and retrying it blindly
   *   would repeat a permanent problem; teardown never throws, so this only
   *   changes what happens after a crash (see README.md, "Usage: retention");
   * - failed invocations go to an SQS queue (on-failure destination),
   *   encrypted, TLS only, keeping messages 14 days;
   * - an alarm goes off while that queue holds a message.
   */
  public enableRetention(): RetentionFailureHandling {
    if (this.failureHandling) return this.failureHandling;
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    Validations.of(deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the purge function (failed asynchronous invocations ' +
        'and undeliverable schedule events); a dead-letter queue for it would have nothing to catch.',
    });
    this.function.configureAsyncInvoke({
      retryAttempts: 0,
      onFailure: new destinations.SqsDestination(deadLetterQueue),
    });
    const deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'cdk-version-purger: an invocation of the purge function failed (a retention run that failed, or a crash); ' +
        'the failed event waits in the dead-letter queue.',
      metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureHandling = { deadLetterQueue, deadLetterAlarm };
    return this.failureHandling;
  }

  /** Throws when `requested` asks for settings other than the function has. */
  private assertCompatible(requester: IConstruct, requested: RequestedSettings): void {
    const conflicts: string[] = [];
    const check = (name: keyof ProviderSettings, asked: unknown, actual: unknown) => {
      if (asked !== undefined && asked !== actual) conflicts.push(`${name} ${String(asked)} (the function has ${String(actual)})`);
    };
    check('memorySize', requested.memorySize, this.settings.memorySize);
    check('timeout', requested.timeout?.toHumanString(), this.settings.timeout.toHumanString());
    check('runtime', requested.runtime?.name, this.settings.runtime.name);
    check('logRetention', requested.logRetention, this.settings.logRetention);
    if (conflicts.length > 0) {
      throw new VersionPurgerValidationError(
        requester,
        `every VersionPurger in a stack shares one Lambda function, created with the settings of the first one; ` +
          `this one asks for ${conflicts.join(', ')}. Give every VersionPurger in the stack the same ` +
          'memorySize, timeout, runtime and logRetention, or set them on the first one only.',
      );
    }
  }
}

import { ArnFormat, Aws, type CfnResource, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { ENV, STATE_MACHINE_NAME_PREFIX } from './private/handler-contract';
import { purgeWorkflowDefinition } from './private/purge-workflow';
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
 * Default timeout of one handler invocation: Lambda's maximum, so that a key
 * range needs as few slices as possible (at the measured 3,500–28,000 keys/s,
 * one invocation deletes 3–25 million versions). A range that needs longer
 * loops in the workflow: the next slice resumes from its token.
 */
export const DEFAULT_TIMEOUT = Duration.minutes(15);

/**
 * Default runtime: the newest Node.js runtime aws-cdk-lib offers. The handler
 * bundle targets Node.js 22, so 22 or later is required.
 */
export const DEFAULT_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * Default of `maxConcurrency`: key ranges in flight at once in the workflow's
 * Distributed Map. The fan-out benchmark (bench/README.md, "Fan-out") measured
 * each child at 95-102 % of its partition's rate on about 0.1 vCPU, and 96 %
 * of linear scaling at 16 children: speed is ranges in flight × ~3,400/s.
 * 64 is the Plan step's own cap on ranges (MAX_TEARDOWN_RANGES), so every
 * range runs at once (~218,000 deletions/s when S3 gives each its partition),
 * using 6.4 % of Lambda's default 1,000 concurrent executions. Lower it where
 * the account's Lambda concurrency is small or shared.
 */
export const DEFAULT_MAX_CONCURRENCY = 64;

/** Distributed Map's limit on child executions in flight. */
export const MAX_MAX_CONCURRENCY = 10_000;

/**
 * The workflow's own timeout: a backstop, below CloudFormation's largest (and
 * the construct's default) serviceTimeout of 1 hour. Teardown answers before
 * its serviceTimeout on its own (every step checks the run's budget); when an
 * execution ends without answering anyway (this timeout, a stop by hand, a
 * failed Answer), the WorkflowClosed rule has the function answer FAILED at
 * once. A retention run that takes longer is stopped, and the next scheduled
 * run goes on.
 */
export const WORKFLOW_TIMEOUT = Duration.minutes(55);

/** Default retention of the handler's log group. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Settings of the shared function; every `VersionPurger` in a stack must agree on them. */
export interface ProviderSettings {
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly runtime: lambda.Runtime;
  readonly logRetention: logs.RetentionDays;
  readonly maxConcurrency: number;
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
  /** In ALARM after a workflow execution failed, timed out or was aborted (a retention run that failed ends so). */
  readonly workflowAlarm: cloudwatch.Alarm;
}

/**
 * The one Lambda function (with its role and log group) and the one Step
 * Functions workflow shared by every `VersionPurger` in a stack. Each purger
 * attaches its own bucket policy to {@link role}; the provider only grants
 * what is not bucket-specific: writing its logs, reading its stack, and
 * starting executions of its own workflow.
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
      maxConcurrency: requested.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    });
  }

  /** The handler function. */
  public readonly function: lambda.Function;
  /** The function's execution role; purgers attach their bucket policies to it. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /**
   * The workflow that runs teardowns and retention runs: a Standard state
   * machine named `VersionPurger-<stack UUID>`, so that the function finds
   * it from its stack id without a reference (which would be a cycle: the
   * state machine invokes the function).
   */
  public readonly stateMachine: sfn.StateMachine;
  /**
   * Lets the function start executions of its own workflow (a Delete starts
   * one) and describe them (the backstop answer). A separate policy, which
   * custom resources depend on: it outlives every purge.
   */
  public readonly startExecutionPolicy: iam.Policy;
  /**
   * Sends the function the workflow's executions that end FAILED, TIMED_OUT
   * or ABORTED, so that a teardown that never answered gets a FAILED answer
   * at once instead of CloudFormation waiting out its serviceTimeout.
   */
  public readonly workflowClosedRule: events.Rule;
  /** The workflow's log group (execution events, without their data). */
  public readonly workflowLogGroup: logs.LogGroup;
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

    const stack = Stack.of(this);
    // The name follows from the stack id alone (lambda/workflow/contract.ts, stateMachineNameFor).
    const stateMachineName = `${STATE_MACHINE_NAME_PREFIX}${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;
    this.startExecutionPolicy = new iam.Policy(this, 'StartExecutionPolicy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        }),
      ],
    });

    this.workflowLogGroup = new logs.LogGroup(this, 'WorkflowLogGroup', {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Workflow', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'cdk-version-purger: teardown and retention runs, fanned out over key ranges',
      definitionBody: sfn.DefinitionBody.fromChainable(
        purgeWorkflowDefinition(new Construct(this, 'States'), this.function, { maxConcurrency: settings.maxConcurrency }),
      ),
      timeout: WORKFLOW_TIMEOUT,
      // Execution data holds CloudFormation's pre-signed ResponseURL: events only, never their data.
      logs: { destination: this.workflowLogGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF2',
      reason:
        'X-Ray tracing is off: every step is one invocation of the provider function, whose logs and the execution ' +
        'history (per-range counts) already show where time goes; tracing would add cost and wildcard IAM actions.',
    });
    this.acknowledgeWorkflowWildcards(stack);

    // The backstop answer: a teardown execution that ends FAILED, TIMED_OUT or ABORTED without having answered
    // gets a FAILED answer from the function (lambda/teardown/workflow-closed.ts), which reads the execution with
    // DescribeExecution rather than trusting the event.
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.startExecutionPolicy.addStatements(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }));
    Validations.of(this.startExecutionPolicy).acknowledge({
      id:
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:VersionPurger-' +
        '{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}:*]',
      reason: 'DescribeExecution on the executions of this stack\'s own state machine only, whose names are not known in advance.',
    });
    this.workflowClosedRule = new events.Rule(this, 'WorkflowClosed', {
      description: 'cdk-version-purger: answers CloudFormation FAILED when a teardown execution ends without answering',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
      },
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 4, maxEventAge: Duration.hours(1) })],
    });
  }

  /**
   * Prepares the function for scheduled retention runs, once per stack:
   * - asynchronous invocations are not retried (`retryAttempts: 0`): the
   *   handler never throws for CloudFormation's events, so this only changes
   *   what happens after a crash (see README.md, "Usage: retention");
   * - failed invocations and schedule events EventBridge could not deliver
   *   go to an SQS queue, encrypted, TLS only, keeping messages 14 days;
   * - an alarm goes off while that queue holds a message;
   * - an alarm goes off when a workflow execution fails, times out or is
   *   aborted: a retention run that failed ends its execution in a Fail state.
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
    const period = Duration.minutes(5);
    const workflowAlarm = new cloudwatch.Alarm(this, 'WorkflowAlarm', {
      alarmDescription:
        'cdk-version-purger: a workflow execution failed, timed out or was aborted (a retention run that failed, or ' +
        'a teardown whose answer could not be delivered). The execution history and the function\'s logs have the details.',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        label: 'Failed workflow executions',
        period,
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
          timedOut: this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
          aborted: this.stateMachine.metricAborted({ period, statistic: 'Sum' }),
        },
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failureHandling = { deadLetterQueue, deadLetterAlarm, workflowAlarm };
    return this.failureHandling;
  }

  /**
   * The wildcards Step Functions itself needs, acknowledged for cdk-nag one
   * by one: log delivery (no resource-level permissions exist), the
   * Distributed Map's own child executions, and the provider function's
   * versions (LambdaInvoke grants `<function arn>:*`).
   */
  private acknowledgeWorkflowWildcards(stack: Stack): void {
    const logicalId = (c: IConstruct) => stack.resolve((c.node.defaultChild as CfnResource).logicalId) as string;
    const machine = logicalId(this.stateMachine);
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}`;
    const reasons: Record<string, string> = {
      '*': 'Step Functions delivers its execution logs through CloudWatch Logs log-delivery actions, which have no resource-level permissions.',
      [`<${logicalId(this.function)}.Arn>:*`]: 'LambdaInvoke grants the provider function and its versions; the workflow invokes nothing else.',
      [`${executions}:*`]: 'The Distributed Map describes and stops its own child executions (the execution ARNs of this state machine only).',
      [`${executions}/TeardownRanges:*`]: 'The teardown Distributed Map may redrive its own map runs only.',
      [`${executions}/RetentionRanges:*`]: 'The retention Distributed Map may redrive its own map runs only.',
    };
    for (const [resource, reason] of Object.entries(reasons)) {
      Validations.of(this.stateMachine).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }
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
    check('maxConcurrency', requested.maxConcurrency, this.settings.maxConcurrency);
    if (conflicts.length > 0) {
      throw new VersionPurgerValidationError(
        requester,
        `every VersionPurger in a stack shares one Lambda function, created with the settings of the first one; ` +
          `this one asks for ${conflicts.join(', ')}. Give every VersionPurger in the stack the same ` +
          'memorySize, timeout, runtime, logRetention and maxConcurrency, or set them on the first one only.',
      );
    }
  }
}

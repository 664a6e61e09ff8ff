import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { handlerAssetDir } from './handler-asset';
import { VersionPurgerValidationError } from './validation-error';

/**
 * Default memory of the handler (MB). Chosen from bench/RESULTS.md.
 */
export const DEFAULT_MEMORY_SIZE = 1024;

/**
 * Default timeout of one handler invocation: Lambda's maximum. Longer purges
 * continue in further invocations. Chosen from bench/RESULTS.md.
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

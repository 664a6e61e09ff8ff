import { Annotations, type CfnResource, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import {
  createKeyFilter,
  METRICS_DIMENSION,
  METRICS_NAMESPACE,
  RETENTION_EVENT_KIND,
  RETENTION_METADATA_KEY,
  validateRetentionPolicy,
} from './private/handler-contract';
import { RetentionMetric } from './retention-metric';
import { VersionPurgerValidationError } from './validation-error';
import type { VersionPurgerProvider } from './version-purger-provider';

/**
 * Default of {@link RetentionOptions.maxDeletionsPerRun}. Large enough that a
 * bucket's steady churn never reaches it (at S3's 3,500 deletes per second
 * and prefix it is about 5 minutes of deleting), small enough that a wrong
 * policy costs at most a million noncurrent versions before the alarm says
 * so. The next run goes on where the cleanup stopped.
 */
export const DEFAULT_MAX_DELETIONS_PER_RUN = 1_000_000;

/** Default of {@link DryRunReportLocation.prefix}. */
export const DEFAULT_REPORT_PREFIX = 'version-purger-reports/';

/** Period of the retention alarm's metrics. */
const ALARM_PERIOD = Duration.minutes(5);

/**
 * Where a dry run writes its report.
 */
export interface DryRunReportLocation {
  /**
   * The bucket the report objects go to. It may be the purged bucket itself,
   * an imported bucket, or a bucket encrypted with a KMS key (the function
   * then gets `kms:GenerateDataKey` on that key).
   */
  readonly bucket: s3.IBucket;

  /**
   * Key prefix of the report objects. Each dry run writes
   * `<prefix><purged bucket>/<asOf>-<run id>.json` (summary, counts by
   * prefix) and up to 10,000 selected entries as
   * `<prefix><purged bucket>/<asOf>-<run id>.entries-<n>.ndjson`. The function
   * may write under this prefix only.
   * @default 'version-purger-reports/'
   */
  readonly prefix?: string;
}

/**
 * Scheduled retention cleanup of a versioned bucket: which noncurrent
 * versions and delete markers to delete, and when. The current version of a
 * key is never deleted. See README.md, "What is deleted: the exact rules".
 */
export interface RetentionOptions {
  /**
   * When to run, for example `events.Schedule.rate(Duration.hours(6))` or a
   * cron expression. An EventBridge rule starts the stack's purge workflow
   * at every tick.
   */
  readonly schedule: events.Schedule;

  /**
   * Deletes noncurrent versions (and noncurrent delete markers) that have
   * been noncurrent for at least this long, counted from the moment their
   * successor was written. Any duration, to the millisecond: no rounding to
   * days. `Duration.seconds(0)` means every noncurrent version.
   * @default - no age rule
   */
  readonly noncurrentVersionsOlderThan?: Duration;

  /**
   * Keeps the N newest noncurrent versions of each key whatever their age
   * (delete markers are not counted). With `noncurrentVersionsOlderThan`, a
   * version is deleted only when it is old enough and not among the N newest.
   * No upper limit.
   * @default - no count rule
   */
  readonly keepNoncurrentVersions?: number;

  /**
   * Deletes a key's current delete marker when, after this run's deletions,
   * nothing else of the key is left (an "expired object delete marker"), in
   * the same run.
   * @default false
   */
  readonly expiredDeleteMarkers?: boolean;

  /**
   * Aborts incomplete multipart uploads initiated at least this long before
   * the run (its `asOf`), under `prefixes` and not matched by `exclude`, like
   * versions. Their parts are stored and billed until aborted, yet no
   * listing of objects or versions shows them. Unlike S3 Lifecycle's
   * `AbortIncompleteMultipartUpload` (whole days), any duration, to the
   * millisecond. A dry run lists them and aborts nothing. Only with this
   * option does the function get `s3:ListBucketMultipartUploads` and
   * `s3:AbortMultipartUpload` for retention.
   * @default - incomplete uploads are left alone
   */
  readonly abortIncompleteUploadsAfter?: Duration;

  /**
   * Only keys starting with one of these prefixes are touched (and listed).
   * @default - every key
   */
  readonly prefixes?: string[];

  /**
   * Keys never touched: plain prefixes, or glob patterns (picomatch, matched
   * against the whole key) when they contain one of `*?[]{}!`.
   * @default - nothing excluded
   */
  readonly exclude?: string[];

  /**
   * Safety cap: a run stops after selecting this many versions and delete
   * markers for deletion, reports it (metric `CapReached` = 1, which sets off
   * the retention alarm), and the next run continues. At least 1.
   * @default 1000000
   */
  readonly maxDeletionsPerRun?: number;

  /**
   * List and decide, delete nothing: the run logs what it would delete
   * (counts and bytes by top-level prefix, and a sample of keys) and, with
   * `dryRunReportLocation`, writes a report to S3.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Where a dry run writes its report. Ignored (with a synth warning) unless
   * `dryRun` is true.
   * @default - no report object; the logs carry the summary
   */
  readonly dryRunReportLocation?: DryRunReportLocation;
}

/** Properties of {@link PurgerRetention}. */
export interface PurgerRetentionProps {
  readonly bucket: s3.IBucket;
  readonly provider: VersionPurgerProvider;
  readonly options: RetentionOptions;
  /**
   * The purger's `Custom::VersionPurger`: its metadata holds the configured
   * run, and the schedule names it by logical id.
   */
  readonly purgerResource: CfnResource;
}

/**
 * The retention schedule of one `VersionPurger`: the configured run, kept in
 * the metadata of the purger's custom resource (so that only the template
 * sets a policy); the EventBridge rule, whose input only names the purger;
 * the IAM policy that lets the shared function clean
 * this bucket, and an alarm on the run's metrics. Created by `VersionPurger`
 * for its `retention` prop.
 */
export class PurgerRetention extends Construct {
  /** The schedule. */
  public readonly rule: events.Rule;
  /**
   * The configured run (with tokens), stored in the custom resource's
   * metadata under `cdk-version-purger:retention`.
   */
  public readonly configuredRun: Record<string, unknown>;
  /** What the rule sends to the function: the purger's logical id, nothing else. */
  public readonly input: Record<string, unknown>;
  /** Permissions of the shared function on this bucket (and the report location). */
  public readonly iamPolicy: iam.Policy;
  /** In ALARM after a run that failed or stopped at `maxDeletionsPerRun`, until a run succeeds. */
  public readonly alarm: cloudwatch.Alarm;
  private readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: PurgerRetentionProps) {
    super(scope, id);
    const { bucket, provider, options } = props;
    this.bucket = bucket;
    const report = reportTarget(scope, options);
    this.configuredRun = retentionInput(scope, bucket, options, report);
    props.purgerResource.addMetadata(RETENTION_METADATA_KEY, this.configuredRun);
    this.input = { kind: RETENTION_EVENT_KIND, v: 2, purger: props.purgerResource.logicalId };

    this.iamPolicy = this.grantRetention(provider, bucket, options, report);
    if (options.abortIncompleteUploadsAfter !== undefined) this.grantUploadAborts(bucket, options);
    const failure = provider.enableRetention();

    this.rule = new events.Rule(this, 'Schedule', {
      schedule: options.schedule,
      description: `cdk-version-purger: retention cleanup for ${scope.node.path}`.slice(0, 512),
    });
    this.rule.addTarget(
      new targets.SfnStateMachine(provider.stateMachine, {
        input: events.RuleTargetInput.fromObject(this.input),
        // Events EventBridge cannot deliver go where failed invocations go.
        deadLetterQueue: failure.deadLetterQueue,
      }),
    );
    // The first run must find its permissions in place.
    this.rule.node.addDependency(this.iamPolicy);

    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription:
        `cdk-version-purger: the last retention run for ${scope.node.path} failed (DeleteErrors or RunFailed) ` +
        'or stopped at maxDeletionsPerRun (CapReached). The function\'s logs have the details.',
      metric: new cloudwatch.MathExpression({
        expression: 'errors + cap + failed',
        label: 'Failed or capped retention runs',
        period: ALARM_PERIOD,
        usingMetrics: {
          errors: this.metric(RetentionMetric.DELETE_ERRORS),
          cap: this.metric(RetentionMetric.CAP_REACHED),
          failed: this.metric(RetentionMetric.RUN_FAILED),
        },
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // Runs emit their metrics once, at the end; between runs the alarm keeps the last run's verdict.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
  }

  /** One of the metrics the runs for this bucket emit (Sum over 5 minutes unless overridden). */
  public metric(metricName: RetentionMetric, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [METRICS_DIMENSION]: this.bucket.bucketName },
      statistic: 'Sum',
      period: ALARM_PERIOD,
      ...props,
    });
  }

  /**
   * With `abortIncompleteUploadsAfter`: lists the bucket's incomplete
   * multipart uploads and aborts them (under the policy's prefixes only,
   * when it has some). Added to the retention policy, so that the schedule
   * waits for it too.
   */
  private grantUploadAborts(bucket: s3.IBucket, options: RetentionOptions): void {
    this.iamPolicy.addStatements(
      new iam.PolicyStatement({ actions: ['s3:ListBucketMultipartUploads'], resources: [bucket.bucketArn] }),
      new iam.PolicyStatement({ actions: ['s3:AbortMultipartUpload'], resources: objectResourcesOf(bucket, options.prefixes) }),
    );
  }

  /**
   * Attaches to the shared role a policy for retention on this bucket: list,
   * read versioning and Object Lock settings, delete versions (under the
   * policy's prefixes only, when it has some), read lock details to explain
   * failures, and write the dry-run report. Never bucket-policy writes, never
   * `s3:BypassGovernanceRetention`, and no tag read: retention does not need
   * the teardown tag.
   */
  private grantRetention(
    provider: VersionPurgerProvider,
    bucket: s3.IBucket,
    options: RetentionOptions,
    report: ResolvedReportTarget | undefined,
  ): iam.Policy {
    const objectResources = objectResourcesOf(bucket, options.prefixes);
    const statements = [
      new iam.PolicyStatement({
        actions: ['s3:GetBucketObjectLockConfiguration', 's3:GetBucketVersioning', 's3:ListBucket', 's3:ListBucketVersions'],
        resources: [bucket.bucketArn],
      }),
      new iam.PolicyStatement({
        actions: ['s3:DeleteObjectVersion', 's3:GetObjectLegalHold', 's3:GetObjectRetention'],
        resources: objectResources,
      }),
    ];
    const wildcards = [...objectResources];
    if (report) {
      const reportResource = report.bucket.arnForObjects(`${report.prefix}*`);
      statements.push(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [reportResource] }));
      wildcards.push(reportResource);
      if (report.bucket.encryptionKey) {
        statements.push(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [report.bucket.encryptionKey.keyArn] }));
      }
    }
    const policy = new iam.Policy(this, 'Policy', { roles: [provider.role], statements });
    for (const resource of wildcards) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${flattenReference(Stack.of(this).resolve(resource))}]`,
        reason:
          'Object-level actions (DeleteObjectVersion, GetObjectRetention, PutObject for the report) apply to object ARNs; ' +
          'the wildcard covers the objects under one prefix of one bucket, which retention must be able to clean up or write.',
      });
    }
    return policy;
  }
}

/** The object ARNs retention may act on: under the policy's prefixes when it has resolved ones, else the whole bucket. */
function objectResourcesOf(bucket: s3.IBucket, prefixes: readonly string[] | undefined): string[] {
  const scoped = prefixes !== undefined && prefixes.length > 0 && prefixes.every((p) => !Token.isUnresolved(p)) && !prefixes.includes('');
  return scoped ? [...new Set(prefixes)].sort().map((p) => bucket.arnForObjects(`${p}*`)) : [bucket.arnForObjects('*')];
}

/** The report target, resolved, when the run writes one. */
interface ResolvedReportTarget {
  readonly bucket: s3.IBucket;
  readonly prefix: string;
}

/** Checks `dryRunReportLocation`; undefined when no report is written. */
function reportTarget(scope: IConstruct, options: RetentionOptions): ResolvedReportTarget | undefined {
  const location = options.dryRunReportLocation;
  if (!location) return undefined;
  if (options.dryRun !== true) {
    Annotations.of(scope).addWarningV2(
      'cdk-version-purger:reportWithoutDryRun',
      'retention.dryRunReportLocation is set but dryRun is not true: only dry runs write a report, so none is written ' +
        'and no permission is granted on the report location.',
    );
    return undefined;
  }
  const prefix = location.prefix ?? DEFAULT_REPORT_PREFIX;
  if (!Token.isUnresolved(prefix) && prefix.startsWith('/')) {
    throw new VersionPurgerValidationError(
      scope,
      `retention.dryRunReportLocation.prefix must not start with "/" (S3 keys have no leading slash), got "${prefix}".`,
    );
  }
  return { bucket: location.bucket, prefix };
}

/**
 * Validates the options and builds the rule's input: the event the handler
 * reads (lambda/retention/contract.ts `RetentionEvent`). Unresolved tokens
 * skip the checks they would take part in.
 * @throws VersionPurgerValidationError naming the first problem.
 */
function retentionInput(
  scope: IConstruct,
  bucket: s3.IBucket,
  options: RetentionOptions,
  report: ResolvedReportTarget | undefined,
): Record<string, unknown> {
  const fail = (message: string): never => {
    throw new VersionPurgerValidationError(scope, message);
  };
  if (!options.schedule) fail('retention.schedule is required: say when the cleanup runs, e.g. events.Schedule.rate(Duration.hours(6)).');

  const { keepNoncurrentVersions: keep, expiredDeleteMarkers, maxDeletionsPerRun, prefixes, exclude } = options;
  const olderThanMs = olderThanMillis(scope, options.noncurrentVersionsOlderThan, 'noncurrentVersionsOlderThan');
  const uploadsAfterMs = olderThanMillis(scope, options.abortIncompleteUploadsAfter, 'abortIncompleteUploadsAfter');
  if (olderThanMs === undefined && keep === undefined && expiredDeleteMarkers !== true && uploadsAfterMs === undefined) {
    fail(
      'retention needs at least one rule: noncurrentVersionsOlderThan, keepNoncurrentVersions, expiredDeleteMarkers: true ' +
        'or abortIncompleteUploadsAfter. ' +
        'retention never means delete everything (to empty a bucket, use the version-purger CLI).',
    );
  }
  const maxDeletions = maxDeletionsPerRun ?? DEFAULT_MAX_DELETIONS_PER_RUN;
  checkWholeNumber('keepNoncurrentVersions', keep, 0, fail);
  checkWholeNumber('maxDeletionsPerRun', maxDeletions, 1, fail);
  const strings = [...(prefixes ?? []), ...(exclude ?? [])];
  if (!strings.some((s) => Token.isUnresolved(s))) {
    try {
      createKeyFilter({ prefixes, exclude });
    } catch (err) {
      fail(`retention: ${(err as Error).message}`);
    }
  }

  const policy: Record<string, unknown> = {
    ...(olderThanMs !== undefined ? { noncurrentVersionsOlderThanMs: olderThanMs } : {}),
    ...(keep !== undefined ? { keepNoncurrentVersions: keep } : {}),
    expiredDeleteMarkers: expiredDeleteMarkers ?? false,
    ...(uploadsAfterMs !== undefined ? { abortIncompleteUploadsOlderThanMs: uploadsAfterMs } : {}),
    ...(prefixes !== undefined ? { prefixes: [...prefixes] } : {}),
    ...(exclude !== undefined ? { exclude: [...exclude] } : {}),
  };
  // The handler validates the same way; check here so that synth fails instead of every run.
  if (!hasUnresolved(policy)) {
    try {
      validateRetentionPolicy(policy);
    } catch (err) {
      fail(`retention: ${(err as Error).message}`);
    }
  }
  return {
    kind: RETENTION_EVENT_KIND,
    v: 1,
    bucketName: bucket.bucketName,
    policy,
    maxDeletionsPerRun: maxDeletions,
    dryRun: options.dryRun ?? false,
    ...(report ? { report: { bucketName: report.bucket.bucketName, prefix: report.prefix } } : {}),
  };
}

/** Fails unless `value` (when given and resolved) is a whole number of at least `min`. */
function checkWholeNumber(prop: string, value: number | undefined, min: number, fail: (message: string) => never): void {
  if (value !== undefined && !Token.isUnresolved(value) && (!Number.isSafeInteger(value) || value < min)) {
    fail(`retention.${prop} must be a whole number >= ${min}, got ${value}.`);
  }
}

/** A retention duration (`prop`) in milliseconds (a token only as `Duration.millis(token)`). */
function olderThanMillis(scope: IConstruct, duration: Duration | undefined, prop: string): number | undefined {
  if (duration === undefined) return undefined;
  if (duration.isUnresolved()) {
    try {
      return duration.toMilliseconds();
    } catch {
      throw new VersionPurgerValidationError(
        scope,
        `retention.${prop} comes from a token: give it as Duration.millis(token), the unit the handler reads.`,
      );
    }
  }
  const ms = duration.toMilliseconds({ integral: false });
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new VersionPurgerValidationError(
      scope,
      `retention.${prop} must be a whole number of milliseconds >= 0, got ${duration.toHumanString()}.`,
    );
  }
  return ms;
}

/** True when a plain value holds an unresolved token anywhere. */
function hasUnresolved(value: unknown): boolean {
  if (Token.isUnresolved(value)) return true;
  if (Array.isArray(value)) return value.some(hasUnresolved);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasUnresolved);
  return false;
}

/**
 * A resolved CloudFormation value as cdk-nag names it in a finding
 * (`<Logical.Arn>/*`, `arn:<AWS::Partition>:s3:::name/*`), so that an
 * acknowledgement names exactly that finding.
 */
function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, any>;
    if (o['Fn::Join']) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (o['Fn::Sub']) return flattenReference(o['Fn::Sub']);
    if (o['Fn::GetAtt']) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (o['Fn::ImportValue']) return flattenReference(o['Fn::ImportValue']);
    if (o.Ref) return `<${flattenReference(o.Ref)}>`;
  }
  return JSON.stringify(node);
}

export { retentionInput, flattenReference };

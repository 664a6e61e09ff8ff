import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { RetentionEventError } from '../../engine/errors';
import { validateRetentionPolicy } from '../../engine/retention-policy';
import { errorMessage } from '../../engine/s3/s3-errors';
import type { RetentionExecutionInput } from '../../workflow/contract';
import { RETENTION_EVENT_KIND, type RetentionEvent, type RetentionReportTarget } from '../contract';
import { resolveRetentionRequest } from '../request';

/** What reading the configured run needs. */
export interface ConfiguredRunSource {
  readonly cloudFormation: CloudFormationClient;
  /** The function's own stack. */
  readonly stackId: string | undefined;
  readonly now: () => number;
}

const EVENT_PROPERTIES: readonly string[] = ['kind', 'v', 'bucketName', 'policy', 'maxDeletionsPerRun', 'dryRun', 'report', 'asOf'];

function invalid(reason: string): never {
  throw new RetentionEventError(`Invalid retention event: ${reason}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a configured run (the custom resource's metadata, narrowed by the
 * request). Strict: an unknown property is refused (a misspelt setting would
 * otherwise be silently ignored).
 * @throws RetentionEventError naming the first problem.
 */
export function parseRetentionEvent(value: unknown): RetentionEvent {
  if (!isObject(value) || value.kind !== RETENTION_EVENT_KIND) invalid(`expected an object with kind "${RETENTION_EVENT_KIND}".`);
  if (value.v !== 1) invalid(`unsupported version ${JSON.stringify(value.v)}; this handler reads version 1.`);
  const unknown = Object.keys(value).filter((k) => !EVENT_PROPERTIES.includes(k));
  if (unknown.length > 0) invalid(`unknown propert${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}.`);
  const { bucketName, policy, maxDeletionsPerRun, dryRun, report, asOf } = value;
  if (typeof bucketName !== 'string' || bucketName.length === 0) invalid('bucketName must be a non-empty string.');
  try {
    validateRetentionPolicy(policy);
  } catch (err) {
    invalid(errorMessage(err));
  }
  if (maxDeletionsPerRun !== undefined && (!Number.isSafeInteger(maxDeletionsPerRun) || (maxDeletionsPerRun as number) < 1)) {
    invalid(`maxDeletionsPerRun must be a whole number >= 1, got ${JSON.stringify(maxDeletionsPerRun)}.`);
  }
  if (dryRun !== undefined && typeof dryRun !== 'boolean') invalid(`dryRun must be a boolean, got ${JSON.stringify(dryRun)}.`);
  if (report !== undefined) {
    if (!isObject(report) || typeof report.bucketName !== 'string' || report.bucketName.length === 0 || typeof report.prefix !== 'string') {
      invalid('report must be an object with a non-empty bucketName and a string prefix.');
    }
  }
  if (asOf !== undefined && (typeof asOf !== 'string' || Number.isNaN(Date.parse(asOf)))) {
    invalid(`asOf must be an ISO-8601 instant, got ${JSON.stringify(asOf)}.`);
  }
  return {
    kind: RETENTION_EVENT_KIND,
    v: 1,
    bucketName,
    policy,
    dryRun: dryRun === true,
    ...(maxDeletionsPerRun !== undefined ? { maxDeletionsPerRun: maxDeletionsPerRun as number } : {}),
    ...(report !== undefined ? { report: report as unknown as RetentionReportTarget } : {}),
    ...(asOf !== undefined ? { asOf: asOf as string } : {}),
  };
}

/**
 * The run to do, read from the stack every time a step needs it: the
 * purger's configured run (bucket, policy, prefixes, cap, report), narrowed
 * by the execution's request, evaluated at `asOf` (epoch ms; a later instant
 * than now only for a dry run). The execution input and the step state can
 * only narrow what the stack configured, never widen it.
 * @throws RetentionEventError for a request that cannot run.
 */
export async function readConfiguredRun(run: RetentionExecutionInput, asOf: number | undefined, source: ConfiguredRunSource): Promise<RetentionEvent> {
  const request = { ...run, ...(asOf !== undefined && Number.isFinite(asOf) ? { asOf: new Date(asOf).toISOString() } : {}) };
  const { run: resolved } = await resolveRetentionRequest(request, source);
  return parseRetentionEvent(resolved);
}

import { type CloudFormationClient, DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { RetentionEventError } from '../engine/errors';
import { RESOURCE_TYPE } from '../resource-contract';
import { RETENTION_EVENT_KIND, RETENTION_METADATA_KEY, type RetentionEvent, type RetentionRequest } from './contract';
import { errorMessage } from '../engine/s3/s3-errors';

/**
 * Turns what invoked the function into the run to do, so that an invocation
 * can never widen what is deleted. Anyone with `lambda:InvokeFunction` can
 * send an event; only the stack's template can set a policy:
 *
 * - the request names a purger (a `Custom::VersionPurger` logical id);
 * - the purger's run (bucket, policy, prefixes, cap, report) is read from
 *   that resource's metadata in the function's own stack, every invocation;
 * - the request may only narrow it: ask for a dry run, or for an earlier
 *   `asOf` (a later one only in a dry run).
 */

/** Where the configured runs live. */
export interface RetentionConfigSource {
  readonly cloudFormation: CloudFormationClient;
  /** The function's own stack (its ARN), from the function's configuration. */
  readonly stackId: string | undefined;
  readonly now: () => number;
}

export { parseRequest };

const REQUEST_PROPERTIES: readonly string[] = ['kind', 'v', 'purger', 'dryRun', 'asOf'];

function invalid(reason: string): never {
  throw new RetentionEventError(`Invalid retention request: ${reason}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a request's shape: strict, so that a policy smuggled into it is refused, not ignored. */
function parseRequest(value: unknown): RetentionRequest {
  if (!isObject(value) || value.kind !== RETENTION_EVENT_KIND) invalid(`expected an object with kind "${RETENTION_EVENT_KIND}".`);
  if (value.v !== 2) {
    invalid(
      `unsupported version ${JSON.stringify(value.v)}. A retention request is { "kind": "retention", "v": 2, "purger": ` +
        '"<logical id of the Custom::VersionPurger>" } with optional "dryRun" and "asOf"; the policy comes from the stack.',
    );
  }
  const unknown = Object.keys(value).filter((k) => !REQUEST_PROPERTIES.includes(k));
  if (unknown.length > 0) {
    invalid(
      `unknown propert${unknown.length === 1 ? 'y' : 'ies'} ${unknown.join(', ')}. A request cannot change the ` +
        'configured bucket, policy, prefixes or cap; change them in the app and deploy.',
    );
  }
  const { purger, dryRun, asOf } = value;
  if (typeof purger !== 'string' || purger.length === 0) invalid('purger must be the logical id of a Custom::VersionPurger.');
  if (dryRun !== undefined && typeof dryRun !== 'boolean') invalid(`dryRun must be a boolean, got ${JSON.stringify(dryRun)}.`);
  if (asOf !== undefined && (typeof asOf !== 'string' || Number.isNaN(Date.parse(asOf)))) {
    invalid(`asOf must be an ISO-8601 instant, got ${JSON.stringify(asOf)}.`);
  }
  return value as unknown as RetentionRequest;
}

/** Reads the purger's configured run from its resource's metadata in the function's stack. */
async function loadConfiguredRun(purger: string, source: RetentionConfigSource): Promise<Record<string, unknown>> {
  if (!source.stackId) invalid('the function has no VERSION_PURGER_STACK_ID, so it cannot read any configured policy.');
  let detail;
  try {
    detail = (await source.cloudFormation.send(new DescribeStackResourceCommand({ StackName: source.stackId, LogicalResourceId: purger })))
      .StackResourceDetail;
  } catch (err) {
    if (/does not exist/i.test(errorMessage(err))) invalid(`stack ${source.stackId} has no resource ${purger}.`);
    throw err;
  }
  if (!detail || detail.ResourceType !== RESOURCE_TYPE) {
    invalid(`resource ${purger} of stack ${source.stackId} is ${detail?.ResourceType ?? 'unknown'}, not a ${RESOURCE_TYPE}.`);
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(detail.Metadata ?? '{}');
  } catch {
    invalid(`the metadata of ${purger} is not JSON.`);
  }
  const configured = isObject(metadata) ? metadata[RETENTION_METADATA_KEY] : undefined;
  if (!isObject(configured)) invalid(`purger ${purger} has no retention schedule.`);
  return configured;
}

/**
 * The configured run, narrowed by the request: a dry run when either says so;
 * `asOf` only when it selects no more than now would, or in a dry run.
 */
function narrow(configured: Record<string, unknown>, dryRun: boolean, asOf: number | undefined, now: number): RetentionEvent {
  const effectiveDryRun = configured.dryRun === true || dryRun;
  if (asOf !== undefined && asOf > now && !effectiveDryRun) {
    invalid(
      `asOf ${new Date(asOf).toISOString()} is in the future: a real run evaluated then would delete versions the ` +
        'policy keeps today. Preview a future date with "dryRun": true.',
    );
  }
  return { ...(configured as unknown as RetentionEvent), dryRun: effectiveDryRun };
}

/**
 * Resolves a request into the run lambda/retention/steps/ carry out: the
 * purger's configured {@link RetentionEvent}, narrowed by the request.
 * Also returns the purger.
 * @throws RetentionEventError for a request that cannot run.
 */
export async function resolveRetentionRequest(value: unknown, source: RetentionConfigSource): Promise<{ purger: string; run: RetentionEvent }> {
  const now = source.now();
  const request = parseRequest(value);
  const configured = await loadConfiguredRun(request.purger, source);
  const asOf = request.asOf !== undefined ? Date.parse(request.asOf) : undefined;
  const run = narrow(configured, request.dryRun === true, asOf, now);
  return { purger: request.purger, run: request.asOf !== undefined ? { ...run, asOf: request.asOf } : run };
}

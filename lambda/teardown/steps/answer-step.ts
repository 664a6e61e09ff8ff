import { fmt, shorten } from '../../engine/failure-text';
import type { TeardownAnswerResult, TeardownAnswerState, TeardownExecutionInput } from '../../workflow/contract';
import type { CfnAnswer, CfnDeleteEvent } from '../cfn-response';
import type { TeardownDeps } from '../deps';
import type { PublishTeardownMetrics, TeardownMetrics } from '../metrics';
import { NO_TOTALS, progressOfTotals } from './totals';

/** What Answer needs besides the teardown dependencies. */
export interface AnswerDeps extends TeardownDeps {
  /** PUTs the answer to the ResponseURL; rejects when it could not (the Task then retries). */
  readonly respond: (event: CfnDeleteEvent, answer: CfnAnswer) => Promise<void>;
  readonly publishMetrics: PublishTeardownMetrics;
}

/**
 * Answer: the single response to CloudFormation. A verdict from Plan or
 * Confirm is sent as it is; a Catch's error (a step that failed, the Map,
 * the workflow's own error) is a FAILED answer naming it, so that the stack
 * never waits for its serviceTimeout because of our error. Emits the
 * teardown metrics once the answer is delivered (none for a refusal).
 * @throws when the answer could not be delivered: the Task retries.
 */
export async function answerTeardown(run: TeardownExecutionInput, state: TeardownAnswerState, deps: AnswerDeps): Promise<TeardownAnswerResult> {
  const now = deps.now ?? Date.now;
  const totals = state.totals ?? NO_TOTALS;
  let status: 'SUCCESS' | 'FAILED';
  let reason: string;
  let attempted = true;
  if (state.error) {
    status = 'FAILED';
    const deleted = totals.deleted + totals.deleteMarkersDeleted;
    reason =
      `The purge workflow failed: ${shorten(state.error.Error, 200)}${state.error.Cause ? `: ${shorten(state.error.Cause, 1000)}` : ''}. ` +
      `${fmt(deleted)} versions and delete markers were deleted in earlier passes. Retrying the stack deletion continues the purge.` +
      (deps.logLocation ? ` Logs: ${deps.logLocation}.` : '');
  } else if (state.verdict) {
    ({ status, reason, attempted } = state.verdict);
  } else {
    status = 'FAILED';
    reason = 'The purge workflow reached its answer without a verdict. Retrying the stack deletion starts the purge again.';
  }
  const answer: CfnAnswer = { Status: status, Reason: reason, PhysicalResourceId: run.event.PhysicalResourceId };
  const log = status === 'SUCCESS' ? deps.logger.info.bind(deps.logger) : deps.logger.error.bind(deps.logger);
  log('Answering CloudFormation', { status, reason, physicalResourceId: answer.PhysicalResourceId });
  await deps.respond(run.event as CfnDeleteEvent, answer);
  if (attempted || status === 'FAILED') {
    const bucket = run.event.ResourceProperties?.BucketName;
    const metrics: TeardownMetrics = {
      ...progressOfTotals(totals, state.pass ?? 1),
      bucket: typeof bucket === 'string' ? bucket : '(unknown)',
      requestId: run.event.RequestId,
      invocations: totals.slices,
      durationMs: now() - run.startedAt,
      failed: status === 'FAILED',
    };
    try {
      deps.publishMetrics(metrics);
    } catch (err) {
      deps.logger.error('Could not emit the teardown metrics', { error: String(err) });
    }
  }
  return { status, reason };
}

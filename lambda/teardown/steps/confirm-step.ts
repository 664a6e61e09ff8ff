import type { TeardownConfirmResult, TeardownConfirmState, TeardownExecutionInput, TeardownVerdict } from '../../workflow/contract';
import { readSettings } from '../settings';
import type { TeardownDeps } from '../deps';
import { purgeStoppedReason } from '../reasons';
import { errorMessage } from '../../engine/s3/s3-errors';
import { TeardownBudget, type TeardownTiming } from './budget';
import { MAX_TEARDOWN_PASSES } from './plan-step';
import { addPass, NO_TOTALS } from './totals';
import { failure, finishedVerdict, outOfTimeVerdict, success } from './verdicts';

/**
 * Confirm: adds up the pass's ranges and decides. A refusal or an error in
 * any range, the deadline, or failures answer; otherwise a listing from the
 * start decides between SUCCESS and another pass (while passes are left and
 * this pass deleted something). Deletes nothing, so it does not need the
 * checks: the next Plan runs them before another pass.
 */
export async function confirmTeardown(
  run: TeardownExecutionInput,
  state: TeardownConfirmState,
  deps: TeardownDeps,
  timing: TeardownTiming,
): Promise<TeardownConfirmResult> {
  const results = Array.isArray(state.results) ? state.results : [];
  const pass = state.pass;
  const totals = addPass(state.totals ?? NO_TOTALS, results);
  const answer = (verdict: TeardownVerdict): TeardownConfirmResult => ({ next: 'answer', pass, totals, verdict });
  let settings;
  try {
    settings = readSettings(run.event.ResourceProperties);
  } catch (err) {
    return answer(failure(errorMessage(err)));
  }
  const { bucket } = settings;

  const refusal = results.find((r) => r.refusal)?.refusal;
  if (refusal) return answer(refusal);
  const crashed = results.find((r) => r.error);
  if (crashed?.error) {
    const why = `a slice of key range ${crashed.index} failed: ${crashed.error.Error}${crashed.error.Cause ? `: ${crashed.error.Cause}` : ''}`;
    return answer(failure(purgeStoppedReason(bucket, why, totals)));
  }
  const stopped = results.find((r) => r.stoppedBy);
  if (stopped?.stoppedBy) return answer(failure(purgeStoppedReason(bucket, stopped.stoppedBy, totals)));
  if (results.length > 0 && results.every((r) => r.bucketMissing)) {
    return answer(success(`Bucket ${bucket} does not exist; nothing to purge.`));
  }
  const budget = new TeardownBudget(run.startedAt, settings, timing);
  if (results.some((r) => r.deadlinePassed) || (deps.now ?? Date.now)() >= budget.deadline) {
    return answer(await outOfTimeVerdict(run, settings, totals, budget, deps));
  }
  const deletedThisPass = results.reduce((n, r) => n + r.deleted + r.deleteMarkersDeleted, 0);
  const mayPassAgain = pass < MAX_TEARDOWN_PASSES && (deletedThisPass > 0 || pass === 1);
  const verdict = await finishedVerdict(run, settings, totals, pass, mayPassAgain, deps);
  if (verdict) return answer(verdict);
  deps.logger.info('Versions left after the pass; another pass', { bucket, pass });
  return { next: 'plan', pass: pass + 1, totals };
}

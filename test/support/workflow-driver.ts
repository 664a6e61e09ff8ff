/**
 * Runs the workflow's steps in the order the state machine runs them
 * (lib/private/purge-workflow.ts), in process, one range after another: for
 * tests of the step logic that do not need the ASL interpreter
 * (local-step-functions.ts runs the synthesized definition itself).
 */

/** Sends one step payload to the handler and returns its result. */
export type RunStep = (step: string, run: unknown, state: unknown) => Promise<any>;

/** What a teardown's steps did. */
export interface TeardownTrace {
  /** Answer's result: `{ status, reason }`. */
  readonly answer: { status: string; reason: string };
  /** Slices each range used, pass after pass. */
  readonly slicesPerRange: number[];
  /** True when some slice started from a resume token. */
  readonly resumedFromToken: boolean;
}

/** Plan, every range's slices until done, Confirm (and another pass when it says so), Answer. */
export async function runTeardownSteps(runStep: RunStep, run: unknown, options: { sliceState?: (slice: any) => any } = {}): Promise<TeardownTrace> {
  let state: any = { pass: 1 };
  const slicesPerRange: number[] = [];
  let resumedFromToken = false;
  for (let guard = 0; guard < 10; guard++) {
    state = await runStep('teardown-plan', run, state);
    if (state.next !== 'ranges') break;
    const results = [];
    for (const item of state.ranges) {
      let slice = item;
      while (!slice.done) {
        if (slice.token) resumedFromToken = true;
        slice = await runStep('teardown-slice', run, options.sliceState ? options.sliceState(slice) : slice);
      }
      slicesPerRange.push(slice.slices);
      results.push(slice.result);
    }
    state = await runStep('teardown-confirm', run, { ...state, results });
    if (state.next !== 'plan') break;
  }
  const answer = await runStep('teardown-answer', run, state);
  return { answer, slicesPerRange, resumedFromToken };
}

/** Plan, rounds of every item's slices until done, Round, Finish. Returns Finish's summary (or throws its error). */
export async function runRetentionSteps(runStep: RunStep, run: unknown, runId: string): Promise<{ summary: any; ranges: number; rounds: number }> {
  let state: any = await runStep('retention-plan', run, { runId });
  const ranges = state.ranges.length;
  let rounds = 0;
  while (state.next === 'ranges') {
    rounds++;
    const results = [];
    for (const item of state.items) {
      let slice = item;
      while (!slice.done) slice = await runStep('retention-slice', run, slice);
      results.push(slice.result);
    }
    state = await runStep('retention-round', run, { ...state, results });
  }
  const summary = await runStep('retention-finish', run, state);
  return { summary, ranges, rounds };
}

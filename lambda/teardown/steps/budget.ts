import type { TeardownSettings } from '../settings';

/** The time one workflow step may use. */
export interface TeardownTiming {
  /** Epoch ms by which this invocation must have stopped the engine. */
  readonly invocationDeadline: number;
  /** Part of the serviceTimeout budget kept for the final estimate and the answer (ms). */
  readonly answerReserveMs: number;
}

/**
 * The run's time budget: CloudFormation stops waiting `serviceTimeout` after
 * the Delete arrived (`startedAt`); the last part of it (the reserve, at most
 * a quarter of the budget, so short serviceTimeouts still purge) is kept for
 * the final estimate and the answer.
 */
export class TeardownBudget {
  /** When CloudFormation stops waiting. */
  readonly end: number;
  readonly reserve: number;
  /** No slice works past this: the run's deadline. */
  readonly deadline: number;

  constructor(startedAt: number, settings: TeardownSettings, timing: TeardownTiming) {
    this.end = startedAt + settings.serviceTimeoutSeconds * 1000;
    this.reserve = Math.min(timing.answerReserveMs, settings.serviceTimeoutSeconds * 250);
    this.deadline = this.end - this.reserve;
  }

  /** When a slice started now stops its engine: the run's deadline or this invocation's, whichever is first. */
  sliceDeadline(timing: TeardownTiming): number {
    return Math.min(this.deadline, timing.invocationDeadline);
  }
}

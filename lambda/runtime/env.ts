import { ENV } from '../resource-contract';

/** Time settings of the handler, read from the environment. */
export interface HandlerEnv {
  /**
   * Lambda time kept free at the end of an invocation for the engine to stop
   * cleanly and for returning the step result to the workflow. Capped at a quarter
   * of the time left when the invocation starts.
   * @default 60000
   */
  readonly safetyMarginMs: number;
  /**
   * Part of the custom resource's serviceTimeout budget kept free for the
   * final estimate and the answer. Capped at a quarter of the budget.
   * @default 30000
   */
  readonly answerReserveMs: number;
  /**
   * ARN of the function's own stack, where retention reads each purger's
   * configured policy. Set by the construct.
   * @default - none: retention requests are refused
   */
  readonly stackId?: string;
}

/** Default of {@link HandlerEnv.safetyMarginMs}. */
const DEFAULT_SAFETY_MARGIN_MS = 60_000;
/** Default of {@link HandlerEnv.answerReserveMs}. */
const DEFAULT_ANSWER_RESERVE_MS = 30_000;

/** Reads a non-negative integer variable; falls back to `fallback` when unset or invalid. */
function readMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

/** Reads {@link HandlerEnv} from `env`. Invalid values fall back to defaults, never throw. */
function readHandlerEnv(env: NodeJS.ProcessEnv = process.env): HandlerEnv {
  return {
    safetyMarginMs: readMs(env, ENV.safetyMarginMs, DEFAULT_SAFETY_MARGIN_MS),
    answerReserveMs: readMs(env, ENV.answerReserveMs, DEFAULT_ANSWER_RESERVE_MS),
    stackId: env[ENV.stackId] || undefined,
  };
}

export { readHandlerEnv, DEFAULT_SAFETY_MARGIN_MS, DEFAULT_ANSWER_RESERVE_MS };

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { CfnDeleteEvent } from '../teardown/cfn-response';
import type { RetentionContinuation, RetentionRequestContinuation } from '../retention/contract';
import type { TeardownState } from '../teardown/custom-resource';

/** `kind` of the payload a handler sends to itself to continue a purge. */
export const CONTINUATION_KIND = 'teardown-continuation';

/**
 * What the handler sends to itself (asynchronously) when a purge needs more
 * time than one invocation: the original CloudFormation event and the state
 * to carry on from, including the engine's resume token, which holds the
 * accumulated counts and errors.
 */
export interface ContinuationPayload {
  readonly kind: typeof CONTINUATION_KIND;
  readonly v: 1;
  readonly event: CfnDeleteEvent;
  readonly state: TeardownState;
}

/**
 * Largest payload sent. Lambda accepts 256 KiB for asynchronous invocations
 * (more in some regions); stay below the smallest limit.
 */
export const MAX_CONTINUATION_BYTES = 250_000;

/** True when `value` is a {@link ContinuationPayload}. */
function isContinuation(value: unknown): value is ContinuationPayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.kind === CONTINUATION_KIND && v.v === 1 && typeof v.event === 'object' && typeof v.state === 'object';
}

/** What the function sends to itself: a teardown or a retention run that needs another invocation. */
export type SelfInvocation = ContinuationPayload | RetentionContinuation | RetentionRequestContinuation;

/** Sends a continuation; rejects when Lambda did not accept it. */
export type InvokeSelf = (payload: SelfInvocation) => Promise<void>;

/**
 * Returns an {@link InvokeSelf} that invokes `functionName` asynchronously
 * (InvocationType `Event`). The client honours `AWS_ENDPOINT_URL_LAMBDA`.
 */
function createSelfInvoker(functionName: string, client: LambdaClient = new LambdaClient({})): InvokeSelf {
  return async (payload) => {
    const body = JSON.stringify(payload);
    const size = Buffer.byteLength(body, 'utf8');
    if (size > MAX_CONTINUATION_BYTES) {
      throw new Error(`continuation payload is ${size} bytes, more than the ${MAX_CONTINUATION_BYTES} Lambda accepts`);
    }
    const res = await client.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(body, 'utf8') }),
    );
    if (res.StatusCode !== 202) {
      throw new Error(`Lambda answered the self-invocation with status ${res.StatusCode ?? 'none'}, not 202`);
    }
  };
}

export { isContinuation, createSelfInvoker };

import type { S3Client } from '@aws-sdk/client-s3';
import { withRetries } from './retry-policy';

/** Context flag set on calls whose caller retries them itself. */
const CALLER_RETRIES = 'versionPurgerCallerRetries';

/** The SDK's handler execution context: one per call, shared by all its middleware. */
interface MiddlewareContext {
  [key: string]: unknown;
}

// The SDK's middleware types live in @smithy/types, which is not a dependency of ours.
type Handler = (args: any) => Promise<any>;

/** The part of a command this module touches. */
interface CommandWithStack {
  readonly middlewareStack: {
    add(middleware: (next: Handler, context: MiddlewareContext) => Handler, options: { step: 'initialize'; name: string; override: boolean }): void;
  };
}

/**
 * Makes `client` retry every call by the project's retry policy
 * (retry-policy.ts): transient faults and throttles with backoff and jitter,
 * a bounded number of times; final errors at once. Calls marked with
 * {@link retriedByCaller} are sent once.
 *
 * It sits inside the SDK's own retry middleware (set to one attempt), where
 * that one would retry: every attempt is signed anew, and errors are seen as
 * the HTTP handler threw them. Installed once, on the client: callers just send.
 */
export function addRetries(client: S3Client): void {
  client.middlewareStack.addRelativeTo(
    (next: Handler, context: MiddlewareContext): Handler => async (args) =>
      context[CALLER_RETRIES] === true ? next(args) : withRetries(() => next(args)),
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'versionPurgerRetries', override: true },
  );
}

/**
 * Marks a command as retried by its caller: the client sends it once. The
 * engine's ListObjectVersions and DeleteObjects loops use it, so that every
 * SlowDown reaches their rate controllers and a deadline stops them cleanly.
 */
export function retriedByCaller<C extends { readonly middlewareStack: unknown }>(command: C): C {
  (command as unknown as CommandWithStack).middlewareStack.add(
    (next, context): Handler => (args) => {
      context[CALLER_RETRIES] = true;
      return next(args);
    },
    { step: 'initialize', name: 'versionPurgerCallerRetries', override: true },
  );
  return command;
}

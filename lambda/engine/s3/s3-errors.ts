import { THROTTLE_CODES } from '../constants';

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'TimeoutError', 'RequestTimeout', 'NetworkingError', 'AbortError_socket']);

/**
 * The S3 error code of an SDK error (`NoSuchBucket`, `SlowDown`, …), or its
 * name, or a network error's code (`ECONNRESET`; Node names those `Error`).
 */
export function errorCode(err: unknown): string {
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name === 'Error' && typeof e.code === 'string' ? undefined : e.name;
  return e.Code ?? name ?? e.code ?? 'UnknownError';
}

/** HTTP status of an SDK error, when the server answered. */
export function httpStatus(err: unknown): number | undefined {
  const e = (err ?? {}) as SdkErrorShape;
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True for "slow down" answers: 503, SlowDown (also when S3 sends it inside a 200). */
export function isThrottle(err: unknown): boolean {
  return THROTTLE_CODES.has(errorCode(err)) || httpStatus(err) === 503;
}

/**
 * True for errors worth retrying: throttling, 5xx (but 501 NotImplemented, a
 * store's lasting answer), timeouts and dropped connections.
 */
export function isTransient(err: unknown): boolean {
  if (isThrottle(err)) return true;
  const code = errorCode(err);
  if (code === 'NotImplemented') return false;
  const status = httpStatus(err);
  if (status !== undefined && status >= 500 && status !== 501) return true;
  if (code === 'InternalError' || code === 'ServiceUnavailable' || NETWORK_CODES.has(code)) return true;
  const sys = (err as { code?: string } | undefined)?.code;
  return sys !== undefined && NETWORK_CODES.has(sys);
}

export function isNoSuchBucket(err: unknown): boolean {
  return errorCode(err) === 'NoSuchBucket';
}

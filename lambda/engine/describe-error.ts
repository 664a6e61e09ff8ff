import { errorCode, errorMessage } from './s3/s3-errors';

/** `Code: message` of any error, for logs and reasons. */
export function describeError(err: unknown): string {
  const code = errorCode(err);
  const message = errorMessage(err);
  return message && message !== code ? `${code}: ${message}` : code;
}

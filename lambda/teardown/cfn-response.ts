import * as http from 'node:http';
import * as https from 'node:https';

/** Fields every CloudFormation custom-resource request carries. */
interface CfnEventBase {
  readonly ServiceToken: string;
  /** Pre-signed S3 URL the answer is PUT to. A credential: never log it. */
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly ResourceProperties: Record<string, unknown>;
}

/** A Create request. */
export interface CfnCreateEvent extends CfnEventBase {
  readonly RequestType: 'Create';
}

/** An Update request. */
export interface CfnUpdateEvent extends CfnEventBase {
  readonly RequestType: 'Update';
  readonly PhysicalResourceId: string;
  readonly OldResourceProperties: Record<string, unknown>;
}

/** A Delete request. */
export interface CfnDeleteEvent extends CfnEventBase {
  readonly RequestType: 'Delete';
  readonly PhysicalResourceId: string;
}

/** Any CloudFormation custom-resource request. */
export type CfnEvent = CfnCreateEvent | CfnUpdateEvent | CfnDeleteEvent;

/** What the handler answers. */
export interface CfnAnswer {
  readonly Status: 'SUCCESS' | 'FAILED';
  /** Required when FAILED. Shortened to fit the body limit. */
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** CloudFormation rejects response bodies larger than this (bytes). */
export const MAX_RESPONSE_BYTES = 4096;

/** Appended to a Reason that had to be shortened. */
const TRUNCATION_MARK = ' [truncated]';

/** True when `value` looks like a CloudFormation custom-resource request. */
function isCfnEvent(value: unknown): value is CfnEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.RequestType === 'Create' || v.RequestType === 'Update' || v.RequestType === 'Delete') &&
    typeof v.ResponseURL === 'string' &&
    typeof v.StackId === 'string' &&
    typeof v.RequestId === 'string' &&
    typeof v.LogicalResourceId === 'string'
  );
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += ch;
  }
  return out;
}

/**
 * Renders the JSON body of the answer, shortening `Reason` until the whole
 * body fits in {@link MAX_RESPONSE_BYTES}. JSON escaping can make a character
 * longer in the body than in the string, so the fit is checked on the
 * rendered body, not estimated.
 */
function renderResponseBody(event: CfnEvent, answer: CfnAnswer, maxBytes = MAX_RESPONSE_BYTES): string {
  const base = {
    Status: answer.Status,
    PhysicalResourceId: answer.PhysicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(answer.Data ? { Data: answer.Data } : {}),
  };
  const reason = answer.Reason ?? answer.Status;
  const render = (r: string) => JSON.stringify({ ...base, Reason: r });
  const body = render(reason);
  if (Buffer.byteLength(body, 'utf8') <= maxBytes) return body;

  // Binary search for the longest prefix (in UTF-8 bytes) whose rendered body fits.
  const shortened = (bytes: number) => render(truncateUtf8(reason, bytes) + TRUNCATION_MARK);
  const fits = (bytes: number) => Buffer.byteLength(shortened(bytes), 'utf8') <= maxBytes;
  let lo = 0;
  let hi = Buffer.byteLength(reason, 'utf8');
  if (!fits(lo)) return render(TRUNCATION_MARK.trim()); // only the fixed fields are left
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return shortened(lo);
}

/** Sends one PUT; resolves on 2xx, rejects otherwise. */
type PutRequest = (url: string, body: string, timeoutMs: number) => Promise<void>;

/** PUTs `body` to a pre-signed URL with an empty Content-Type, as the URL's signature expects. */
function putBody(url: string, body: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const transport = target.protocol === 'http:' ? http : https;
    const req = transport.request(
      target,
      {
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body, 'utf8') },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`ResponseURL answered HTTP ${status}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`ResponseURL did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Options of {@link sendResponse}. */
export interface SendResponseOptions {
  /** @default 5 */
  readonly attempts?: number;
  /** First back-off delay; doubles with each retry, with full jitter. @default 500 */
  readonly baseDelayMs?: number;
  /** Per-attempt timeout. @default 10000 */
  readonly timeoutMs?: number;
  /** @default - an HTTP(S) PUT */
  readonly put?: PutRequest;
}

/**
 * Answers CloudFormation: PUTs the JSON body to the event's ResponseURL,
 * retrying network errors and non-2xx answers with exponential back-off.
 * Rejects with the last error when every attempt failed.
 */
async function sendResponse(event: CfnEvent, answer: CfnAnswer, options: SendResponseOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const put = options.put ?? putBody;
  const body = renderResponseBody(event, answer);
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) {
      const delay = Math.floor(Math.random() * baseDelayMs * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, delay));
    }
    try {
      await put(event.ResponseURL, body, timeoutMs);
      return;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** A copy of the event that is safe to log: the pre-signed ResponseURL is masked. */
function redactEvent<T extends { ResponseURL?: string }>(event: T): T {
  return { ...event, ResponseURL: '(redacted)' };
}

export { isCfnEvent, truncateUtf8, renderResponseBody, sendResponse, putBody, redactEvent, TRUNCATION_MARK };
export type { PutRequest };

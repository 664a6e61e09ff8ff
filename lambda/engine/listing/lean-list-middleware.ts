import { StringDecoder } from 'node:string_decoder';
import type { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { ListVersionsScan, type ScannedPage } from './list-versions-scanner';

// The SDK's middleware types live in @smithy/types, which is not a dependency of ours.
type Handler = (args: any) => Promise<any>;

/** Where the lean reading of one ListObjectVersions answer is left for the caller. */
export interface LeanListSlot {
  page?: ScannedPage;
}

/** An HTTP answer as the SDK's transport hands it to the deserializer. */
interface RawResponse {
  statusCode?: number;
  body?: unknown;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads this one command's successful answer with {@link scanListVersions}
 * and leaves it in the returned slot; the SDK still signs, sends, retries,
 * resolves endpoints and credentials, and turns every error answer into its
 * exception. It sits just inside the SDK's deserializer: a 200 that scans as a
 * ListVersionsResult reaches the deserializer with an empty body (so the SDK's
 * output holds only metadata); anything else, including XML the scanner
 * rejects, reaches it unchanged and is the SDK's to read or throw.
 */
export function readLeanly(command: ListObjectVersionsCommand): LeanListSlot {
  const slot: LeanListSlot = {};
  command.middlewareStack.addRelativeTo(
    (next: Handler) => async (args: unknown) => {
      const result = await next(args);
      const response = result.response as RawResponse;
      if (response.statusCode !== 200 || response.body === undefined) return result;
      const { page, bytes } = await scanBody(response.body);
      response.body = page ? EMPTY : bytes;
      slot.page = page;
      return result;
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'versionPurgerLeanList', override: true },
  );
  return slot;
}

/**
 * Scans the body chunk by chunk as it arrives (see ListVersionsScan for why).
 * The chunks are kept, outside the heap, until the page is read: if the
 * scanner declines or rejects the document, the SDK gets the bytes whole.
 */
async function scanBody(body: unknown): Promise<{ page: ScannedPage | undefined; bytes: Uint8Array }> {
  const chunks: Buffer[] = [];
  const decoder = new StringDecoder('utf8');
  const scan = new ListVersionsScan();
  let broken = false;
  const feed = (text: string, final: boolean) => {
    if (broken) return;
    try {
      scan.push(text, final);
    } catch {
      broken = true;
    }
  };
  for await (const chunk of asChunks(body)) {
    chunks.push(chunk);
    feed(decoder.write(chunk), false);
  }
  feed(decoder.end(), true);
  let page: ScannedPage | undefined;
  try {
    page = broken ? undefined : scan.result();
  } catch {
    page = undefined;
  }
  return { page, bytes: page ? EMPTY : Buffer.concat(chunks) };
}

async function* asChunks(body: unknown): AsyncIterable<Buffer> {
  if (typeof body === 'string') yield Buffer.from(body, 'utf8');
  else if (body instanceof Uint8Array) yield Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else for await (const chunk of body as AsyncIterable<Buffer | string>) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

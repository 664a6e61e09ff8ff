import type { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { scanListVersions, type ScannedPage } from './list-versions-scanner';

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
      const bytes = await collect(response.body);
      const page = scanOrGiveUp(bytes);
      response.body = page ? EMPTY : bytes;
      slot.page = page;
      return result;
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'versionPurgerLeanList', override: true },
  );
  return slot;
}

function scanOrGiveUp(bytes: Buffer): ScannedPage | undefined {
  try {
    return scanListVersions(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function collect(body: unknown): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

import { DeleteObjectsCommand, type Delete } from '@aws-sdk/client-s3';

// The SDK's middleware types live in @smithy/types, which is not a dependency of ours.
type Handler = (args: any) => Promise<any>;

/** What the SDK's XML writer escapes in element text (@aws-sdk/xml-builder), and how. */
const ESCAPED = /[&"'<>\r\n\u0085\u2028]/;
const ESCAPED_ALL = /[&"'<>\r\n\u0085\u2028]/g;
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;', '"': '&quot;', "'": '&apos;', '<': '&lt;', '>': '&gt;', '\r': '&#x0D;', '\n': '&#x0A;', '\u0085': '&#x85;', '\u2028': '&#x2028;',
};
const escapeChar = (c: string): string => ESCAPES[c];
const text = (value: string): string => (ESCAPED.test(value) ? value.replace(ESCAPED_ALL, escapeChar) : value);

/** An object of a DeleteObjects batch, as the engine has it. */
type BatchObject = { readonly key: string; readonly versionId: string };

/**
 * The DeleteObjects body for `entries` (Quiet), byte for byte what the SDK's
 * serializer writes for their `{ Key, VersionId }`, built in one pass without
 * the SDK's node tree. Keys must already have passed isXmlSafeKey.
 */
function deleteBodyXml(entries: readonly BatchObject[]): string {
  let body = '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  for (const e of entries) body += `<Object><Key>${text(e.key)}</Key><VersionId>${text(e.versionId)}</VersionId></Object>`;
  return `${body}<Quiet>true</Quiet></Delete>`;
}

/**
 * Makes `command` carry `body()` as its body. The SDK's serializer is handed
 * an input without objects, so it only writes the URL, headers and an empty
 * list, and a middleware just inside it puts the full body in, before the
 * checksum (or the MD5 fallback), content length and signing see the request.
 */
function withLeanBody(command: DeleteObjectsCommand, body: () => string | Uint8Array): DeleteObjectsCommand {
  command.middlewareStack.addRelativeTo(
    (next: Handler) => (args: any) => next({ ...args, input: { ...args.input, Delete: { Quiet: true, Objects: [] } } }),
    { relation: 'before', toMiddleware: 'serializerMiddleware', name: 'versionPurgerDeleteObjectsOut', override: true },
  );
  command.middlewareStack.addRelativeTo(
    (next: Handler) => (args: any) => {
      args.request.body = body();
      return next(args);
    },
    { relation: 'after', toMiddleware: 'serializerMiddleware', name: 'versionPurgerDeleteObjectsBody', override: true },
  );
  return command;
}

/**
 * A DeleteObjects of `entries` (Quiet), its body written straight from the
 * entries. Its input still lists every object for whoever reads it (tests,
 * logs), but makes that list only when it is read: a `{ Key, VersionId }`
 * copy of every entry in flight was live heap the whole time a batch waited
 * and was sent (bench/README.md, issue 12's memory).
 */
export function leanDeleteObjects(
  bucket: string,
  entries: readonly BatchObject[],
  bypassGovernanceRetention: boolean,
  lease?: BodyLease,
): DeleteObjectsCommand {
  const del = { Quiet: true } as Delete;
  Object.defineProperty(del, 'Objects', { enumerable: true, get: () => entries.map((e) => ({ Key: e.key, VersionId: e.versionId })) });
  const command = new DeleteObjectsCommand({ Bucket: bucket, Delete: del, BypassGovernanceRetention: bypassGovernanceRetention || undefined });
  return withLeanBody(command, lease ? () => lease.encode(deleteBodyXml(entries)) : () => deleteBodyXml(entries));
}

/** Buffers smaller than this are kept for reuse; a 1,000-key body of 30-character keys is about 115 KB. */
const KEPT_BUFFER_BYTES = 1 << 20;
/** A new buffer is at least this big, so that one fits the next body too. */
const MIN_BUFFER_BYTES = 128 << 10;

/**
 * One request's body buffer, borrowed from a {@link DeleteBodyPool}.
 * `release` gives it back, and must be called only once S3 has answered
 * the request with a 200: DeleteObjects is answered only after S3 has read
 * the whole body and checked its checksum, so nothing still reads the
 * buffer. After an error nothing is given back (the buffer is dropped),
 * since the body may still be on its way.
 */
export interface BodyLease {
  /** `text` as UTF-8 in the borrowed buffer. */
  encode(text: string): Uint8Array;
  release(): void;
}

/**
 * Reusable DeleteObjects body buffers: at most one per request in flight.
 *
 * A body held as a string lives as long as its request (a few hundred ms),
 * so it outlives two young-generation collections and is promoted: at 16
 * prefixes it was a fifth of everything promoted, and the old generation's
 * peak grows with what is promoted (bench/README.md, issue 12's memory).
 * Written into a buffer, the string dies at once; reused, the buffers are
 * no garbage at all.
 */
export class DeleteBodyPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly maxFree: number) {}

  lease(): BodyLease {
    let taken: Buffer | undefined;
    return {
      encode: (text) => {
        const bytes = Buffer.byteLength(text, 'utf8');
        taken = this.take(bytes);
        taken.write(text, 0, 'utf8');
        return taken.subarray(0, bytes);
      },
      release: () => {
        if (taken) this.give(taken);
        taken = undefined;
      },
    };
  }

  private take(bytes: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= bytes);
    if (i >= 0) return this.free.splice(i, 1)[0];
    return Buffer.allocUnsafeSlow(Math.max(bytes, MIN_BUFFER_BYTES));
  }

  private give(buffer: Buffer): void {
    if (buffer.length <= KEPT_BUFFER_BYTES && this.free.length < this.maxFree) this.free.push(buffer);
  }
}

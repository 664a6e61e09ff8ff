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
function withLeanBody(command: DeleteObjectsCommand, body: () => string): DeleteObjectsCommand {
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
export function leanDeleteObjects(bucket: string, entries: readonly BatchObject[], bypassGovernanceRetention: boolean): DeleteObjectsCommand {
  const del = { Quiet: true } as Delete;
  Object.defineProperty(del, 'Objects', { enumerable: true, get: () => entries.map((e) => ({ Key: e.key, VersionId: e.versionId })) });
  const command = new DeleteObjectsCommand({ Bucket: bucket, Delete: del, BypassGovernanceRetention: bypassGovernanceRetention || undefined });
  return withLeanBody(command, () => deleteBodyXml(entries));
}

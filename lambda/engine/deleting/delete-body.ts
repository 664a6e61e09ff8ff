import { DeleteObjectsCommand } from '@aws-sdk/client-s3';

// The SDK's middleware types live in @smithy/types, which is not a dependency of ours.
type Handler = (args: any) => Promise<any>;

/** One object of a DeleteObjects request, as the SDK's input has it. */
export interface DeleteTarget {
  readonly Key?: string;
  readonly VersionId?: string;
}

/** What the SDK's XML writer escapes in element text (@aws-sdk/xml-builder), and how. */
const ESCAPED = /[&"'<>\r\n\u0085\u2028]/;
const ESCAPED_ALL = /[&"'<>\r\n\u0085\u2028]/g;
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;', '"': '&quot;', "'": '&apos;', '<': '&lt;', '>': '&gt;', '\r': '&#x0D;', '\n': '&#x0A;', '\u0085': '&#x85;', '\u2028': '&#x2028;',
};
const escapeChar = (c: string): string => ESCAPES[c];
const text = (value: string): string => (ESCAPED.test(value) ? value.replace(ESCAPED_ALL, escapeChar) : value);

/**
 * The DeleteObjects body for `objects`, byte for byte what the SDK's
 * serializer writes for `{ Objects, Quiet }`, built in one pass without the
 * SDK's node tree. Keys must already have passed isXmlSafeKey.
 */
export function deleteObjectsXml(objects: readonly DeleteTarget[], quiet: boolean | undefined): string {
  let body = '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  for (const o of objects) {
    body += '<Object>';
    if (o.Key !== undefined) body += `<Key>${text(o.Key)}</Key>`;
    if (o.VersionId !== undefined) body += `<VersionId>${text(o.VersionId)}</VersionId>`;
    body += '</Object>';
  }
  return quiet === undefined ? `${body}</Delete>` : `${body}<Quiet>${quiet}</Quiet></Delete>`;
}

/**
 * Makes `command` carry {@link deleteObjectsXml} as its body. Its input
 * keeps every object (what callers and tests see); the SDK's serializer is
 * handed a copy without them, so it only writes the URL, headers and an empty
 * list, and a middleware just inside it puts the full body in, before the
 * checksum (or the MD5 fallback), content length and signing see the request.
 */
export function withLeanBody(command: DeleteObjectsCommand): DeleteObjectsCommand {
  const { Objects: objects = [], Quiet: quiet } = command.input.Delete ?? {};
  command.middlewareStack.addRelativeTo(
    (next: Handler) => (args: any) => next({ ...args, input: { ...args.input, Delete: { ...args.input.Delete, Objects: [] } } }),
    { relation: 'before', toMiddleware: 'serializerMiddleware', name: 'versionPurgerDeleteObjectsOut', override: true },
  );
  command.middlewareStack.addRelativeTo(
    (next: Handler) => (args: any) => {
      args.request.body = deleteObjectsXml(objects, quiet);
      return next(args);
    },
    { relation: 'after', toMiddleware: 'serializerMiddleware', name: 'versionPurgerDeleteObjectsBody', override: true },
  );
  return command;
}

/** A DeleteObjects of `entries` (Quiet) with {@link withLeanBody}'s body. */
export function leanDeleteObjects(
  bucket: string,
  entries: ReadonlyArray<{ readonly key: string; readonly versionId: string }>,
  bypassGovernanceRetention: boolean,
): DeleteObjectsCommand {
  return withLeanBody(new DeleteObjectsCommand({
    Bucket: bucket,
    Delete: { Quiet: true, Objects: entries.map((e) => ({ Key: e.key, VersionId: e.versionId })) },
    BypassGovernanceRetention: bypassGovernanceRetention || undefined,
  }));
}

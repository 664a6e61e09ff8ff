import type { Bucket } from './bucket';
import type { S3Error } from './errors';
import type { ListObjectsPage } from './list-objects';
import type { ListVersionsPage, ListVersionsQuery } from './list-versions';
import { element, escapeXml, S3_NAMESPACE, XML_DECLARATION } from './xml';

const OWNER_ID = '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a';
const OWNER = `<Owner><ID>${OWNER_ID}</ID><DisplayName>model</DisplayName></Owner>`;

/**
 * S3's `encoding-type=url` form, as observed on AWS: percent-encoding with
 * spaces as '+' and '/' left alone (botocore decodes it with unquote_plus).
 */
export function s3UrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+').replace(/%2F/g, '/');
}

function document(root: string, inner: string): string {
  return `${XML_DECLARATION}<${root} xmlns="${S3_NAMESPACE}">${inner}</${root}>`;
}

// Seeded versions share a handful of timestamps; formatting each one anew dominated list rendering.
const isoTimeCache = new Map<number, string>();
const ISO_TIME_CACHE_LIMIT = 10_000;

function isoTime(ms: number): string {
  let text = isoTimeCache.get(ms);
  if (text === undefined) {
    if (isoTimeCache.size >= ISO_TIME_CACHE_LIMIT) isoTimeCache.clear();
    text = new Date(ms).toISOString();
    isoTimeCache.set(ms, text);
  }
  return text;
}

export function errorXml(error: S3Error, resource: string, requestId: string): string {
  const details = Object.entries(error.details)
    .map(([name, value]) => element(name, value))
    .join('');
  return `${XML_DECLARATION}<Error>${element('Code', error.code)}${element('Message', error.message)}${details}${element('Resource', resource)}${element('RequestId', requestId)}</Error>`;
}

export function listVersionsXml(bucket: string, query: ListVersionsQuery, page: ListVersionsPage, urlEncoded: boolean): string {
  const encodeKey = urlEncoded ? s3UrlEncode : (k: string): string => k;
  const parts: string[] = [
    element('Name', bucket),
    element('Prefix', encodeKey(query.prefix)),
    element('KeyMarker', encodeKey(query.keyMarker)),
    element('VersionIdMarker', query.versionIdMarker),
  ];
  if (page.nextKeyMarker !== undefined) parts.push(element('NextKeyMarker', encodeKey(page.nextKeyMarker)));
  if (page.nextVersionIdMarker !== undefined) parts.push(element('NextVersionIdMarker', page.nextVersionIdMarker));
  parts.push(element('MaxKeys', query.maxKeys));
  if (query.delimiter) parts.push(element('Delimiter', encodeKey(query.delimiter)));
  if (urlEncoded) parts.push(element('EncodingType', 'url'));
  parts.push(element('IsTruncated', page.isTruncated));
  // Consecutive entries mostly share a key and an ETag, so their escaped forms are reused.
  let lastKey: string | undefined;
  let keyXml = '';
  let lastEtag: string | undefined;
  let etagXml = '';
  for (const entry of page.entries) {
    if ('commonPrefix' in entry) {
      parts.push(`<CommonPrefixes>${element('Prefix', encodeKey(entry.commonPrefix))}</CommonPrefixes>`);
      continue;
    }
    const v = entry.version;
    if (v.key !== lastKey) {
      lastKey = v.key;
      keyXml = escapeXml(encodeKey(v.key));
    }
    const common = `<Key>${keyXml}</Key><VersionId>${escapeXml(v.versionId)}</VersionId><IsLatest>${v.isLatest}</IsLatest><LastModified>${isoTime(v.lastModifiedMs)}</LastModified>`;
    if (v.isDeleteMarker) {
      parts.push(`<DeleteMarker>${common}${OWNER}</DeleteMarker>`);
      continue;
    }
    if (v.etag !== lastEtag) {
      lastEtag = v.etag;
      etagXml = escapeXml(v.etag);
    }
    parts.push(`<Version>${common}<ETag>${etagXml}</ETag><Size>${v.size}</Size><StorageClass>STANDARD</StorageClass>${OWNER}</Version>`);
  }
  return document('ListVersionsResult', parts.join(''));
}

export interface ListObjectsEcho {
  readonly prefix: string;
  readonly delimiter: string;
  readonly maxKeys: number;
  /** Extra elements in request order, e.g. Marker, ContinuationToken, StartAfter (already rendered). */
  readonly markers: string;
  /** NextMarker or NextContinuationToken, already rendered. */
  readonly next: string;
  readonly keyCount: boolean;
}

export function listObjectsXml(bucket: string, echo: ListObjectsEcho, page: ListObjectsPage, urlEncoded: boolean): string {
  const encodeKey = urlEncoded ? s3UrlEncode : (k: string): string => k;
  const parts = [element('Name', bucket), element('Prefix', encodeKey(echo.prefix)), echo.markers, echo.next, element('MaxKeys', echo.maxKeys)];
  if (echo.keyCount) parts.push(element('KeyCount', page.contents.length + page.commonPrefixes.length));
  if (echo.delimiter) parts.push(element('Delimiter', encodeKey(echo.delimiter)));
  if (urlEncoded) parts.push(element('EncodingType', 'url'));
  parts.push(element('IsTruncated', page.isTruncated));
  for (const o of page.contents) {
    parts.push(
      `<Contents>${element('Key', encodeKey(o.key))}${element('LastModified', isoTime(o.lastModifiedMs))}${element('ETag', o.etag)}${element('Size', o.size)}<StorageClass>STANDARD</StorageClass></Contents>`,
    );
  }
  for (const p of page.commonPrefixes) parts.push(`<CommonPrefixes>${element('Prefix', encodeKey(p))}</CommonPrefixes>`);
  return document('ListBucketResult', parts.join(''));
}

export interface DeleteResultEntry {
  readonly key: string;
  readonly versionId?: string;
  readonly deleteMarker?: boolean;
  readonly deleteMarkerVersionId?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export function deleteResultXml(entries: readonly DeleteResultEntry[], quiet: boolean): string {
  const parts: string[] = [];
  for (const e of entries) {
    if (e.error) {
      parts.push(`<Error>${element('Key', e.key)}${element('VersionId', e.versionId)}${element('Code', e.error.code)}${element('Message', e.error.message)}</Error>`);
    } else if (!quiet) {
      const marker = e.deleteMarker ? element('DeleteMarker', true) + element('DeleteMarkerVersionId', e.deleteMarkerVersionId) : '';
      parts.push(`<Deleted>${element('Key', e.key)}${element('VersionId', e.versionId)}${marker}</Deleted>`);
    }
  }
  return document('DeleteResult', parts.join(''));
}

export function versioningXml(bucket: Bucket): string {
  return document('VersioningConfiguration', bucket.versioning === 'Unversioned' ? '' : element('Status', bucket.versioning));
}

export function taggingXml(tags: ReadonlyArray<{ key: string; value: string }>): string {
  const tagXml = tags.map((t) => `<Tag>${element('Key', t.key)}${element('Value', t.value)}</Tag>`).join('');
  return document('Tagging', `<TagSet>${tagXml}</TagSet>`);
}

export function listBucketsXml(buckets: readonly Bucket[]): string {
  const items = buckets.map((b) => `<Bucket>${element('Name', b.name)}${element('CreationDate', isoTime(b.createdAt))}</Bucket>`).join('');
  return document('ListAllMyBucketsResult', `${OWNER}<Buckets>${items}</Buckets>`);
}

export function locationXml(): string {
  return `${XML_DECLARATION}<LocationConstraint xmlns="${S3_NAMESPACE}"/>`;
}

import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ChunkedBodyError, decodeAwsChunked, isAwsChunked } from './aws-chunked';
import { invalidArgument, malformedXml, notImplemented, S3Error } from './errors';
import type { ListVersionsQuery } from './list-versions';
import { childElements, childText, parseXml, XmlSyntaxError, type XmlElement } from './xml';

export const MAX_KEYS_PER_PAGE = 1000;
export const MAX_KEYS_PER_DELETE = 1000;

export interface ObjectIdentifier {
  readonly key: string;
  readonly versionId?: string;
}

/** An S3 API call, decoded from HTTP. */
export type S3Request =
  | { op: 'ListBuckets' }
  | { op: 'CreateBucket'; bucket: string }
  | { op: 'DeleteBucket'; bucket: string }
  | { op: 'HeadBucket'; bucket: string }
  | { op: 'GetBucketLocation'; bucket: string }
  | { op: 'GetBucketVersioning'; bucket: string }
  | { op: 'PutBucketVersioning'; bucket: string; status: 'Enabled' | 'Suspended' }
  | { op: 'GetBucketTagging'; bucket: string }
  | { op: 'PutBucketTagging'; bucket: string; tags: Array<{ key: string; value: string }> }
  | { op: 'DeleteBucketTagging'; bucket: string }
  | { op: 'GetBucketPolicy'; bucket: string }
  | { op: 'PutBucketPolicy'; bucket: string; policy: string }
  | { op: 'DeleteBucketPolicy'; bucket: string }
  | { op: 'GetObjectLockConfiguration'; bucket: string }
  | { op: 'ListObjectVersions'; bucket: string; query: ListVersionsQuery; urlEncoded: boolean }
  | { op: 'ListObjectsV2'; bucket: string; query: ListObjectsV2Params; urlEncoded: boolean }
  | { op: 'ListObjects'; bucket: string; query: ListObjectsV1Params; urlEncoded: boolean }
  | { op: 'DeleteObjects'; bucket: string; quiet: boolean; objects: ObjectIdentifier[] }
  | { op: 'PutObject'; bucket: string; key: string; size: number; etag: string }
  | { op: 'DeleteObject'; bucket: string; key: string; versionId?: string }
  | { op: 'HeadObject'; bucket: string; key: string; versionId?: string };

export interface ListObjectsV2Params {
  readonly prefix: string;
  readonly delimiter: string;
  readonly startAfter: string;
  readonly continuationToken?: string;
  readonly maxKeys: number;
}

export interface ListObjectsV1Params {
  readonly prefix: string;
  readonly delimiter: string;
  readonly marker: string;
  readonly maxKeys: number;
}

export interface HttpInput {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.localhost(:\d+)?$/i;

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** Splits the request target into bucket, key and query, for path-style or `<bucket>.localhost` hosts. */
function target(input: HttpInput): { bucket: string; key: string; query: URLSearchParams } {
  const questionMark = input.url.indexOf('?');
  const path = questionMark < 0 ? input.url : input.url.slice(0, questionMark);
  const query = new URLSearchParams(questionMark < 0 ? '' : input.url.slice(questionMark + 1));
  const virtual = VIRTUAL_HOST.exec(String(input.headers.host ?? ''));
  if (virtual) return { bucket: virtual[1], key: decodePathPart(path.slice(1)), query };
  const slash = path.indexOf('/', 1);
  if (slash < 0) return { bucket: decodePathPart(path.slice(1)), key: '', query };
  return { bucket: decodePathPart(path.slice(1, slash)), key: decodePathPart(path.slice(slash + 1)), query };
}

function parseBodyXml(body: Buffer): XmlElement {
  try {
    return parseXml(body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw malformedXml();
    throw error;
  }
}

function maxKeysParam(query: URLSearchParams): number {
  const raw = query.get('max-keys');
  if (raw === null || raw === '') return MAX_KEYS_PER_PAGE;
  if (!/^\d+$/.test(raw)) throw invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', raw);
  return Math.min(Number(raw), MAX_KEYS_PER_PAGE);
}

function encodingTypeParam(query: URLSearchParams): boolean {
  const value = query.get('encoding-type');
  if (value === null || value === '') return false;
  if (value.toLowerCase() !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', value);
  return true;
}

function parseDelete(bucket: string, body: Buffer): S3Request {
  const root = parseBodyXml(body);
  if (root.name !== 'Delete') throw malformedXml();
  const objectElements = childElements(root, 'Object');
  if (objectElements.length === 0 || objectElements.length > MAX_KEYS_PER_DELETE) throw malformedXml();
  const objects = objectElements.map((o): ObjectIdentifier => {
    const key = childText(o, 'Key');
    if (key === undefined) throw malformedXml();
    const versionId = childText(o, 'VersionId');
    return versionId === undefined ? { key } : { key, versionId };
  });
  return { op: 'DeleteObjects', bucket, quiet: childText(root, 'Quiet')?.trim() === 'true', objects };
}

function parseVersioning(bucket: string, body: Buffer): S3Request {
  const root = parseBodyXml(body);
  const status = childText(root, 'Status');
  if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
  if (childText(root, 'MfaDelete') === 'Enabled') throw notImplemented('MFA Delete');
  return { op: 'PutBucketVersioning', bucket, status };
}

function parseTagging(bucket: string, body: Buffer): S3Request {
  const tagSet = childElements(parseBodyXml(body), 'TagSet')[0];
  if (!tagSet) throw malformedXml();
  const tags = childElements(tagSet, 'Tag').map((t) => {
    const key = childText(t, 'Key');
    if (key === undefined) throw malformedXml();
    return { key, value: childText(t, 'Value') ?? '' };
  });
  return { op: 'PutBucketTagging', bucket, tags };
}

function parsePolicy(bucket: string, body: Buffer): S3Request {
  const policy = body.toString('utf8');
  try {
    JSON.parse(policy);
  } catch {
    throw new S3Error(400, 'MalformedPolicy', 'Policies must be valid JSON and the first byte must be \'{\'');
  }
  return { op: 'PutBucketPolicy', bucket, policy };
}

function objectPayload(input: HttpInput): Buffer {
  if (!isAwsChunked(input.headers)) return input.body;
  try {
    return decodeAwsChunked(input.body);
  } catch (error) {
    if (error instanceof ChunkedBodyError) throw new S3Error(400, 'IncompleteBody', error.message);
    throw error;
  }
}

function bucketRequest(input: HttpInput, bucket: string, query: URLSearchParams): S3Request {
  const has = (name: string): boolean => query.has(name);
  switch (input.method) {
    case 'PUT':
      if (has('versioning')) return parseVersioning(bucket, input.body);
      if (has('tagging')) return parseTagging(bucket, input.body);
      if (has('policy')) return parsePolicy(bucket, input.body);
      if ([...query.keys()].some((k) => k !== 'x-id')) throw notImplemented(`PUT bucket ?${[...query.keys()].join('&')}`);
      return { op: 'CreateBucket', bucket };
    case 'DELETE':
      if (has('tagging')) return { op: 'DeleteBucketTagging', bucket };
      if (has('policy')) return { op: 'DeleteBucketPolicy', bucket };
      return { op: 'DeleteBucket', bucket };
    case 'HEAD':
      return { op: 'HeadBucket', bucket };
    case 'POST':
      if (has('delete')) return parseDelete(bucket, input.body);
      throw notImplemented('POST bucket');
    case 'GET':
      return bucketGet(bucket, query);
    default:
      throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
}

function bucketGet(bucket: string, query: URLSearchParams): S3Request {
  const text = (name: string): string => query.get(name) ?? '';
  if (query.has('versioning')) return { op: 'GetBucketVersioning', bucket };
  if (query.has('tagging')) return { op: 'GetBucketTagging', bucket };
  if (query.has('policy')) return { op: 'GetBucketPolicy', bucket };
  if (query.has('object-lock')) return { op: 'GetObjectLockConfiguration', bucket };
  if (query.has('location')) return { op: 'GetBucketLocation', bucket };
  if (query.has('versions')) {
    const listQuery: ListVersionsQuery = {
      prefix: text('prefix'),
      delimiter: text('delimiter'),
      keyMarker: text('key-marker'),
      versionIdMarker: text('version-id-marker'),
      maxKeys: maxKeysParam(query),
    };
    return { op: 'ListObjectVersions', bucket, query: listQuery, urlEncoded: encodingTypeParam(query) };
  }
  if (query.get('list-type') === '2') {
    const token = query.get('continuation-token');
    return {
      op: 'ListObjectsV2',
      bucket,
      query: {
        prefix: text('prefix'),
        delimiter: text('delimiter'),
        startAfter: text('start-after'),
        ...(token !== null ? { continuationToken: token } : {}),
        maxKeys: maxKeysParam(query),
      },
      urlEncoded: encodingTypeParam(query),
    };
  }
  const unsupported = [...query.keys()].filter((k) => !['prefix', 'delimiter', 'marker', 'max-keys', 'encoding-type', 'x-id'].includes(k));
  if (unsupported.length > 0) throw notImplemented(`GET bucket ?${unsupported.join('&')}`);
  return {
    op: 'ListObjects',
    bucket,
    query: { prefix: text('prefix'), delimiter: text('delimiter'), marker: text('marker'), maxKeys: maxKeysParam(query) },
    urlEncoded: encodingTypeParam(query),
  };
}

function objectRequest(input: HttpInput, bucket: string, key: string, query: URLSearchParams): S3Request {
  const versionId = query.get('versionId') ?? undefined;
  const subresources = [...query.keys()].filter((k) => k !== 'versionId' && k !== 'x-id');
  if (subresources.length > 0) throw notImplemented(`${input.method} object ?${subresources.join('&')}`);
  switch (input.method) {
    case 'PUT': {
      if (input.headers['x-amz-copy-source']) throw notImplemented('CopyObject');
      const payload = objectPayload(input);
      const etag = `"${createHash('md5').update(payload).digest('hex')}"`;
      return { op: 'PutObject', bucket, key, size: payload.length, etag };
    }
    case 'DELETE':
      return { op: 'DeleteObject', bucket, key, versionId };
    case 'HEAD':
      return { op: 'HeadObject', bucket, key, versionId };
    case 'GET':
      throw notImplemented('GetObject (the model stores no object data)');
    default:
      throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
}

/** Decodes an HTTP request into an S3 call; throws S3Error for requests S3 would reject. */
export function parseS3Request(input: HttpInput): S3Request {
  const { bucket, key, query } = target(input);
  if (bucket === '') {
    if (input.method === 'GET') return { op: 'ListBuckets' };
    throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  return key === '' ? bucketRequest(input, bucket, query) : objectRequest(input, bucket, key, query);
}

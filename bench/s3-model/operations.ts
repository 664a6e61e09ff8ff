import type { Bucket } from './bucket';
import { invalidArgument, S3Error } from './errors';
import { compareKeys } from './key-order';
import { listObjects } from './list-objects';
import { listVersions } from './list-versions';
import {
  deleteResultXml,
  listBucketsXml,
  listObjectsXml,
  listVersionsXml,
  locationXml,
  taggingXml,
  versioningXml,
  s3UrlEncode,
  type DeleteResultEntry,
} from './response-xml';
import type { ObjectIdentifier, S3Request } from './s3-request';
import type { ModelStore } from './store';
import { decodeVersionId, encodeVersionId, NULL_VERSION_ID } from './version-id';
import { element } from './xml';

export interface S3Response {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Drop the connection instead of answering (an injected fault). */
  readonly resetConnection?: boolean;
}

const xml = (body: string, status = 200): S3Response => ({ status, headers: { 'content-type': 'application/xml' }, body });
const empty = (status: number, headers: Record<string, string> = {}): S3Response => ({ status, headers });

const invalidVersionId = (versionId: string): S3Error => invalidArgument('Invalid version id specified', 'versionId', versionId);

/**
 * Performs one decoded S3 call against the store; throws S3Error for S3-level
 * failures. `failKey`, when given, picks DeleteObjects keys to answer
 * InternalError (injected faults).
 */
export function executeS3(store: ModelStore, request: S3Request, failKey?: () => boolean): S3Response {
  switch (request.op) {
    case 'ListBuckets':
      return xml(listBucketsXml(store.allBuckets()));
    case 'CreateBucket':
      store.createBucket(request.bucket);
      return empty(200, { location: `/${request.bucket}` });
    case 'DeleteBucket':
      store.deleteBucket(request.bucket);
      return empty(204);
    case 'HeadBucket':
      store.bucket(request.bucket);
      return empty(200, { 'x-amz-bucket-region': 'us-east-1' });
    case 'GetBucketLocation':
      store.bucket(request.bucket);
      return xml(locationXml());
    case 'GetBucketVersioning':
      return xml(versioningXml(store.bucket(request.bucket)));
    case 'PutBucketVersioning':
      store.bucket(request.bucket).versioning = request.status;
      return empty(200);
    case 'GetBucketTagging': {
      const tags = store.bucket(request.bucket).tags;
      if (!tags) throw new S3Error(404, 'NoSuchTagSet', 'The TagSet does not exist', { BucketName: request.bucket });
      return xml(taggingXml(tags));
    }
    case 'PutBucketTagging':
      store.bucket(request.bucket).tags = request.tags;
      return empty(204);
    case 'DeleteBucketTagging':
      store.bucket(request.bucket).tags = undefined;
      return empty(204);
    case 'GetBucketPolicy': {
      const policy = store.bucket(request.bucket).policy;
      if (policy === undefined) throw new S3Error(404, 'NoSuchBucketPolicy', 'The bucket policy does not exist', { BucketName: request.bucket });
      return { status: 200, headers: { 'content-type': 'application/json' }, body: policy };
    }
    case 'PutBucketPolicy':
      store.bucket(request.bucket).policy = request.policy;
      return empty(204);
    case 'DeleteBucketPolicy':
      store.bucket(request.bucket).policy = undefined;
      return empty(204);
    case 'GetObjectLockConfiguration':
      store.bucket(request.bucket);
      throw new S3Error(404, 'ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket', {
        BucketName: request.bucket,
      });
    case 'ListObjectVersions': {
      const page = listVersions(store.bucket(request.bucket), request.query);
      return xml(listVersionsXml(request.bucket, request.query, page, request.urlEncoded));
    }
    case 'ListObjectsV2':
      return listObjectsV2(store.bucket(request.bucket), request);
    case 'ListObjects':
      return listObjectsV1(store.bucket(request.bucket), request);
    case 'DeleteObjects':
      return deleteObjects(store.bucket(request.bucket), request.objects, request.quiet, failKey);
    case 'PutObject': {
      const bucket = store.bucket(request.bucket);
      const outcome = bucket.putObject(request.key, request.size, store.etags.idOf(request.etag));
      return empty(200, { etag: request.etag, ...(outcome.versionId ? { 'x-amz-version-id': outcome.versionId } : {}) });
    }
    case 'DeleteObject':
      return deleteObject(store.bucket(request.bucket), request.key, request.versionId);
    case 'HeadObject':
      return headObject(store.bucket(request.bucket), request.key, request.versionId);
  }
}

function deleteObject(bucket: Bucket, key: string, versionId: string | undefined): S3Response {
  const outcome = versionId === undefined ? bucket.deleteObject(key) : bucket.deleteVersion(key, versionId);
  if (!outcome) throw invalidVersionId(versionId ?? '');
  const headers: Record<string, string> = {};
  if (outcome.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  if (outcome.versionId !== undefined) headers['x-amz-version-id'] = outcome.versionId;
  return empty(204, headers);
}

function deleteObjects(bucket: Bucket, objects: readonly ObjectIdentifier[], quiet: boolean, failKey?: () => boolean): S3Response {
  const results = objects.map((object): DeleteResultEntry => {
    if (failKey?.()) {
      return { key: object.key, versionId: object.versionId, error: { code: 'InternalError', message: 'We encountered an internal error. Please try again.' } };
    }
    if (object.versionId === undefined) {
      const outcome = bucket.deleteObject(object.key);
      return { key: object.key, deleteMarker: outcome.deleteMarker, deleteMarkerVersionId: outcome.versionId };
    }
    // A version that does not exist, including an id this model never issued, is reported
    // as Deleted, as S3 does, so a retried batch is idempotent (MinIO fixed the same
    // difference from S3 in minio/minio#11086).
    const outcome = bucket.deleteVersion(object.key, object.versionId) ?? { deleteMarker: false };
    return {
      key: object.key,
      versionId: object.versionId,
      deleteMarker: outcome.deleteMarker,
      deleteMarkerVersionId: outcome.deleteMarker ? object.versionId : undefined,
    };
  });
  return xml(deleteResultXml(results, quiet));
}

function headObject(bucket: Bucket, key: string, versionId: string | undefined): S3Response {
  const entry = bucket.keyVersions(key);
  let slot = -1;
  if (entry && versionId === undefined) slot = entry.newestSlot();
  else if (entry && versionId === NULL_VERSION_ID) slot = entry.slotOfNullVersion();
  else if (versionId !== undefined) {
    const seq = decodeVersionId(versionId);
    if (seq === undefined) throw invalidVersionId(versionId);
    slot = entry ? entry.slotOfSeq(seq) : -1;
  }
  if (!entry || slot < 0) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
  const record = entry.record(slot);
  const versionHeader: Record<string, string> =
    bucket.versioning === 'Unversioned' ? {} : { 'x-amz-version-id': record.isNullVersion ? NULL_VERSION_ID : encodeVersionId(record.seq) };
  if (record.isDeleteMarker) {
    const [status, code] = versionId === undefined ? [404, 'NoSuchKey'] : [405, 'MethodNotAllowed'];
    throw new S3Error(status, code, 'The specified key is a delete marker.', {}, { ...versionHeader, 'x-amz-delete-marker': 'true' });
  }
  return empty(200, {
    ...versionHeader,
    etag: bucket.etags.etag(record.etagId),
    'content-length': String(record.size),
    'last-modified': new Date(record.lastModifiedMs).toUTCString(),
  });
}

function decodeContinuationToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (Buffer.from(key, 'utf8').toString('base64url') !== token) {
    throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  }
  return key;
}

function listObjectsV2(bucket: Bucket, request: Extract<S3Request, { op: 'ListObjectsV2' }>): S3Response {
  const q = request.query;
  const tokenKey = q.continuationToken !== undefined ? decodeContinuationToken(q.continuationToken) : '';
  const after = compareKeys(tokenKey, q.startAfter) > 0 ? tokenKey : q.startAfter;
  const page = listObjects(bucket, { prefix: q.prefix, delimiter: q.delimiter, after, maxKeys: q.maxKeys });
  const encode = request.urlEncoded ? s3UrlEncode : (s: string): string => s;
  const markers = element('ContinuationToken', q.continuationToken) + (q.startAfter ? element('StartAfter', encode(q.startAfter)) : '');
  const next = page.isTruncated && page.lastReturned !== undefined ? element('NextContinuationToken', Buffer.from(page.lastReturned, 'utf8').toString('base64url')) : '';
  return xml(listObjectsXml(bucket.name, { prefix: q.prefix, delimiter: q.delimiter, maxKeys: q.maxKeys, markers, next, keyCount: true }, page, request.urlEncoded));
}

function listObjectsV1(bucket: Bucket, request: Extract<S3Request, { op: 'ListObjects' }>): S3Response {
  const q = request.query;
  const page = listObjects(bucket, { prefix: q.prefix, delimiter: q.delimiter, after: q.marker, maxKeys: q.maxKeys });
  const encode = request.urlEncoded ? s3UrlEncode : (s: string): string => s;
  const next = page.isTruncated && page.lastReturned !== undefined ? element('NextMarker', encode(page.lastReturned)) : '';
  return xml(
    listObjectsXml(bucket.name, { prefix: q.prefix, delimiter: q.delimiter, maxKeys: q.maxKeys, markers: element('Marker', encode(q.marker)), next, keyCount: false }, page, request.urlEncoded),
  );
}

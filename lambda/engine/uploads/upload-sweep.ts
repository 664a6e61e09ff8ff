import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorCode, errorMessage, isNoSuchBucket } from '../s3/s3-errors';
import { faultKind } from '../s3/retry-policy';
import type { TransientFault } from '../types';

/**
 * Incomplete multipart uploads are not objects: ListObjectVersions never
 * shows them, yet their parts are stored (and billed) until aborted, and some
 * S3-compatible stores (Ceph RGW, Scality, OCI) refuse to delete a bucket
 * while one is in progress. This module finds them with ListMultipartUploads
 * and aborts the chosen ones.
 *
 * Every call goes through the run's S3 client, which already retries
 * transient faults and throttles by the one retry policy
 * (s3/retry-policy.ts): what fails here has been retried as far as the
 * policy allows, and is reported, never retried again.
 */

/** One incomplete multipart upload, as ListMultipartUploads lists it. */
export interface UploadEntry {
  readonly key: string;
  readonly uploadId: string;
  /** When the upload was started (S3's `Initiated`). */
  readonly initiated: Date;
}

/** An upload that could not be aborted. */
export interface AbortFailure {
  readonly key: string;
  readonly uploadId: string;
  readonly code: string;
  readonly message: string;
}

/** Decides which listed uploads to abort. */
export type UploadPredicate = (upload: UploadEntry) => boolean;

/** Most AbortMultipartUpload requests in flight at once: uploads are few, each abort is one request. */
const ABORTS_IN_FLIGHT = 8;

/** What one sweep needs from its run. */
export interface UploadSweepOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Only uploads of keys under this prefix are listed (`''`: the whole bucket). */
  readonly prefix: string;
  readonly select: UploadPredicate;
  /** List and choose, abort nothing. */
  readonly dryRun: boolean;
  /** True when the run must stop (deadline, abort signal): no new request starts. */
  readonly stopped: () => boolean;
  readonly onSelected: (upload: UploadEntry) => void;
  readonly onAborted: (upload: UploadEntry) => void;
  readonly onFailed: (failure: AbortFailure) => void;
}

/**
 * How a sweep ended: `done` (every page listed), `stopped` (the run stopped,
 * or `fault`: a listing kept failing with a transient fault), `missing` (the
 * bucket is gone).
 */
export type SweepEnd = { readonly kind: 'done' | 'stopped' | 'missing' } | { readonly kind: 'fault'; readonly fault: TransientFault };

/** Decodes a value from an `EncodingType=url` response (S3 encodes spaces as `+`). */
function decodeUrl(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** The uploads of one page, keys decoded. */
function uploadsOf(output: ListMultipartUploadsCommandOutput): UploadEntry[] {
  const decode = output.EncodingType === 'url' ? decodeUrl : (v: string) => v;
  return (output.Uploads ?? []).map((u) => ({
    key: decode(u.Key ?? ''),
    uploadId: u.UploadId ?? '',
    initiated: u.Initiated ?? new Date(Number.NaN),
  }));
}

/** The markers of the next page, or null after the last one. */
function nextMarkers(output: ListMultipartUploadsCommandOutput): { keyMarker: string; uploadIdMarker?: string } | null {
  if (output.IsTruncated !== true || output.NextKeyMarker === undefined) return null;
  const decode = output.EncodingType === 'url' ? decodeUrl : (v: string) => v;
  return { keyMarker: decode(output.NextKeyMarker), uploadIdMarker: output.NextUploadIdMarker };
}

/**
 * Lists the incomplete uploads under `prefix` page by page (KeyMarker and
 * UploadIdMarker), and aborts those `select` chooses (none in a dry run).
 * A page's aborts all finish before the next page is asked for, so that a
 * marker never names an upload being aborted.
 *
 * @throws the listing's error when it is final (AccessDenied, …): the run
 *   cannot know what it leaves behind. A store that answers NotImplemented
 *   has no uploads: the sweep is done.
 */
export async function sweepUploads(o: UploadSweepOptions): Promise<SweepEnd> {
  let markers: { keyMarker: string; uploadIdMarker?: string } | undefined;
  for (;;) {
    if (o.stopped()) return { kind: 'stopped' };
    let output: ListMultipartUploadsCommandOutput;
    try {
      output = await o.client.send(
        new ListMultipartUploadsCommand({
          Bucket: o.bucket,
          Prefix: o.prefix || undefined,
          EncodingType: 'url',
          KeyMarker: markers?.keyMarker,
          UploadIdMarker: markers?.uploadIdMarker,
        }),
      );
    } catch (err) {
      if (isNoSuchBucket(err)) return { kind: 'missing' };
      // A store without multipart uploads (501) has none to leave behind.
      if (errorCode(err) === 'NotImplemented') return { kind: 'done' };
      if (faultKind(err) === 'final') throw err;
      return { kind: 'fault', fault: { operation: 'ListMultipartUploads', code: errorCode(err), message: errorMessage(err) } };
    }
    const chosen = uploadsOf(output).filter((u) => o.select(u));
    for (const u of chosen) o.onSelected(u);
    if (!o.dryRun) await abortAll(o, chosen);
    // Stopped during the aborts: some chosen uploads may be left; a resumed sweep lists them again.
    if (o.stopped()) return { kind: 'stopped' };
    const next = nextMarkers(output);
    if (next === null) return { kind: 'done' };
    markers = next;
  }
}

/** Aborts `uploads`, a few at a time; each ends aborted, already gone, or failed. */
async function abortAll(o: UploadSweepOptions, uploads: readonly UploadEntry[]): Promise<void> {
  const queue = [...uploads];
  const worker = async () => {
    for (let u = queue.shift(); u; u = queue.shift()) {
      if (o.stopped()) return;
      await abortOne(o, u);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ABORTS_IN_FLIGHT, queue.length) }, worker));
}

async function abortOne(o: UploadSweepOptions, u: UploadEntry): Promise<void> {
  try {
    await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: u.key, UploadId: u.uploadId }));
    o.onAborted(u);
  } catch (err) {
    // Completed or aborted by someone else since it was listed: nothing is left behind.
    if (errorCode(err) === 'NoSuchUpload') return;
    o.onFailed({ key: u.key, uploadId: u.uploadId, code: errorCode(err), message: errorMessage(err) });
  }
}

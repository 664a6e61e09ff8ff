import { ListObjectVersionsCommand, type ListObjectVersionsCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { MAX_KEYS_PER_LIST } from '../constants';
import { compareKeys } from './key-order';
import { retriedByCaller } from '../s3/s3-retries';
import { readLeanly } from './lean-list-middleware';
import type { ScannedPage } from './list-versions-scanner';
import type { VersionEntry } from '../types';

/** Where a listing continues from (S3's KeyMarker / VersionIdMarker). */
export interface ListCursor {
  readonly keyMarker?: string;
  readonly versionIdMarker?: string;
}

/**
 * A slice of the key space: keys under `prefix`, after `after` (exclusive)
 * and up to `through` (inclusive). Consecutive ranges that share boundaries
 * never overlap and never leave a gap.
 */
export interface KeyRange {
  readonly prefix: string;
  readonly after?: string;
  readonly through?: string;
}

/** One page of a listing, in S3 order. */
export interface VersionPage {
  readonly entries: VersionEntry[];
  /** Cursor of the next page; `null` when the range is exhausted. */
  readonly next: ListCursor | null;
  /** How long the request that answered took, ms, when the lister timed it. */
  readonly ms?: number;
}

/** Decodes a value from an `EncodingType=url` response (S3 encodes spaces as `+`). */
function decodeUrl(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Orders one page's versions and delete markers as S3 lists them: keys
 * ascending, each key's current entry first, then newest first. The SDK
 * returns versions and delete markers in two arrays, losing the true order;
 * within a tie on LastModified, versions go first (moto's order).
 */
export function mergePageEntries(output: ListObjectVersionsCommandOutput): VersionEntry[] {
  const decode = output.EncodingType === 'url' ? decodeUrl : (v: string) => v;
  const versions: VersionEntry[] = (output.Versions ?? []).map((v) => ({
    key: decode(v.Key ?? ''),
    versionId: v.VersionId ?? 'null',
    isDeleteMarker: false,
    isLatest: v.IsLatest === true,
    lastModified: v.LastModified ?? new Date(0),
    size: v.Size ?? 0,
  }));
  const markers: VersionEntry[] = (output.DeleteMarkers ?? []).map((m) => ({
    key: decode(m.Key ?? ''),
    versionId: m.VersionId ?? 'null',
    isDeleteMarker: true,
    isLatest: m.IsLatest === true,
    lastModified: m.LastModified ?? new Date(0),
    size: 0,
  }));
  return mergeInListingOrder(versions, markers);
}

/** Merges two lists that are each in listing order (see {@link mergePageEntries}). */
function mergeInListingOrder(versions: VersionEntry[], markers: VersionEntry[]): VersionEntry[] {
  if (markers.length === 0) return versions;
  if (versions.length === 0) return markers;
  const merged: VersionEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < versions.length || j < markers.length) {
    if (j >= markers.length) merged.push(versions[i++]);
    else if (i >= versions.length) merged.push(markers[j++]);
    else merged.push(entryPrecedes(markers[j], versions[i]) ? markers[j++] : versions[i++]);
  }
  return merged;
}

function entryPrecedes(a: VersionEntry, b: VersionEntry): boolean {
  const byKey = compareKeys(a.key, b.key);
  if (byKey !== 0) return byKey < 0;
  if (a.isLatest !== b.isLatest) return a.isLatest;
  return a.lastModified.getTime() > b.lastModified.getTime();
}

/** One answer, read by the lean scanner or by the SDK, with keys and markers decoded. */
interface ListedPage {
  readonly entries: VersionEntry[];
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  readonly nextVersionIdMarker?: string;
}

/** Decodes a url-encoded key; most keys have nothing to decode. */
function decodeKey(value: string): string {
  return value.indexOf('%') < 0 && value.indexOf('+') < 0 ? value : decodeUrl(value);
}

/** Decodes each entry's key in place; a key's versions, one after another, share one decoded string as they shared the raw one. */
function decodeKeys(entries: readonly VersionEntry[]): void {
  let raw: string | undefined;
  let decoded = '';
  for (const entry of entries) {
    if (entry.key !== raw) {
      raw = entry.key;
      decoded = decodeKey(raw);
    }
    (entry as { key: string }).key = decoded;
  }
}

/**
 * The scanner keeps the XML's order. S3 interleaves versions and delete markers
 * newest first, but moto lists a key's versions before its markers, so the two
 * kinds are merged by the same rule as the SDK's arrays: one order whatever
 * the store, and on S3 the same as the document's.
 */
function fromScan(page: ScannedPage): ListedPage {
  if (page.encodingType === 'url') decodeKeys(page.entries);
  const next = page.nextKeyMarker;
  const markers = page.entries.filter((e) => e.isDeleteMarker);
  return {
    ...page,
    entries: markers.length === 0 ? page.entries : mergeInListingOrder(page.entries.filter((e) => !e.isDeleteMarker), markers),
    nextKeyMarker: next === undefined || page.encodingType !== 'url' ? next : decodeKey(next),
  };
}

function fromSdk(output: ListObjectVersionsCommandOutput): ListedPage {
  const next = output.NextKeyMarker;
  return {
    entries: mergePageEntries(output),
    isTruncated: output.IsTruncated === true,
    nextKeyMarker: next === undefined || output.EncodingType !== 'url' ? next : decodeUrl(next),
    nextVersionIdMarker: output.NextVersionIdMarker,
  };
}

/** Sends one ListObjectVersions, read by the lean scanner when the answer allows (lean-list-middleware.ts). */
async function fetchPage(client: S3Client, bucket: string, range: KeyRange, cursor: ListCursor, abortSignal?: AbortSignal): Promise<ListedPage> {
  const command = new ListObjectVersionsCommand({
    Bucket: bucket,
    Prefix: range.prefix || undefined,
    KeyMarker: cursor.keyMarker ?? range.after,
    VersionIdMarker: cursor.keyMarker !== undefined ? cursor.versionIdMarker : undefined,
    MaxKeys: MAX_KEYS_PER_LIST,
    EncodingType: 'url',
  });
  const lean = readLeanly(command);
  const output = await client.send(retriedByCaller(command), { abortSignal });
  return lean.page ? fromScan(lean.page) : fromSdk(output);
}

/** Lists one page of `range`, starting at `cursor`. */
export async function listVersionPage(
  client: S3Client,
  bucket: string,
  range: KeyRange,
  cursor: ListCursor,
  abortSignal?: AbortSignal,
): Promise<VersionPage> {
  const page = await fetchPage(client, bucket, range, cursor, abortSignal);
  let entries = page.entries;
  if (range.after !== undefined && cursor.keyMarker === undefined) {
    // S3 starts after KeyMarker; moto starts at it (and drops one entry), so
    // enforce the range's lower bound here rather than trust the server.
    const after = range.after;
    entries = entries.filter((e) => compareKeys(e.key, after) > 0);
  }
  const last = entries[entries.length - 1];
  // NextKeyMarker is authoritative; fall back to the last entry if a store omits it.
  const next: ListCursor | null = !page.isTruncated
    ? null
    : page.nextKeyMarker !== undefined
      ? { keyMarker: page.nextKeyMarker, versionIdMarker: page.nextVersionIdMarker }
      : { keyMarker: last?.key, versionIdMarker: last?.versionId };
  return range.through === undefined ? { entries, next } : clipThrough({ entries, next }, range.through);
}

/**
 * The part of `page` up to `through`: when some entry lies past it, the
 * entries before that one, and no next page (the range ends in this page).
 */
export function clipThrough(page: VersionPage, through: string): VersionPage {
  const { entries } = page;
  // Entries come in key order: one comparison settles most pages.
  if (entries.length === 0 || compareKeys(entries[entries.length - 1].key, through) <= 0) return page;
  const firstBeyond = entries.findIndex((e) => compareKeys(e.key, through) > 0);
  return { entries: entries.slice(0, firstBeyond), next: null };
}

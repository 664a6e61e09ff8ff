import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { compareKeys } from './key-order';
import type { KeyRange } from './version-listing';

/**
 * Splits the keys under `prefix` at the given boundaries into consecutive
 * ranges: (-inf, b1], (b1, b2], …, (bn, +inf). Every key falls in exactly
 * one range whatever the boundaries are, so boundaries only steer balance.
 */
export function rangesFromBoundaries(prefix: string, boundaries: readonly string[]): KeyRange[] {
  const sorted = [...new Set(boundaries)]
    .filter((b) => b.startsWith(prefix) && b !== prefix)
    .sort(compareKeys);
  const ranges: KeyRange[] = [];
  let after: string | undefined;
  for (const boundary of sorted) {
    ranges.push({ prefix, after, through: boundary });
    after = boundary;
  }
  ranges.push({ prefix, after });
  return ranges;
}

/** Keeps at most `max` boundaries, evenly spaced through the sorted list. */
export function thinBoundaries(boundaries: readonly string[], max: number): string[] {
  if (boundaries.length <= max) return [...boundaries];
  const kept: string[] = [];
  for (let i = 1; i <= max; i++) kept.push(boundaries[Math.floor((i * boundaries.length) / (max + 1))]);
  return [...new Set(kept)];
}

/**
 * Finds split points for parallel listing: the folder-like common prefixes
 * under `prefix` (one ListObjectsV2 page, descending while there is only one).
 * ListObjectsV2 hides keys that have only noncurrent versions or delete
 * markers, which is harmless here: boundaries affect balance, never coverage.
 */
export async function discoverBoundaries(client: S3Client, bucket: string, prefix: string, maxDepth = 3): Promise<string[]> {
  return (await descend(client, bucket, prefix, maxDepth)).found;
}

/** The folders under `prefix`, descending while there is only one; `at`: where the search ended. */
async function descend(client: S3Client, bucket: string, prefix: string, maxDepth = 3): Promise<{ found: string[]; at: string }> {
  let current = prefix;
  for (let depth = 0; depth < maxDepth; depth++) {
    const out = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: current || undefined, Delimiter: '/', MaxKeys: 1000 }),
    );
    const found = (out.CommonPrefixes ?? []).map((p) => p.Prefix).filter((p): p is string => typeof p === 'string');
    const hasLooseKeys = (out.Contents ?? []).length > 0;
    if (found.length === 1 && !hasLooseKeys) {
      current = found[0];
      continue;
    }
    return { found, at: current };
  }
  return { found: [], at: current };
}

/**
 * Characters a probe tries after a prefix: printable ASCII, in S3's order.
 * Keys made of hashes, UUIDs, dates or words start with these; a key space
 * that uses others still splits correctly, only less evenly.
 */
const PROBE_ALPHABET = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
/** Levels a probe descends while everything it finds shares one more character. */
const MAX_PROBE_DEPTH = 4;
/** Probes in flight at once. */
const PROBE_CONCURRENCY = 16;

/** The first key after `after` under `prefix`, from ListObjectsV2 (undefined when there is none). */
async function firstKeyAfter(client: S3Client, bucket: string, prefix: string, after: string | undefined): Promise<string | undefined> {
  const out = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, StartAfter: after, MaxKeys: 1 }),
  );
  return out.Contents?.[0]?.Key;
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Finds split points for a prefix whose keys have no folders to split at
 * (hashes, UUIDs, numbered files): probes `prefix + c` for each printable
 * character `c` with a one-key ListObjectsV2 (`StartAfter`), and keeps the
 * probes that end a non-empty interval, so no range is empty. When every
 * key found shares the next character, it descends one level (at most
 * {@link MAX_PROBE_DEPTH}). About 95 small requests a level.
 *
 * Like {@link discoverBoundaries}, this steers balance only: any boundaries
 * give ranges that cover every key exactly once, and ListObjectsV2 hiding
 * keys that have only noncurrent versions or delete markers only makes the
 * split less even.
 */
export async function probeBoundaries(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  let current = prefix;
  for (let depth = 0; depth < MAX_PROBE_DEPTH; depth++) {
    const probes = PROBE_ALPHABET.map((c) => current + c);
    const firstOverall = await firstKeyAfter(client, bucket, current, undefined);
    if (firstOverall === undefined) return [];
    const after = await mapLimited(probes, PROBE_CONCURRENCY, (p) => firstKeyAfter(client, bucket, current, p));
    // Interval i is (probes[i-1], probes[i]] (the first from the prefix itself); it holds a key when
    // the first key after its start is at or before its end.
    const kept: string[] = [];
    let start: string | undefined = firstOverall;
    for (let i = 0; i < probes.length; i++) {
      if (start !== undefined && compareKeys(start, probes[i]) <= 0) kept.push(probes[i]);
      start = after[i];
    }
    const lastHolds = start !== undefined;
    const intervals = kept.length + (lastHolds ? 1 : 0);
    if (intervals > 1) return kept;
    // Everything found lies in one interval. (probes[i-1], probes[i]] holds keys starting with
    // probes[i-1] (and perhaps probes[i] itself): descend into that one-character-longer prefix.
    // The first interval also holds keys with a character before '!', and the last one keys with a
    // character after '~': no single character to descend into there.
    if (kept.length === 0) {
      // All after the last probe: descend into '~' only when nothing lies past it (one more probe).
      const last = PROBE_ALPHABET[PROBE_ALPHABET.length - 1];
      const pastLast = await firstKeyAfter(client, bucket, current, current + String.fromCharCode(last.charCodeAt(0) + 1));
      if (!firstOverall.startsWith(current + last) || pastLast !== undefined) return kept;
      current = current + last;
      continue;
    }
    const only = lastHolds ? -1 : PROBE_ALPHABET.indexOf(kept[0].slice(current.length));
    if (only <= 0) return kept;
    current = current + PROBE_ALPHABET[only - 1];
  }
  return [];
}

/**
 * Split points for a workflow's key ranges under `prefix`: its folders
 * ({@link discoverBoundaries}, descending while there is only one), or, when
 * it has fewer than two, probed points of the key space under the deepest
 * single folder ({@link probeBoundaries}), so that a bucket of flat keys
 * (hashes, ids, numbered files) is still worked on by many workers.
 */
export async function splitPoints(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const { found, at } = await descend(client, bucket, prefix);
  if (found.length >= 2) return found;
  return [...new Set([...found, ...(await probeBoundaries(client, bucket, at))])].sort(compareKeys);
}

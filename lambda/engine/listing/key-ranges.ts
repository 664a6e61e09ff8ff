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
    return found;
  }
  return [];
}

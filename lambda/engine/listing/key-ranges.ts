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
 * Characters whose successors start a probe: digits, letters and the usual
 * separators, which is where most generated keys (hashes, ids, dates) begin.
 */
const PROBE_CHARACTERS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.';
/** Probes in flight at once. */
const PROBES_IN_FLIGHT = 8;

/**
 * Split points for a key space without folders (a flat bucket, or a prefix
 * with no sub-folders), where {@link discoverBoundaries} finds none: for each
 * character c of {@link PROBE_CHARACTERS}, the first key after `prefix + c`
 * (one ListObjectsV2 with StartAfter and MaxKeys 1 each, 66 in all). Keys
 * spread over their first character (hex hashes, ids) give as many ranges as
 * characters they use. The split points are real keys; any set of split
 * points covers every key exactly once (see {@link rangesFromBoundaries}),
 * so sampling only steers balance.
 */
export async function sampleBoundaries(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const probes = [...PROBE_CHARACTERS].map((c) => `${prefix}${c}`);
  const found = new Set<string>();
  const queue = [...probes];
  await Promise.all(
    Array.from({ length: PROBES_IN_FLIGHT }, async () => {
      for (let startAfter = queue.shift(); startAfter !== undefined; startAfter = queue.shift()) {
        const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, StartAfter: startAfter, MaxKeys: 1 }));
        const key = out.Contents?.[0]?.Key;
        if (key !== undefined) found.add(key);
      }
    }),
  );
  return [...found].sort(compareKeys);
}

/** Sampled split points are used only when they give at least this many ranges: fewer balance nothing. */
const MIN_SAMPLED_RANGES = 4;

/**
 * Split points for parallel work under `prefix`: its folders when it has
 * some, else keys sampled across the key space under the deepest single
 * folder ({@link sampleBoundaries}), when they make at least 4 ranges.
 */
export async function splitPoints(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const { found, at } = await descend(client, bucket, prefix);
  if (found.length > 0) return found;
  const sampled = await sampleBoundaries(client, bucket, at);
  return sampled.length + 1 >= MIN_SAMPLED_RANGES ? sampled : [];
}

import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { compareKeys } from './key-order';

/**
 * Split points for a stream that lists a flat key space (no folders) more
 * slowly than its partition deletes: one stream reads 1,000 entries per list
 * round trip, 3,333 a second at 300 ms, under S3's 3,500 deletions a second.
 *
 * The stream's own first pages say what its keys look like. Keys past the
 * last one listed differ from it at some position before the first position
 * where the page's keys differ among themselves: numbered files after
 * `obj-000099` go on as `obj-0001…`, `obj-001…`, `obj-01…`. So the candidates
 * are the last key cut before that position and each of the few above it, with
 * each character the pages' keys use there that sorts after the last key's
 * own. One ListObjectVersions of one entry per candidate says which of the
 * intervals between candidates hold entries; the split keeps the candidates
 * that end one.
 *
 * Like the folder boundaries (key-ranges.ts), split points steer balance
 * only: ranges made from any boundaries cover every key exactly once.
 */

/**
 * Positions that get candidates: the first one where the pages' keys vary,
 * and the three before it, so a split reaches about the alphabet's size cubed
 * times as far as the pages listed (a thousand times for numbered keys).
 */
export const SPLIT_LEVELS = 4;
/** Most candidates probed, the deepest positions first. */
export const MAX_SPLIT_PROBES = 64;
/** Probes in flight at once: a whole level of digits or hex characters in one round trip. */
const PROBE_CONCURRENCY = 32;

/** Printable ASCII: one UTF-16 code unit and one UTF-8 byte each, so code-unit order is S3's byte order. */
const isProbeChar = (code: number) => code >= 0x21 && code <= 0x7e;

/**
 * The candidates after `last` (the last key listed) under `prefix`, up to
 * `through` when the range has an end: see the module comment. `keys`: the
 * keys of the pages listed so far, in order (the first and last differ where
 * the stream's keys start to vary). Empty when the pages tell nothing (one key,
 * or keys that vary only in characters outside printable ASCII).
 */
export function splitCandidates(keys: readonly string[], last: string, prefix: string, through?: string): string[] {
  if (keys.length < 2) return [];
  const first = keys[0];
  let varies = 0;
  while (varies < first.length && varies < last.length && first[varies] === last[varies]) varies++;
  const alphabet = new Set<string>();
  for (const key of keys) {
    for (let i = varies; i < key.length; i++) if (isProbeChar(key.charCodeAt(i))) alphabet.add(key[i]);
  }
  if (alphabet.size < 2) return [];
  const chars = [...alphabet].sort();
  const candidates: string[] = [];
  const lowest = Math.max(prefix.length, varies - SPLIT_LEVELS + 1);
  for (let at = varies; at >= lowest; at--) {
    // Only a printable character may be replaced: the stem before it is then whole characters.
    if (!isProbeChar(last.charCodeAt(at))) continue;
    const level = chars.filter((c) => c > last[at]).map((c) => last.slice(0, at) + c);
    if (candidates.length + level.length > MAX_SPLIT_PROBES) break;
    candidates.push(...level);
  }
  return candidates.filter((c) => through === undefined || compareKeys(c, through) < 0).sort(compareKeys);
}

/**
 * The candidates to split at, from what the probes found: `firstAfter[i]` is
 * the first key listed after `candidates[i]` (sorted), undefined when there is
 * none; `through`: the end of the range being split. The first candidate is
 * always kept: it ends the running stream's range. Each other one is kept when
 * the interval it ends holds a key, and the last kept one only when something
 * lies after it within the range, so no new range is empty.
 */
export function keptSplitPoints(candidates: readonly string[], firstAfter: readonly (string | undefined)[], through?: string): string[] {
  if (candidates.length === 0) return [];
  // A key past the range's end belongs to the next range: for this one, there is nothing after.
  const within = (key: string | undefined) => (key !== undefined && through !== undefined && compareKeys(key, through) > 0 ? undefined : key);
  const kept = [candidates[0]];
  const next = new Map<string, string | undefined>([[candidates[0], within(firstAfter[0])]]);
  for (let i = 1; i < candidates.length; i++) {
    const found = firstAfter[i - 1];
    if (found !== undefined && compareKeys(found, candidates[i]) <= 0) {
      kept.push(candidates[i]);
      next.set(candidates[i], within(firstAfter[i]));
    }
  }
  // The last kept point's range runs to the end: drop points after which nothing is left.
  while (kept.length > 0 && next.get(kept[kept.length - 1]) === undefined) kept.pop();
  return kept;
}

/** The key of the first entry after `after` under `prefix` (any version or delete marker), or undefined. */
async function firstKeyAfter(client: S3Client, bucket: string, prefix: string, after: string, signal?: AbortSignal): Promise<string | undefined> {
  const out = await client.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix || undefined, KeyMarker: after, MaxKeys: 1 }),
    { abortSignal: signal },
  );
  const keys = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].map((v) => v.Key).filter((k): k is string => k !== undefined);
  // A store that starts at the marker (moto) may answer the marker key itself: only a key after it counts.
  return keys.filter((k) => compareKeys(k, after) > 0).sort(compareKeys)[0];
}

/**
 * Probes the candidates (ListObjectVersions, so keys with only noncurrent
 * versions or delete markers count, as they do in a teardown) and returns the
 * split points ({@link keptSplitPoints}). Throws what a probe throws.
 */
export async function probeSplitPoints(
  client: S3Client,
  bucket: string,
  prefix: string,
  candidates: readonly string[],
  options: { readonly through?: string; readonly signal: AbortSignal },
): Promise<string[]> {
  // One failed probe ends the split: the others are aborted rather than left to finish for nothing.
  const probes = new AbortController();
  setMaxListeners(0, probes.signal);
  const follow = () => probes.abort();
  if (options.signal.aborted) follow();
  options.signal.addEventListener('abort', follow, { once: true });
  const found = new Array<string | undefined>(candidates.length);
  let next = 0;
  const worker = async () => {
    while (next < candidates.length && !probes.signal.aborted) {
      const i = next++;
      found[i] = await firstKeyAfter(client, bucket, prefix, candidates[i], probes.signal);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, candidates.length) }, worker));
  } finally {
    options.signal.removeEventListener('abort', follow);
    probes.abort();
  }
  return keptSplitPoints(candidates, found, options.through);
}

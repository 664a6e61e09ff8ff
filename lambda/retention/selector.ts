import { createKeyFilter, type KeyPredicate } from '../engine/key-filter';
import { validateRetentionPolicy, type RetentionPolicy } from '../engine/retention-policy';
import type { EntrySelector, SelectorFactory, VersionEntry } from '../engine/types';

/**
 * What the selector remembers about the key in progress. Constant size
 * whatever the number of versions of the key.
 */
interface KeyProgress {
  readonly key: string;
  /** False when the key is outside `prefixes` or matched by `exclude`. */
  readonly inScope: boolean;
  /**
   * LastModified (epoch ms) of the previous entry of this key: the moment the
   * next entry became noncurrent. NaN when unknown.
   */
  previousLastModifiedMs: number;
  /** Noncurrent versions (delete markers not counted) seen so far: the rank of the last one. */
  noncurrentVersionsSeen: number;
  /** The key's current delete marker, held until the key ends; only under `expiredDeleteMarkers`. */
  heldCurrentDeleteMarker: VersionEntry | null;
  /** False as soon as one entry of the key other than the held marker is kept. */
  everyOtherEntryDeleted: boolean;
}

/** JSON form of a held current delete marker. */
interface HeldDeleteMarkerSnapshot {
  readonly versionId: string;
  /** `null` stands for an invalid date (JSON turns NaN into null). */
  readonly lastModifiedMs: number | null;
  readonly size: number;
}

/** JSON form of {@link KeyProgress}. */
interface KeyProgressSnapshot {
  readonly key: string;
  /** `null` stands for unknown (NaN). */
  readonly previousLastModifiedMs: number | null;
  readonly noncurrentVersionsSeen: number;
  readonly heldCurrentDeleteMarker: HeldDeleteMarkerSnapshot | null;
  readonly everyOtherEntryDeleted: boolean;
}

/** What {@link retentionSelector}'s `snapshot()` returns. */
export interface RetentionSelectorSnapshot {
  readonly v: 1;
  /** `null` between keys (before the first entry, after `end()`). */
  readonly key: KeyProgressSnapshot | null;
}

function toSnapshot(progress: KeyProgress | null): RetentionSelectorSnapshot {
  if (progress === null) {
    return { v: 1, key: null };
  }
  const held = progress.heldCurrentDeleteMarker;
  return {
    v: 1,
    key: {
      key: progress.key,
      previousLastModifiedMs: Number.isNaN(progress.previousLastModifiedMs) ? null : progress.previousLastModifiedMs,
      noncurrentVersionsSeen: progress.noncurrentVersionsSeen,
      heldCurrentDeleteMarker:
        held === null
          ? null
          : {
              versionId: held.versionId,
              lastModifiedMs: Number.isNaN(held.lastModified.getTime()) ? null : held.lastModified.getTime(),
              size: held.size,
            },
      everyOtherEntryDeleted: progress.everyOtherEntryDeleted,
    },
  };
}

function invalidSnapshot(reason: string): never {
  throw new Error(`Invalid retention selector snapshot: ${reason}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isFinite(value));
}

function restoreHeldDeleteMarker(key: string, held: unknown): VersionEntry | null {
  if (held === null) {
    return null;
  }
  if (
    !isObject(held) ||
    typeof held.versionId !== 'string' ||
    !isNumberOrNull(held.lastModifiedMs) ||
    typeof held.size !== 'number'
  ) {
    return invalidSnapshot('malformed held delete marker.');
  }
  return {
    key,
    versionId: held.versionId,
    isDeleteMarker: true,
    isLatest: true,
    lastModified: new Date(held.lastModifiedMs ?? Number.NaN),
    size: held.size,
  };
}

function restoreProgress(restore: unknown, isInScope: KeyPredicate): KeyProgress | null {
  if (restore === undefined) {
    return null;
  }
  if (!isObject(restore) || restore.v !== 1) {
    return invalidSnapshot('expected an object with v: 1.');
  }
  const saved = restore.key;
  if (saved === null) {
    return null;
  }
  if (
    !isObject(saved) ||
    typeof saved.key !== 'string' ||
    !isNumberOrNull(saved.previousLastModifiedMs) ||
    !Number.isSafeInteger(saved.noncurrentVersionsSeen) ||
    (saved.noncurrentVersionsSeen as number) < 0 ||
    typeof saved.everyOtherEntryDeleted !== 'boolean'
  ) {
    return invalidSnapshot('malformed key progress.');
  }
  return {
    key: saved.key,
    inScope: isInScope(saved.key),
    previousLastModifiedMs: saved.previousLastModifiedMs ?? Number.NaN,
    noncurrentVersionsSeen: saved.noncurrentVersionsSeen as number,
    heldCurrentDeleteMarker: restoreHeldDeleteMarker(saved.key, saved.heldCurrentDeleteMarker),
    everyOtherEntryDeleted: saved.everyOtherEntryDeleted,
  };
}

/** The age and count rules, evaluated for one noncurrent entry. */
interface NoncurrentRules {
  versionExpires(noncurrentSinceMs: number, rank: number): boolean;
  deleteMarkerExpires(noncurrentSinceMs: number): boolean;
}

function noncurrentRules(policy: RetentionPolicy, asOfMs: number): NoncurrentRules {
  const { noncurrentVersionsOlderThanMs: olderThanMs, keepNoncurrentVersions: keep } = policy;
  const hasVersionRule = olderThanMs !== undefined || keep !== undefined || policy.expiredDeleteMarkers === true;
  // An unknown noncurrentSince (NaN) makes the comparison false: never old enough.
  const isOldEnough = (noncurrentSinceMs: number): boolean =>
    olderThanMs === undefined || asOfMs - noncurrentSinceMs >= olderThanMs;
  return {
    versionExpires(noncurrentSinceMs, rank) {
      if (olderThanMs === undefined && keep === undefined) {
        return false;
      }
      return isOldEnough(noncurrentSinceMs) && (keep === undefined || rank > keep);
    },
    // Noncurrent delete markers carry no data. Without an age rule they go
    // whenever a version rule is active, including when expiredDeleteMarkers
    // is the only one. A policy whose only rule is about uploads deletes no entry.
    deleteMarkerExpires: (noncurrentSinceMs) => hasVersionRule && isOldEnough(noncurrentSinceMs),
  };
}

/**
 * Decides one entry of the key in progress, and updates what the key's
 * progress records about it (a held current delete marker, whether every
 * other entry is selected).
 */
function selects(
  current: KeyProgress,
  entry: VersionEntry,
  isFirstOfKey: boolean,
  rules: NoncurrentRules,
  holdsCurrentDeleteMarkers: boolean,
): boolean {
  if (!current.inScope) {
    return false;
  }
  if (entry.isLatest) {
    if (isFirstOfKey && entry.isDeleteMarker && holdsCurrentDeleteMarkers) {
      current.heldCurrentDeleteMarker = entry;
    } else {
      current.everyOtherEntryDeleted = false;
    }
    return false;
  }
  const noncurrentSinceMs = current.previousLastModifiedMs;
  const selected = entry.isDeleteMarker
    ? rules.deleteMarkerExpires(noncurrentSinceMs)
    : rules.versionExpires(noncurrentSinceMs, ++current.noncurrentVersionsSeen);
  if (!selected) {
    current.everyOtherEntryDeleted = false;
  }
  return selected;
}

/**
 * A streaming {@link SelectorFactory} applying `policy` as of `asOf`.
 *
 * Entries must arrive in S3 order: keys ascending, each key's entries newest
 * first. State is constant per key, so a key with millions of versions costs
 * no more memory than a key with one. A current delete marker under
 * `expiredDeleteMarkers` is held back and returned when its key ends (the
 * next key's first entry, or `end()`), and only if every other entry of the
 * key was returned.
 *
 * Defensive behaviour for listings that do not start a key with its current
 * entry (the first entry seen is not `IsLatest`):
 * - An entry marked `IsLatest` is never returned, wherever it appears (only
 *   the first entry of a key can be the held current delete marker).
 * - The first entry's noncurrentSince is unknown, so it is never old enough
 *   for the age rule; later entries use the previous entry seen, as usual.
 * - Ranks count from the first version seen, which can only keep more than
 *   the true ranks would.
 *
 * @throws Error when the policy is invalid or `asOf` is not a valid date; the
 *   factory throws for a malformed snapshot.
 */
export function retentionSelector(policy: RetentionPolicy, asOf: Date): SelectorFactory {
  validateRetentionPolicy(policy);
  const asOfMs = asOf instanceof Date ? asOf.getTime() : Number.NaN;
  if (Number.isNaN(asOfMs)) {
    throw new Error(`Invalid asOf date: ${String(asOf)}.`);
  }
  const isInScope = createKeyFilter({ prefixes: policy.prefixes, exclude: policy.exclude });
  const rules = noncurrentRules(policy, asOfMs);
  const holdsCurrentDeleteMarkers = policy.expiredDeleteMarkers === true;

  return (restore?: unknown): EntrySelector => {
    let progress = restoreProgress(restore, isInScope);

    const finishKey = (): VersionEntry[] => {
      const held = progress?.heldCurrentDeleteMarker ?? null;
      const expired = held !== null && progress !== null && progress.everyOtherEntryDeleted;
      progress = null;
      return expired ? [held] : [];
    };

    return {
      next(entry) {
        const isFirstOfKey = progress === null || progress.key !== entry.key;
        const decided = isFirstOfKey ? finishKey() : [];
        const current: KeyProgress = progress ?? {
          key: entry.key,
          inScope: isInScope(entry.key),
          previousLastModifiedMs: Number.NaN,
          noncurrentVersionsSeen: 0,
          heldCurrentDeleteMarker: null,
          everyOtherEntryDeleted: true,
        };
        progress = current;
        if (selects(current, entry, isFirstOfKey, rules, holdsCurrentDeleteMarkers)) {
          decided.push(entry);
        }
        current.previousLastModifiedMs = entry.lastModified.getTime();
        return decided;
      },
      end: finishKey,
      snapshot: () => toSnapshot(progress),
    };
  };
}

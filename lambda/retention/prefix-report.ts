import type { VersionEntry } from '../engine/types';

/** Counts and bytes of selected entries under one top-level prefix. */
export interface PrefixTotals {
  versions: number;
  deleteMarkers: number;
  bytes: number;
}

/** The top-level "folder" of a key (`logs/` for `logs/2024/a`), or `""` for keys without one. */
export function topLevelPrefix(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash + 1);
}

/**
 * Tallies selected entries by top-level prefix and keeps a small sample of
 * them, for dry-run previews and retention reports.
 */
export class PrefixReport {
  readonly byPrefix: Record<string, PrefixTotals> = {};
  readonly sample: Array<{ key: string; versionId: string; isDeleteMarker: boolean; lastModified: string; size: number }> = [];

  constructor(private readonly sampleSize = 20) {}

  add(entry: VersionEntry): void {
    const prefix = topLevelPrefix(entry.key);
    const totals = (this.byPrefix[prefix] ??= { versions: 0, deleteMarkers: 0, bytes: 0 });
    if (entry.isDeleteMarker) totals.deleteMarkers++;
    else {
      totals.versions++;
      totals.bytes += entry.size;
    }
    if (this.sample.length < this.sampleSize) {
      this.sample.push({
        key: entry.key,
        versionId: entry.versionId,
        isDeleteMarker: entry.isDeleteMarker,
        lastModified: entry.lastModified.toISOString(),
        size: entry.size,
      });
    }
  }
}

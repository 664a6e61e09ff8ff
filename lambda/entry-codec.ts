import type { VersionEntry } from './types';

/** A {@link VersionEntry} as it travels in a JSON resume token. */
export interface EncodedEntry {
  readonly k: string;
  readonly v: string;
  readonly d: 0 | 1;
  readonly l: 0 | 1;
  readonly t: number;
  readonly s: number;
}

export function encodeEntry(e: VersionEntry): EncodedEntry {
  return { k: e.key, v: e.versionId, d: e.isDeleteMarker ? 1 : 0, l: e.isLatest ? 1 : 0, t: e.lastModified.getTime(), s: e.size };
}

export function decodeEntry(e: EncodedEntry): VersionEntry {
  return { key: e.k, versionId: e.v, isDeleteMarker: e.d === 1, isLatest: e.l === 1, lastModified: new Date(e.t), size: e.s };
}

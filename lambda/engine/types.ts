/** One object version or delete marker, as listed by ListObjectVersions. */
export interface VersionEntry {
  readonly key: string;
  /** `"null"` for objects written before versioning or while it was suspended. */
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  /** True for the current entry of the key (S3's `IsLatest`). */
  readonly isLatest: boolean;
  readonly lastModified: Date;
  /** Bytes; 0 for delete markers. */
  readonly size: number;
}

/**
 * Decides which listed entries to delete. The engine feeds every entry of a
 * listing in S3 order (keys ascending, each key's entries newest first) and
 * deletes whatever the selector returns. A selector may hold entries back
 * until it has seen the rest of their key; it must return them at the latest
 * when the next key's first entry arrives, or from `end`.
 *
 * Selectors are stateful per listing stream. `snapshot()` returns a
 * JSON-serialisable state that a later run restores through the factory, so
 * that a run resumed mid-key decides exactly as an uninterrupted one would.
 */
export interface EntrySelector {
  /** Feeds the next entry; returns the entries now decided for deletion. */
  next(entry: VersionEntry): VersionEntry[];
  /** Listing ended; returns every entry still held. */
  end(): VersionEntry[];
  /** JSON-serialisable state for the resume token. */
  snapshot(): unknown;
}

/** Creates a selector for one listing stream, optionally restoring a snapshot. */
export type SelectorFactory = (restore?: unknown) => EntrySelector;

/** One entry that could not be deleted. */
export interface DeleteFailure {
  readonly key: string;
  readonly versionId: string;
  readonly code: string;
  readonly message: string;
}

/**
 * A transient fault (500, reset, timeout, …) that a run gave up on after
 * retrying it as the retry policy allows. The run stopped there cleanly:
 * what it did not get to is in its resume token.
 */
export interface TransientFault {
  /** The S3 operation that kept failing, e.g. `DeleteObjects`. */
  readonly operation: string;
  readonly code: string;
  readonly message: string;
}

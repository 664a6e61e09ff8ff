import type { KeyRange, ListCursor } from './version-listing';

/** How a request ended, kept so that its error reaches whoever takes it, not Node's unhandled-rejection hook. */
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * The first page of each scope's whole listing, asked for while discovery
 * decides whether the scope is split into key ranges.
 *
 * Most buckets have no folders to split at, and their one stream would list
 * that same page right after discovery: asked for at once, it saves a list
 * round trip before the first deletion (a small bucket's teardown is a
 * handful of round trips). Where discovery does split the scope, the page is
 * dropped: one list request spent.
 *
 * The request is the stream's own first listing, made earlier: it goes
 * through the same retries, and the stream that takes it gets its outcome,
 * error included. It is taken once, and only by a listing of the whole
 * scope from its start.
 */
export class FirstPages<T> {
  private readonly pages = new Map<string, Promise<Settled<T>>>();

  constructor(private readonly list: (range: KeyRange) => Promise<T>) {}

  /** Asks for the first page of `prefix`'s whole listing. */
  start(prefix: string): void {
    this.pages.set(
      prefix,
      this.list({ prefix }).then(
        (value) => ({ ok: true, value }),
        (error: unknown) => ({ ok: false, error }),
      ),
    );
  }

  /** Forgets the page of a scope that was split, so that no stream takes it. */
  drop(prefix: string): void {
    this.pages.delete(prefix);
  }

  /**
   * The early page for a listing of `range` at `cursor`, once; undefined
   * unless that listing is a whole scope's first page and was asked for.
   */
  take(range: KeyRange, cursor: ListCursor): Promise<T> | undefined {
    if (range.after !== undefined || range.through !== undefined) return undefined;
    if (cursor.keyMarker !== undefined || cursor.versionIdMarker !== undefined) return undefined;
    const page = this.pages.get(range.prefix);
    if (!page) return undefined;
    this.pages.delete(range.prefix);
    return page.then((s) => {
      if (s.ok) return s.value;
      throw s.error;
    });
  }
}

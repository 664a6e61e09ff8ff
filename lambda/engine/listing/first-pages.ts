import type { KeyRange, ListCursor } from './version-listing';

/** How a request ended, kept so that its error reaches whoever takes it, not Node's unhandled-rejection hook. */
type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

interface Early<T> {
  readonly outcome: Promise<Settled<T>>;
  readonly abort: AbortController;
}

/**
 * The first page of a scope's whole listing, asked for while discovery
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
 * scope from its start. A page dropped, or not taken when the run ends, has
 * its request aborted: nothing of it outlives the run or stops it.
 */
export class FirstPages<T> {
  private readonly pages = new Map<string, Early<T>>();

  /** `stop`: the run's stop, which aborts every early request too. */
  constructor(
    private readonly list: (range: KeyRange, signal: AbortSignal) => Promise<T>,
    private readonly stop?: AbortSignal,
  ) {}

  /** Asks for the first page of `prefix`'s whole listing. */
  start(prefix: string): void {
    const abort = new AbortController();
    const follow = () => abort.abort();
    if (this.stop?.aborted) follow();
    this.stop?.addEventListener('abort', follow, { once: true });
    abort.signal.addEventListener('abort', () => this.stop?.removeEventListener('abort', follow), { once: true });
    const outcome = this.list({ prefix }, abort.signal).then(
      (value): Settled<T> => ({ ok: true, value }),
      (error: unknown): Settled<T> => ({ ok: false, error }),
    );
    this.pages.set(prefix, { outcome, abort });
  }

  /** Forgets the page of a scope that was split, so that no stream takes it, and aborts its request. */
  drop(prefix: string): void {
    this.pages.get(prefix)?.abort.abort();
    this.pages.delete(prefix);
  }

  /** Aborts the requests of every page not taken: the pass or the run is over. */
  close(): void {
    for (const prefix of [...this.pages.keys()]) this.drop(prefix);
  }

  /**
   * The early page for a listing of `range` at `cursor`, once; undefined
   * unless that listing is a whole scope's first page and was asked for.
   */
  take(range: KeyRange, cursor: ListCursor): Promise<T> | undefined {
    if (range.after !== undefined || range.through !== undefined) return undefined;
    if (cursor.keyMarker !== undefined || cursor.versionIdMarker !== undefined) return undefined;
    const early = this.pages.get(range.prefix);
    if (!early) return undefined;
    this.pages.delete(range.prefix);
    return early.outcome.then((s) => {
      if (s.ok) return s.value;
      throw s.error;
    });
  }
}

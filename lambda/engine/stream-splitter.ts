import type { S3Client } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { compareKeys } from './listing/key-order';
import { thinBoundaries } from './listing/key-ranges';
import { probeSplitPoints, splitCandidates } from './listing/split-points';
import type { VersionPage } from './listing/version-listing';
import type { Checkpoint } from './stream-ledger';
import { partitionOf, type StreamPlan, type StreamRun } from './stream-runner';

/**
 * When a running stream is split: 'auto' when it lists fewer entries a second
 * than {@link LIST_BOUND_FACTOR} times its partition's rate; 'always' (tests,
 * to split whatever the timing); 'never'.
 */
export type SplitListing = 'auto' | 'always' | 'never';

/**
 * 'auto' splits a stream whose listing could supply less than this many times
 * the rate its partition deletes at now. Above it, the one stream keeps up
 * even after slow start doubles the rate once; below it, it would hold the
 * deletions back (one stream reads 3,333 entries a second at 300 ms a page).
 */
export const LIST_BOUND_FACTOR = 2;
/** Pages of a stream whose time may trigger its split: a second look, in case the first answer was quick by chance. */
const PAGES_CONSIDERED = 2;

const FRESH: Checkpoint = { cursor: null, selector: undefined, taintedKey: null };

/** What the splitter needs from the pass. */
export interface SplitterHost {
  readonly client: S3Client;
  readonly bucket: string;
  readonly when: SplitListing;
  /** The run's stop: probes still out are aborted with it. */
  readonly signal: AbortSignal;
  /** How many more streams could run at once now. */
  freeStreams(): number;
  /** Starts streams for the ranges split off. */
  add(plans: readonly StreamPlan[]): void;
  /** True while `stream` is listing (started, not stopped, not at its end). */
  isListing(stream: StreamRun): boolean;
  /** The deletion rate of the stream's partition now, keys/s. */
  rateOf(stream: StreamRun): number;
}

/**
 * Splits a stream that lists a flat key space more slowly than its partition
 * deletes into several streams, while it runs: it keeps listing, split points
 * are probed past it (listing/split-points.ts), then its range is narrowed to
 * end at the first one, and the ranges after it become new streams of the pass.
 *
 * Safe by construction: the narrowed range ends past every key the stream has
 * received (a page on its way is clipped to the new end: stream-runner.ts),
 * the new ranges start where it ends and cover the rest of the old range, and
 * all of them share the stream's rate controller (one S3 partition). Each is an
 * ordinary range of the pass: its resume token, its ledger, its retries. A probe
 * that fails only means no split.
 */
export class StreamSplitter {
  private readonly pagesSeen = new Map<StreamRun, number>();
  private readonly keys = new Map<StreamRun, string[]>();
  /** Aborts the probes: the run stopped, or the pass is over. */
  private readonly stop = new AbortController();
  private readonly follow = () => this.stop.abort();

  constructor(private readonly host: SplitterHost) {
    // Every split's probes listen to it: no leak warning on stderr.
    setMaxListeners(0, this.stop.signal);
    if (host.signal.aborted) this.follow();
    host.signal.addEventListener('abort', this.follow, { once: true });
  }

  /** Lets `stream` be split: a fresh stream of the pass's plan. */
  watch(stream: StreamRun): void {
    if (this.host.when !== 'never' && stream.plan.start.cursor === null) this.pagesSeen.set(stream, 0);
  }

  /** A page of a watched stream that does not end it, `ms` after it was asked for. */
  onPage(stream: StreamRun, page: VersionPage, ms: number): void {
    const seen = this.pagesSeen.get(stream);
    if (seen === undefined) return;
    const keys = this.keys.get(stream) ?? [];
    for (const entry of page.entries) if (keys[keys.length - 1] !== entry.key) keys.push(entry.key);
    this.keys.set(stream, keys);
    const listsPerSecond = (page.entries.length * 1000) / Math.max(1, ms);
    const due = this.host.when === 'always' || listsPerSecond < LIST_BOUND_FACTOR * this.host.rateOf(stream);
    if (!due && seen + 1 < PAGES_CONSIDERED) {
      this.pagesSeen.set(stream, seen + 1);
      return;
    }
    this.forget(stream);
    if (due) void this.split(stream, keys);
  }

  /** The pass is over: probes still out are aborted, and their answers ignored. */
  close(): void {
    this.host.signal.removeEventListener('abort', this.follow);
    this.stop.abort();
    this.pagesSeen.clear();
    this.keys.clear();
  }

  private forget(stream: StreamRun): void {
    this.pagesSeen.delete(stream);
    this.keys.delete(stream);
  }

  private async split(stream: StreamRun, keys: readonly string[]): Promise<void> {
    const { range } = stream.plan;
    const last = stream.frontier;
    if (last === undefined || this.host.freeStreams() === 0) return;
    const candidates = splitCandidates(keys, last, range.prefix, range.through);
    if (candidates.length === 0) return;
    let points: string[];
    try {
      points = await probeSplitPoints(this.host.client, this.host.bucket, range.prefix, candidates, { through: range.through, signal: this.stop.signal });
    } catch {
      // Splitting only speeds the listing up; the stream lists its whole range without it.
      return;
    }
    if (this.stop.signal.aborted || !this.host.isListing(stream)) return;
    this.narrow(stream, points);
  }

  /** Ends the stream's range at the first point past what it has received, and adds the ranges after it. */
  private narrow(stream: StreamRun, found: readonly string[]): void {
    const frontier = stream.frontier;
    const past = found.filter((p) => frontier === undefined || compareKeys(p, frontier) > 0);
    const free = this.host.freeStreams();
    if (past.length === 0 || free === 0) return;
    // One new stream per point; with fewer free, evenly spaced points, so every range is listed from now on.
    const points = [past[0], ...thinBoundaries(past.slice(1), free - 1)];
    const { plan } = stream;
    const partition = partitionOf(plan);
    const through = plan.range.through;
    stream.plan = { ...plan, range: { ...plan.range, through: points[0] }, partition };
    this.host.add(
      points.map((after, i): StreamPlan => {
        const end = i + 1 < points.length ? points[i + 1] : through;
        return { scope: plan.scope, range: { prefix: plan.range.prefix, after, ...(end !== undefined && { through: end }) }, start: FRESH, partition };
      }),
    );
  }
}

import type { S3Client } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { compareKeys } from './listing/key-order';
import { thinBoundaries } from './listing/key-ranges';
import { probeSplitPoints, splitCandidates } from './listing/split-points';
import type { VersionPage } from './listing/version-listing';
import type { RateController } from './deleting/rate-controller';
import type { Checkpoint } from './stream-ledger';
import { partitionOf, type StreamPlan, type StreamRun } from './stream-runner';

/**
 * When a running stream is split: 'auto' when it lists fewer entries a second
 * than {@link LIST_BOUND_FACTOR} times its partition's rate; 'always' (tests,
 * to split whatever the timing); 'never'.
 */
export type SplitListing = 'auto' | 'always' | 'never';

/**
 * 'auto' splits a stream whose listing supplies less than this many times the
 * rate its partition deletes at: one stream reads 3,333 entries a second at
 * 300 ms a page, under S3's 3,500 deletes, and 8,333 at 120 ms, which keeps
 * up. Chosen on the S3 model's sweep (bench/README.md, eighth session): at 2,
 * 120 ms pages split too, for nothing.
 */
export const LIST_BOUND_FACTOR = 1.5;
/**
 * 'auto' decides at the first page after the partition's first 503 (its rate
 * then estimated), or at the stream's third page if none came: before that the
 * rate is S3's documented 3,500 a second, a guess. Splits made on that guess
 * in a partition of 500 a second cost 1–6 % of its rate in the sweep.
 */
const DECIDE_BY_PAGE = 3;

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
  /** The rate controller of the stream's partition. */
  rateOf(stream: StreamRun): Pick<RateController, 'currentRate' | 'throttles'>;
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
  /** Watched streams: the pages seen so far, their entries, and the time they took. */
  private readonly seen = new Map<StreamRun, { pages: number; entries: number; ms: number; keys: string[] }>();
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
    if (this.host.when !== 'never' && stream.plan.start.cursor === null) this.seen.set(stream, { pages: 0, entries: 0, ms: 0, keys: [] });
  }

  /** A page of a watched stream that does not end it, `ms` after it was asked for. */
  onPage(stream: StreamRun, page: VersionPage, ms: number): void {
    const seen = this.seen.get(stream);
    if (seen === undefined) return;
    seen.pages++;
    seen.entries += page.entries.length;
    seen.ms += ms;
    for (const entry of page.entries) if (seen.keys[seen.keys.length - 1] !== entry.key) seen.keys.push(entry.key);
    const rate = this.host.rateOf(stream);
    if (this.host.when === 'auto' && rate.throttles === 0 && seen.pages < DECIDE_BY_PAGE) return;
    this.seen.delete(stream);
    const listsPerSecond = (seen.entries * 1000) / Math.max(1, seen.ms);
    if (this.host.when === 'always' || listsPerSecond < LIST_BOUND_FACTOR * rate.currentRate) void this.split(stream, seen.keys);
  }

  /** The pass is over: probes still out are aborted, and their answers ignored. */
  close(): void {
    this.host.signal.removeEventListener('abort', this.follow);
    this.stop.abort();
    this.seen.clear();
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

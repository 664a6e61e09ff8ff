import type { S3Client } from '@aws-sdk/client-s3';
import { setMaxListeners } from 'node:events';
import { compareKeys } from './listing/key-order';
import { thinBoundaries } from './listing/key-ranges';
import { probeSplitPoints, splitCandidates } from './listing/split-points';
import type { VersionPage } from './listing/version-listing';
import { DOCUMENTED_RATE, type RateController } from './deleting/rate-controller';
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
 * 'auto' judges a stream from its third page on, or earlier after the
 * partition's first 503, and again at each page until it splits (S3 scales a
 * busy partition up). Until a 503 has estimated the partition's rate, the rate
 * to compare with is S3's documented 3,500 a second: slow start's rate is a
 * probe, and splits made on it in a partition of 500 a second cost 1–6 % of
 * its rate in the sweep.
 */
const DECIDE_BY_PAGE = 3;
/**
 * A partition that has taken the controller's rate this long without a 503
 * is faster than documented (or a store that never throttles): from then on
 * the controller's rate is the one to compare with.
 */
const UNTHROTTLED_MS = 3_000;

const FRESH: Checkpoint = { cursor: null, selector: undefined, taintedKey: null };

/** What the splitter knows of a watched stream. */
interface Watched {
  /** When its first page came (ms since the epoch). */
  since: number;
  /** Pages seen, and their entries and listing time. */
  pages: number;
  entries: number;
  ms: number;
  /** The keys of its first pages, for the split points (listing/split-points.ts). */
  keys: string[];
}

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
  private readonly seen = new Map<StreamRun, Watched>();
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
    if (this.host.when !== 'never' && stream.plan.start.cursor === null) this.seen.set(stream, { since: 0, pages: 0, entries: 0, ms: 0, keys: [] });
  }

  /** A page of a watched stream that does not end it, `ms` after it was asked for. */
  onPage(stream: StreamRun, page: VersionPage, ms: number): void {
    const seen = this.seen.get(stream);
    if (seen === undefined) return;
    if (seen.pages++ === 0) seen.since = Date.now();
    seen.entries += page.entries.length;
    seen.ms += ms;
    // The first pages' keys show how the stream's keys vary (listing/split-points.ts); later ones add little.
    if (seen.pages <= DECIDE_BY_PAGE) for (const entry of page.entries) if (seen.keys[seen.keys.length - 1] !== entry.key) seen.keys.push(entry.key);
    if (this.host.when === 'auto') {
      const rate = this.rateToCompare(seen, this.host.rateOf(stream));
      const listsPerSecond = (seen.entries * 1000) / Math.max(1, seen.ms);
      if (rate === undefined || listsPerSecond >= LIST_BOUND_FACTOR * rate) return;
    }
    this.seen.delete(stream);
    void this.split(stream, seen.keys);
  }

  /** The partition rate a stream's listing is judged against now; undefined: too early to judge. */
  private rateToCompare(seen: Watched, rate: Pick<RateController, 'currentRate' | 'throttles'>): number | undefined {
    if (rate.throttles > 0 || Date.now() - seen.since >= UNTHROTTLED_MS) return rate.currentRate;
    return seen.pages >= DECIDE_BY_PAGE ? DOCUMENTED_RATE : undefined;
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

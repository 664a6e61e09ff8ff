/**
 * When the stream splitter (engine/stream-splitter.ts) decides to split: in
 * 'auto', only a stream that lists more slowly than 1.5 times its partition's
 * rate, judged from the first page after the partition's first 503 or from the
 * stream's third page on, against S3's documented rate until a 503 (or 3 s
 * without one) says what the partition takes. Whether it splits shows as probes sent (the fake
 * client answers every probe with nothing, so no range changes here); what a
 * split does to a listing is in split-listing.integ.test.ts.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { VersionPage } from '../../lambda/engine/listing/version-listing';
import { type SplitListing, StreamSplitter } from '../../lambda/engine/stream-splitter';
import type { StreamRun } from '../../lambda/engine/stream-runner';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A page of 1,000 numbered keys, the `n`-th of the stream. */
function page(n: number): VersionPage {
  const entries = Array.from({ length: 1000 }, (_, i) => {
    const key = `obj-${String(n * 1000 + i).padStart(7, '0')}`;
    return { key, versionId: 'v', isDeleteMarker: false, isLatest: true, lastModified: new Date(0), size: 1 };
  });
  return { entries, next: { keyMarker: entries[999].key, versionIdMarker: 'v' } };
}

function splitter(when: SplitListing, partition: { currentRate: number; throttles: number }) {
  let probes = 0;
  const client = { send: async () => (probes++, {}) } as unknown as S3Client;
  const stop = new AbortController();
  const s = new StreamSplitter({
    client,
    bucket: 'b',
    when,
    signal: stop.signal,
    freeStreams: () => 15,
    add: () => undefined,
    isListing: () => true,
    rateOf: () => partition,
  });
  const stream: StreamRun = { plan: { scope: 0, range: { prefix: '' }, start: { cursor: null, selector: undefined, taintedKey: null } }, listedToEnd: false };
  s.watch(stream);
  /** Feeds the stream's `n`-th page, listed in `ms`; returns the probes sent so far. */
  const pageListed = async (n: number, ms: number) => {
    const p = page(n);
    stream.frontier = p.entries[999].key;
    s.onPage(stream, p, ms);
    await tick();
    return probes;
  };
  return { pageListed, close: () => s.close() };
}

describe('StreamSplitter: when it splits', () => {
  it("'auto': a stream listing 3,333 entries a second under a partition at S3's documented 3,500 is split at its third page, not before", async () => {
    const { pageListed, close } = splitter('auto', { currentRate: 3500, throttles: 0 });
    expect(await pageListed(0, 300)).toBe(0);
    expect(await pageListed(1, 300)).toBe(0);
    expect(await pageListed(2, 300)).toBeGreaterThan(0);
    close();
  });

  it("'auto': once a 503 has measured the partition at 500 a second, the same stream keeps up and is not split", async () => {
    const partition = { currentRate: 3500, throttles: 0 };
    const { pageListed, close } = splitter('auto', partition);
    expect(await pageListed(0, 300)).toBe(0);
    partition.currentRate = 500;
    partition.throttles = 1;
    expect(await pageListed(1, 300)).toBe(0);
    expect(await pageListed(2, 300)).toBe(0);
    close();
  });

  it("'auto': a stream listing 8,333 entries a second (120 ms pages) at 3,500 a second is not split", async () => {
    const { pageListed, close } = splitter('auto', { currentRate: 3500, throttles: 0 });
    for (let n = 0; n < 4; n++) expect(await pageListed(n, 120)).toBe(0);
    close();
  });

  it("'auto': against S3's documented rate until a 503 or 3 s without one, then against the controller's rate (a store that never throttles)", async () => {
    // GIVEN a partition whose controller has reached 10,000 keys/s without a 503, and 120 ms pages (8,333 entries/s)
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      const { pageListed, close } = splitter('auto', { currentRate: 10_000, throttles: 0 });
      // THEN within its first 3 s the stream is judged against 3,500 a second, and keeps up
      for (let n = 0; n < 4; n++) expect(await pageListed(n, 120)).toBe(0);
      // AND once 3 s have passed without a 503, against 10,000 a second: it is split
      now.mockReturnValue(1_003_000);
      expect(await pageListed(4, 120)).toBeGreaterThan(0);
      close();
    } finally {
      now.mockRestore();
    }
  });

  it("'always' splits at the first page, whatever the timing; 'never' never does", async () => {
    const always = splitter('always', { currentRate: 500, throttles: 1 });
    expect(await always.pageListed(0, 1)).toBeGreaterThan(0);
    always.close();
    const never = splitter('never', { currentRate: 3500, throttles: 0 });
    for (let n = 0; n < 4; n++) expect(await never.pageListed(n, 1000)).toBe(0);
    never.close();
  });
});

/**
 * Split points of a running stream (listing/split-points.ts): the candidates
 * lie past what the stream has listed, the points kept end only non-empty
 * ranges, and numbered or hashed keys split into many ranges of bounded size.
 *
 * Pure arithmetic over sorted key sets, checked on thousands of random sets;
 * the probing itself, against a real listing, is in
 * test/engine/split-listing.integ.test.ts.
 */
import fc from 'fast-check';
import { compareKeys } from '../../../lambda/engine/listing/key-order';
import { rangesFromBoundaries } from '../../../lambda/engine/listing/key-ranges';
import { keptSplitPoints, MAX_SPLIT_PROBES, splitCandidates } from '../../../lambda/engine/listing/split-points';
import type { KeyRange } from '../../../lambda/engine/listing/version-listing';

const inRange = (key: string, r: KeyRange): boolean =>
  key.startsWith(r.prefix) && (r.after === undefined || compareKeys(key, r.after) > 0) && (r.through === undefined || compareKeys(key, r.through) <= 0);

/** The first key of `sorted` after `after`, as a one-entry listing answers. */
const firstAfter = (sorted: readonly string[], after: string) => sorted.find((k) => compareKeys(k, after) > 0);

/** The split of `keys` after the first `listed` of them, as the splitter makes it: the running stream's range, then the new ones. */
function splitAfter(keys: readonly string[], listed: number, prefix: string): { candidates: string[]; ranges: KeyRange[]; rest: string[] } {
  const sorted = [...new Set(keys)].sort(compareKeys);
  const seen = sorted.slice(0, listed);
  const candidates = splitCandidates(seen, seen[seen.length - 1], prefix);
  const points = keptSplitPoints(candidates, candidates.map((c) => firstAfter(sorted, c)));
  return { candidates, ranges: rangesFromBoundaries(prefix, points), rest: sorted.slice(listed) };
}

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(printable, fc.constantFrom(' ', '\u0001', '\u00e9', '\u{1f600}', '/'));
const word = (char: fc.Arbitrary<string>, min: number, max: number) => fc.array(char, { minLength: min, maxLength: max }).map((cs) => cs.join(''));

describe('splitCandidates and keptSplitPoints', () => {
  it('split past what was listed, into ranges that each hold a key, covering every key once', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'p00/'), fc.array(word(anyChar, 0, 7), { minLength: 2, maxLength: 120 }), fc.nat(), (prefix, suffixes, cut) => {
        // GIVEN flat keys under a prefix, of which a stream has listed the first few
        const keys = [...new Set(suffixes.map((s) => prefix + s))].sort(compareKeys);
        fc.pre(keys.length >= 2);
        const listed = 2 + (cut % (keys.length - 1));
        // WHEN the rest is split
        const { candidates, ranges, rest } = splitAfter(keys, listed, prefix);
        // THEN the candidates lie past the last key listed, under the prefix, at most MAX_SPLIT_PROBES of them
        const last = keys[listed - 1];
        expect(candidates.length).toBeLessThanOrEqual(MAX_SPLIT_PROBES);
        for (const c of candidates) {
          expect(compareKeys(c, last)).toBeGreaterThan(0);
          expect(c.startsWith(prefix)).toBe(true);
        }
        // AND the running stream keeps what it listed, every key is in exactly one range, and every new range holds a key
        for (const key of keys.slice(0, listed)) expect(inRange(key, ranges[0])).toBe(true);
        for (const key of keys) expect(ranges.filter((r) => inRange(key, r))).toHaveLength(1);
        for (const r of ranges.slice(1)) expect(rest.some((k) => inRange(k, r))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('splits numbered keys listed ten versions a page into many ranges, none with more than a tenth of the rest', () => {
    // GIVEN 11,000 numbered keys (the sweep's 5,500/s cell: 110,000 versions), of which the first page held 100
    const keys = Array.from({ length: 11_000 }, (_, i) => `p00/obj-${String(i).padStart(6, '0')}`);
    // WHEN the rest is split
    const { ranges, rest } = splitAfter(keys, 100, '');
    // THEN into at least 15 new ranges, the largest holding at most 1,000 keys
    const sizes = ranges.slice(1).map((r) => rest.filter((k) => inRange(k, r)).length);
    expect(sizes.length).toBeGreaterThanOrEqual(15);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_000);
  });

  it('splits hashed keys into ranges of a sixteenth of the rest at most', () => {
    // GIVEN 20,000 keys named by hex hashes, of which the first page held 1,000
    const rng = fc.sample(fc.integer({ min: 0, max: 0xffffffff }), { numRuns: 20_000, seed: 7 });
    const keys = [...new Set(rng.map((n) => `h/${n.toString(16).padStart(8, '0')}`))].sort(compareKeys);
    // WHEN the rest is split
    const { ranges, rest } = splitAfter(keys, 1_000, 'h/');
    // THEN no new range holds more than about a sixteenth of the rest
    const sizes = ranges.slice(1).map((r) => rest.filter((k) => inRange(k, r)).length);
    expect(sizes.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(rest.length / 12);
  });

  it('proposes nothing when the pages show one key, or keys that vary only outside printable ASCII', () => {
    expect(splitCandidates(['a/hot'], 'a/hot', 'a/')).toEqual([]);
    expect(splitCandidates(['a/\u00e9', 'a/\u00ea'], 'a/\u00ea', 'a/')).toEqual([]);
  });

  it('keeps no point when nothing lies past the candidates', () => {
    expect(keptSplitPoints(['k1', 'k2'], [undefined, undefined])).toEqual([]);
    expect(keptSplitPoints([], [])).toEqual([]);
  });
});

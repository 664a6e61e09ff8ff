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

/**
 * The split of `keys` after the first `listed` of them, as the splitter makes it: the running stream's range,
 * then the new ones, the last ending at `through` when the range being split has an end.
 */
function splitAfter(keys: readonly string[], listed: number, prefix: string, through?: string): { candidates: string[]; ranges: KeyRange[]; rest: string[] } {
  const sorted = [...new Set(keys)].sort(compareKeys);
  const seen = sorted.slice(0, listed);
  const candidates = splitCandidates(seen, seen[seen.length - 1], prefix, through);
  // The probes list past the range's end, as ListObjectVersions does.
  const points = keptSplitPoints(candidates, candidates.map((c) => firstAfter(sorted, c)), through);
  const ranges = rangesFromBoundaries(prefix, points).map((r, i, all) => (i === all.length - 1 && through !== undefined ? { ...r, through } : r));
  const inside = sorted.filter((k) => through === undefined || compareKeys(k, through) <= 0);
  return { candidates, ranges, rest: inside.slice(listed) };
}

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const anyChar = fc.oneof(printable, fc.constantFrom(' ', '\u0001', '\u00e9', '\u{1f600}', '/'));
const word = (char: fc.Arbitrary<string>, min: number, max: number) => fc.array(char, { minLength: min, maxLength: max }).map((cs) => cs.join(''));

describe('splitCandidates and keptSplitPoints', () => {
  it('split past what was listed, into ranges that each hold a key, covering every key once', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'p00/'), fc.array(word(anyChar, 0, 7), { minLength: 2, maxLength: 120 }), fc.nat(), fc.option(fc.nat()), (prefix, suffixes, cut, end) => {
        // GIVEN flat keys under a prefix, in a range that may end at one of them, of which a stream has listed the first few
        const all = [...new Set(suffixes.map((s) => prefix + s))].sort(compareKeys);
        const through = end === null ? undefined : all[end % all.length];
        const keys = through === undefined ? all : all.filter((k) => compareKeys(k, through) <= 0);
        fc.pre(keys.length >= 2);
        const listed = 2 + (cut % (keys.length - 1));
        // WHEN the rest of the range is split (the probes see the keys past its end too)
        const { candidates, ranges, rest } = splitAfter(all, listed, prefix, through);
        // THEN the candidates lie past the last key listed, under the prefix, at most MAX_SPLIT_PROBES of them
        const last = keys[listed - 1];
        expect(candidates.length).toBeLessThanOrEqual(MAX_SPLIT_PROBES);
        for (const c of candidates) {
          expect(compareKeys(c, last)).toBeGreaterThan(0);
          expect(c.startsWith(prefix)).toBe(true);
          if (through !== undefined) expect(compareKeys(c, through)).toBeLessThan(0);
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

  it('splits off no empty range when the only keys past a point lie beyond the range being split', () => {
    // GIVEN keys k00–k09 and k30–k39, a range that ends at k2z (a folder-like boundary), and k00–k09 listed
    const keys = [...Array.from({ length: 10 }, (_, i) => `k0${i}`), ...Array.from({ length: 10 }, (_, i) => `k3${i}`)];
    // WHEN the rest of the range is split (the probe after k1 finds k30, past the range's end)
    const { ranges } = splitAfter(keys, 10, '', 'k2z');
    // THEN nothing is split off: the range holds nothing after k09
    expect(ranges).toHaveLength(1);
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

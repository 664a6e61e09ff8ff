/**
 * Key-space splitting for parallel listing: ranges from boundaries must cover
 * every key exactly once, whatever the boundaries; and keys compare in S3's
 * UTF-8 byte order, not JavaScript's UTF-16 order.
 */
import fc from 'fast-check';
import { compareKeys } from '../../../lambda/engine/listing/key-order';
import { rangesFromBoundaries, thinBoundaries } from '../../../lambda/engine/listing/key-ranges';
import type { KeyRange } from '../../../lambda/engine/listing/version-listing';

/** Characters that stress the order: ASCII, '/', BMP edge cases, astral (beyond U+FFFF), a control character. */
const charArb = fc.oneof(
  fc.constantFrom('a', 'b', 'z', '/', '-', '.', ' ', '0', '\u0001', '\u00e9', '\u07ff', '\u0800', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'),
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc
    .integer({ min: 0x80, max: 0x10ffff })
    .filter((c) => c < 0xd800 || c > 0xdfff)
    .map((c) => String.fromCodePoint(c)),
);
/** Well-formed strings (no lone surrogates: S3 keys are UTF-8), short, often empty. */
const strArb = fc.array(charArb, { maxLength: 5 }).map((cs) => cs.join(''));
const prefixArb = fc.oneof(fc.constant(''), fc.constantFrom('a/', 'logs/2024/', '\u{1f600}/', 'a'), strArb);

const inRange = (key: string, r: KeyRange): boolean =>
  (r.after === undefined || compareKeys(key, r.after) > 0) && (r.through === undefined || compareKeys(key, r.through) <= 0);

/** Code-point order: what UTF-8 byte order amounts to, computed independently of Buffer. */
function byCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

describe('rangesFromBoundaries', () => {
  /** A prefix, keys under it (one may equal the prefix), and boundaries: some keys, some near keys, some outside the prefix. */
  const caseArb = fc
    .tuple(prefixArb, fc.array(strArb, { maxLength: 30 }))
    .chain(([prefix, suffixes]) => {
      const keys = [...new Set(suffixes.map((s) => prefix + s))];
      const boundaryArb = fc.oneof(
        fc.constantFrom(prefix, ...keys), // equal to a key (or to the prefix itself)
        strArb.map((s) => prefix + s), // under the prefix, usually not a key
        fc.constantFrom(...keys, prefix).chain((k) => charArb.map((c) => k + c)), // just after a key
        strArb, // anywhere, often outside the prefix
      );
      return fc.record({ prefix: fc.constant(prefix), keys: fc.constant(keys), boundaries: fc.array(boundaryArb, { maxLength: 20 }) });
    });

  it('assigns every key under the prefix to exactly one range, whatever the boundaries', () => {
    fc.assert(
      fc.property(caseArb, ({ prefix, keys, boundaries }) => {
        // GIVEN a prefix, keys under it and arbitrary boundaries
        // WHEN the key space is split
        const ranges = rangesFromBoundaries(prefix, boundaries);
        // THEN each key is in exactly one range (no overlap, no gap)
        for (const key of keys) {
          const holders = ranges.filter((r) => inRange(key, r));
          expect(holders).toHaveLength(1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('chains the ranges: open at both ends, each starting where the previous one ended, all under the prefix', () => {
    fc.assert(
      fc.property(caseArb, ({ prefix, boundaries }) => {
        // GIVEN any boundaries
        // WHEN the key space is split
        const ranges = rangesFromBoundaries(prefix, boundaries);
        // THEN the first range has no lower bound, the last no upper bound, and consecutive ranges share their boundary
        expect(ranges[0].after).toBeUndefined();
        expect(ranges[ranges.length - 1].through).toBeUndefined();
        for (let i = 1; i < ranges.length; i++) expect(ranges[i].after).toBe(ranges[i - 1].through);
        // AND the split points strictly increase (no empty or backwards range)
        const splits = ranges.slice(0, -1).map((r) => r.through!);
        for (let i = 1; i < splits.length; i++) expect(compareKeys(splits[i - 1], splits[i])).toBeLessThan(0);
        // AND every range lists the same prefix
        for (const r of ranges) expect(r.prefix).toBe(prefix);
      }),
      { numRuns: 300 },
    );
  });

  it('drops boundaries outside the prefix, equal to it, or repeated', () => {
    // GIVEN boundaries outside "p/", equal to it, and a repeated one
    const boundaries = ['a', 'p', 'p/', 'q/x', 'p/m', 'p/m', 'p/c'];

    // WHEN "p/" is split
    const ranges = rangesFromBoundaries('p/', boundaries);

    // THEN only p/c and p/m split it, in order
    expect(ranges).toEqual([
      { prefix: 'p/', after: undefined, through: 'p/c' },
      { prefix: 'p/', after: 'p/c', through: 'p/m' },
      { prefix: 'p/', after: 'p/m' },
    ]);
  });

  it('sorts boundaries in UTF-8 order, so a key beyond U+FFFF lands after U+FFFF', () => {
    // GIVEN boundaries given in UTF-16 order
    const ranges = rangesFromBoundaries('', ['\u{10000}', '\uffff']);

    // THEN the split points are in UTF-8 order
    expect(ranges.map((r) => r.through)).toEqual(['\uffff', '\u{10000}', undefined]);
    // AND a key between them in UTF-8 order falls in the middle range
    expect(rangesFromBoundaries('', ['\u{10000}', '\uffff']).filter((r) => inRange('\uffff\u0001', r))).toEqual([ranges[1]]);
  });
});

describe('thinBoundaries', () => {
  const sortedUnique = fc.uniqueArray(strArb, { maxLength: 200 }).map((xs) => xs.sort(compareKeys));

  it('keeps at most max boundaries, as a subsequence of the sorted input, exactly max when there are more', () => {
    fc.assert(
      fc.property(sortedUnique, fc.integer({ min: 1, max: 70 }), (boundaries, max) => {
        // GIVEN sorted distinct boundaries and a maximum
        // WHEN they are thinned
        const kept = thinBoundaries(boundaries, max);
        // THEN at most max are kept (all of them when they fit, otherwise exactly max)
        expect(kept).toHaveLength(Math.min(max, boundaries.length));
        // AND they keep the input's order (a subsequence)
        let at = -1;
        for (const b of kept) {
          const next = boundaries.indexOf(b, at + 1);
          expect(next).toBeGreaterThan(at);
          at = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('returns a copy of the input when it is within the maximum', () => {
    // GIVEN three boundaries and a maximum of three
    const input = ['a/', 'b/', 'c/'];

    // WHEN they are thinned
    const kept = thinBoundaries(input, 3);

    // THEN all are kept, in a new array
    expect(kept).toEqual(input);
    expect(kept).not.toBe(input);
  });

  it('spreads the kept boundaries through the list rather than keeping its start', () => {
    // GIVEN 100 boundaries thinned to 3
    const input = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}/`);

    // WHEN they are thinned
    const kept = thinBoundaries(input, 3);

    // THEN they sit near the quarters
    expect(kept).toEqual(['k025/', 'k050/', 'k075/']);
  });
});

describe('compareKeys', () => {
  it('orders U+FFFF before U+10000, as UTF-8 bytes do (UTF-16 code units say the opposite)', () => {
    // GIVEN the last BMP character and the first astral one
    // WHEN compared
    // THEN UTF-8 order wins over JavaScript's default
    expect(compareKeys('\uffff', '\u{10000}')).toBeLessThan(0);
    expect(compareKeys('\u{10000}', '\uffff')).toBeGreaterThan(0);
    expect('\u{10000}' < '\uffff').toBe(true); // the order compareKeys must not use
    expect(compareKeys('\ufb01', '\u{1f600}')).toBeLessThan(0);
  });

  it('orders a prefix before its extensions and equal strings as 0', () => {
    // GIVEN keys related by prefix, case or equality
    // WHEN compared
    // THEN shorter prefixes come first, upper case before lower case, equal keys give 0
    expect(compareKeys('a', 'a/')).toBeLessThan(0);
    expect(compareKeys('', 'a')).toBeLessThan(0);
    expect(compareKeys('a/b', 'a/b')).toBe(0);
    expect(compareKeys('A', 'a')).toBeLessThan(0);
  });

  it('agrees in sign with code-point order on any well-formed strings', () => {
    fc.assert(
      fc.property(strArb, strArb, (a, b) => {
        // GIVEN two keys
        // WHEN compared
        // THEN the sign is that of code-point order (which UTF-8 byte order preserves), and 0 only for equal keys
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(byCodePoints(a, b)));
        expect(compareKeys(a, b) === 0).toBe(a === b);
      }),
      { numRuns: 1000 },
    );
  });
});

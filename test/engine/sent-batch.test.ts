import fc from 'fast-check';
import { SentBatch } from '../../lambda/engine/sent-batch';
import type { Decision } from '../../lambda/engine/stream-ledger';
import type { VersionEntry } from '../../lambda/engine/types';

const entry = (i: number): VersionEntry => ({ key: `k${i % 3}`, versionId: `v${i}`, isDeleteMarker: false, isLatest: false, lastModified: new Date(0), size: i });
const decisionsOf = (n: number): Decision[] => Array.from({ length: n }, (_, i) => ({ entry: entry(i), fedSeq: i + 1, outcome: null }));

describe('SentBatch', () => {
  it('finds each entry\'s own decision, whatever order the deleter reports them in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }))),
        ([n, order]) => {
          // GIVEN a batch of n decisions (entries of equal keys included)
          const decisions = decisionsOf(n);
          const batch = new SentBatch(decisions);
          // WHEN its entries are reported in a random order
          const found = order.map((i) => batch.decisionOf(batch.entries[i]));
          // THEN each report finds the decision of that very entry
          expect(found).toEqual(order.map((i) => decisions[i]));
          expect(found.every((d, k) => d === decisions[order[k]])).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sends the decisions\' entries, in order', () => {
    // GIVEN three decisions WHEN batched THEN the deleter gets their entries as they are
    const decisions = decisionsOf(3);
    expect(new SentBatch(decisions).entries).toEqual(decisions.map((d) => d.entry));
    expect(new SentBatch(decisions).entries.every((e, i) => e === decisions[i].entry)).toBe(true);
  });

  it('knows no decision for an entry of another batch, even an equal one', () => {
    // GIVEN a batch WHEN asked about an equal-looking entry that was not sent in it THEN there is none
    const batch = new SentBatch(decisionsOf(2));
    expect(batch.decisionOf(entry(0))).toBeUndefined();
    expect(batch.decisionOf(batch.entries[0])).toBeDefined();
  });
});

import fc from 'fast-check';
import { SentBatch } from '../../lambda/engine/sent-batch';
import type { DecisionRef } from '../../lambda/engine/stream-ledger';
import type { VersionEntry } from '../../lambda/engine/types';

const entry = (i: number): VersionEntry => ({ key: `k${i % 3}`, versionId: `v${i}`, isDeleteMarker: false, isLatest: false, lastModified: new Date(0), size: i });
const entriesOf = (n: number): VersionEntry[] => Array.from({ length: n }, (_, i) => entry(i));
/** Decisions as the ledger gives them: objects, and sequence numbers for entries of a run (odd positions here). */
const decisionsFor = (entries: readonly VersionEntry[]): DecisionRef[] =>
  entries.map((e, i) => (i % 2 === 1 ? i + 1 : { entry: e, fedSeq: i + 1, outcome: null }));

describe('SentBatch', () => {
  it('finds each entry\'s own decision, whatever order the deleter reports them in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }))),
        ([n, order]) => {
          // GIVEN a batch of n entries (equal keys included) and their decisions
          const entries = entriesOf(n);
          const decisions = decisionsFor(entries);
          const batch = new SentBatch(entries, decisions);
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

  it('sends the entries as they are, in order', () => {
    // GIVEN three entries WHEN batched THEN the deleter gets those very objects
    const entries = entriesOf(3);
    const batch = new SentBatch(entries, decisionsFor(entries));
    expect(batch.entries.every((e, i) => e === entries[i])).toBe(true);
    expect(batch.entries).toHaveLength(3);
  });

  it('knows no decision for an entry of another batch, even an equal one', () => {
    // GIVEN a batch WHEN asked about an equal-looking entry that was not sent in it THEN there is none
    const entries = entriesOf(2);
    const batch = new SentBatch(entries, decisionsFor(entries));
    expect(batch.decisionOf(entry(0))).toBeUndefined();
    expect(batch.decisionOf(batch.entries[1])).toBe(2);
    expect(batch.decisionOf(batch.entries[0])).toBeDefined();
  });
});

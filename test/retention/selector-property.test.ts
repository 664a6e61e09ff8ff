import fc from 'fast-check';
import picomatch from 'picomatch';
import type { RetentionPolicy } from '../../lambda/engine/retention-policy';
import { retentionSelector } from '../../lambda/retention/selector';
import type { EntrySelector, SelectorFactory, VersionEntry } from '../../lambda/engine/types';

/*
 * Property tests: the streaming selector against a reference model that sees
 * each key's whole history at once, fed through random page boundaries,
 * snapshot/restore points and crashed-and-replayed pages.
 */

const BASE_MS = Date.parse('2024-06-01T00:00:00Z');
const SECOND_MS = 1_000;
const KEY_POOL = ['.hidden', 'a', 'a/1', 'a/x.tmp', 'b', 'b/c', 'b/c.tmp', 'logs/1', 'logs/2.tmp', 'z'] as const;
const PREFIX_POOL = ['a', 'b/', 'logs/'] as const;
const EXCLUDE_POOL = ['*.tmp', '**/*.tmp', 'b/c', '.hidden', '!logs/**', 'a/[0-9]'] as const;

// ---------------------------------------------------------------------------
// Reference model: one key's whole history (newest first) at a time, written
// straight from the rules. Returns, per entry, whether retention deletes it.
// ---------------------------------------------------------------------------

function referenceIsInScope(key: string, policy: RetentionPolicy): boolean {
  if (policy.prefixes !== undefined && !policy.prefixes.some((prefix) => key.startsWith(prefix))) {
    return false;
  }
  const isExcluded = (policy.exclude ?? []).some((item) =>
    /[*?[\]{}!]/.test(item) ? picomatch.isMatch(key, item, { dot: true, windows: false }) : key.startsWith(item),
  );
  return !isExcluded;
}

function referenceDecisions(history: readonly VersionEntry[], policy: RetentionPolicy, asOfMs: number): boolean[] {
  if (!referenceIsInScope(history[0].key, policy)) {
    return history.map(() => false);
  }
  const olderThanMs = policy.noncurrentVersionsOlderThanMs;
  const keep = policy.keepNoncurrentVersions;

  // An entry became noncurrent when the entry listed just before it was written.
  // The first entry of the history has no known successor.
  const isOldEnough = (index: number): boolean =>
    index > 0 && olderThanMs !== undefined && asOfMs - history[index - 1].lastModified.getTime() >= olderThanMs;

  const noncurrentVersionIndexes = history
    .map((_, index) => index)
    .filter((index) => !history[index].isLatest && !history[index].isDeleteMarker);
  const keptByCount = new Set(keep === undefined ? [] : noncurrentVersionIndexes.slice(0, keep));

  const decisions = history.map((entry, index) => {
    if (entry.isLatest) {
      return false;
    }
    if (entry.isDeleteMarker) {
      return olderThanMs === undefined ? true : isOldEnough(index);
    }
    if (olderThanMs === undefined && keep === undefined) {
      return false;
    }
    const ageAllows = olderThanMs === undefined || isOldEnough(index);
    return ageAllows && !keptByCount.has(index);
  });

  const current = history[0];
  const nothingElseLeft = decisions.slice(1).every((deleted) => deleted);
  if (policy.expiredDeleteMarkers === true && current.isLatest && current.isDeleteMarker && nothingElseLeft) {
    decisions[0] = true;
  }
  return decisions;
}

function referenceSelection(histories: readonly VersionEntry[][], policy: RetentionPolicy, asOf: Date): VersionEntry[] {
  return histories.flatMap((history) => {
    const decisions = referenceDecisions(history, policy, asOf.getTime());
    return history.filter((_, index) => decisions[index]);
  });
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/** How a key's listing starts: normally with its current entry, or oddly. */
type HistoryShape = 'normal' | 'headless' | 'strayLatest';

const entrySpecArb = fc.record({
  isDeleteMarker: fc.oneof(
    { arbitrary: fc.constant(false), weight: 2 },
    { arbitrary: fc.constant(true), weight: 1 },
  ),
  // Small steps back in time, 0 included, so ties are frequent.
  stepBackSeconds: fc.integer({ min: 0, max: 4 }),
});

function keyHistoryArb(key: string, minLength: number, maxLength: number): fc.Arbitrary<VersionEntry[]> {
  return fc
    .record({
      specs: fc.array(entrySpecArb, { minLength, maxLength, size: 'max' }),
      newestOffsetSeconds: fc.integer({ min: 0, max: 60 }),
      nullIndex: fc.option(fc.nat(), { nil: undefined }),
      shape: fc.oneof(
        { arbitrary: fc.constant<HistoryShape>('normal'), weight: 8 },
        { arbitrary: fc.constant<HistoryShape>('headless'), weight: 1 },
        { arbitrary: fc.constant<HistoryShape>('strayLatest'), weight: 1 },
      ),
    })
    .map(({ specs, newestOffsetSeconds, nullIndex, shape }) => {
      let lastModifiedMs = BASE_MS + newestOffsetSeconds * SECOND_MS;
      return specs.map((spec, index): VersionEntry => {
        lastModifiedMs -= index === 0 ? 0 : spec.stepBackSeconds * SECOND_MS;
        const isFirst = index === 0;
        const isLast = index === specs.length - 1;
        return {
          key,
          // At most one "null" entry per key, as in S3.
          versionId:
            nullIndex !== undefined && nullIndex % specs.length === index ? 'null' : `v${specs.length - index}`,
          isDeleteMarker: spec.isDeleteMarker,
          isLatest: (isFirst && shape !== 'headless') || (isLast && !isFirst && shape === 'strayLatest'),
          lastModified: new Date(lastModifiedMs),
          size: spec.isDeleteMarker ? 0 : 10 * (index + 1),
        };
      });
    });
}

/** Several keys in ascending order, each with its own history. */
const historiesArb: fc.Arbitrary<VersionEntry[][]> = fc
  .uniqueArray(fc.constantFrom(...KEY_POOL), { minLength: 1, maxLength: 6 })
  .chain((keys) => fc.tuple(...[...keys].sort().map((key) => keyHistoryArb(key, 1, 10))));

const policyArb: fc.Arbitrary<RetentionPolicy> = fc
  .record({
    noncurrentVersionsOlderThanMs: fc.option(
      fc.integer({ min: 0, max: 20 }).map((seconds) => seconds * SECOND_MS),
      { nil: undefined },
    ),
    keepNoncurrentVersions: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    expiredDeleteMarkers: fc.constantFrom(undefined, true, false),
    prefixes: fc.option(fc.subarray([...PREFIX_POOL], { minLength: 1 }), { nil: undefined }),
    exclude: fc.option(fc.subarray([...EXCLUDE_POOL]), { nil: undefined }),
  })
  .filter(
    (policy) =>
      policy.noncurrentVersionsOlderThanMs !== undefined ||
      policy.keepNoncurrentVersions !== undefined ||
      policy.expiredDeleteMarkers === true,
  );

const asOfArb = fc.integer({ min: -10, max: 120 }).map((seconds) => new Date(BASE_MS + seconds * SECOND_MS));

/**
 * What happens at a page boundary: nothing, a restore from the JSON snapshot,
 * or a crash after feeding `lost` more entries (their output may or may not
 * have been deleted) followed by a restore from the boundary's snapshot and a
 * replay of those entries.
 */
type BoundaryAction = { kind: 'continue' } | { kind: 'restore' } | { kind: 'crash'; lost: number };

interface StreamPlan {
  readonly pageSize: number;
  readonly actions: readonly BoundaryAction[];
}

function planArb(maxPageSize: number): fc.Arbitrary<StreamPlan> {
  return fc.record({
    pageSize: fc.integer({ min: 1, max: maxPageSize }),
    actions: fc.array(
      fc.oneof(
        fc.constant<BoundaryAction>({ kind: 'continue' }),
        fc.constant<BoundaryAction>({ kind: 'restore' }),
        fc.integer({ min: 1, max: maxPageSize }).map((lost): BoundaryAction => ({ kind: 'crash', lost })),
      ),
      { minLength: 1, maxLength: 20 },
    ),
  });
}

// ---------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------

const roundTrip = (snapshot: unknown): unknown => JSON.parse(JSON.stringify(snapshot));

function runUninterrupted(factory: SelectorFactory, stream: readonly VersionEntry[]): VersionEntry[] {
  const selector = factory();
  return [...stream.flatMap((entry) => selector.next(entry)), ...selector.end()];
}

interface InterruptedRun {
  /** What the run that completed selected. */
  readonly selected: VersionEntry[];
  /** What crashed runs selected before dying (may have been deleted). */
  readonly abandoned: VersionEntry[];
  /** Largest snapshot seen, in JSON characters. */
  readonly largestSnapshot: number;
}

function runInterrupted(factory: SelectorFactory, stream: readonly VersionEntry[], plan: StreamPlan): InterruptedRun {
  const selected: VersionEntry[] = [];
  const abandoned: VersionEntry[] = [];
  let largestSnapshot = 0;
  let selector: EntrySelector = factory();
  let boundary = 0;
  for (let position = 0; position <= stream.length; position += 1) {
    if (position % plan.pageSize === 0 || position === stream.length) {
      const json = JSON.stringify(selector.snapshot());
      largestSnapshot = Math.max(largestSnapshot, json.length);
      const saved = roundTrip(selector.snapshot());
      const action = plan.actions[boundary % plan.actions.length];
      boundary += 1;
      if (action.kind === 'crash') {
        stream.slice(position, position + action.lost).forEach((entry) => abandoned.push(...selector.next(entry)));
        if (position + action.lost >= stream.length) {
          abandoned.push(...selector.end());
        }
      }
      if (action.kind !== 'continue') {
        selector = factory(saved);
      }
    }
    if (position < stream.length) {
      selected.push(...selector.next(stream[position]));
    }
  }
  selected.push(...selector.end());
  return { selected, abandoned, largestSnapshot };
}

const label = (entry: VersionEntry): string => `${entry.key}@${entry.versionId}`;
const sortedLabels = (entries: readonly VersionEntry[]): string[] => entries.map(label).sort();

/**
 * Invariant (b), checked against the stream alone: an entry marked current is
 * only ever selected when it is a key's first entry, a delete marker, the
 * policy has expiredDeleteMarkers, and every other entry of the key was selected.
 */
function assertCurrentEntriesSafe(
  histories: readonly VersionEntry[][],
  selected: readonly VersionEntry[],
  policy: RetentionPolicy,
): void {
  const selectedLabels = new Set(selected.map(label));
  for (const history of histories) {
    history.forEach((entry, index) => {
      if (!entry.isLatest || !selectedLabels.has(label(entry))) {
        return;
      }
      expect(index).toBe(0);
      expect(entry.isDeleteMarker).toBe(true);
      expect(policy.expiredDeleteMarkers).toBe(true);
      expect(history.every((other) => selectedLabels.has(label(other)))).toBe(true);
    });
  }
}

function checkAgainstReference(
  histories: VersionEntry[][],
  policy: RetentionPolicy,
  asOf: Date,
  plan: StreamPlan,
  snapshotLimit: number,
): void {
  const stream = histories.flat();
  const factory = retentionSelector(policy, asOf);
  const expected = referenceSelection(histories, policy, asOf);
  const uninterrupted = runUninterrupted(factory, stream);
  const interrupted = runInterrupted(factory, stream, plan);

  // (a) streaming decisions equal the reference model's, each entry once, with its fields intact
  expect(sortedLabels(uninterrupted)).toEqual(sortedLabels(expected));
  expect(sortedLabels(interrupted.selected)).toEqual(sortedLabels(expected));
  const byLabel = new Map(stream.map((entry) => [label(entry), entry]));
  interrupted.selected.forEach((entry) => expect(entry).toEqual(byLabel.get(label(entry))));

  // (b) the current entry is deleted only as an expired delete marker
  assertCurrentEntriesSafe(histories, interrupted.selected, policy);

  // (c) where the stream was split changes nothing, not even the order
  expect(interrupted.selected.map(label)).toEqual(uninterrupted.map(label));
  // a crashed run never deleted anything the completed run would not have
  const expectedLabels = new Set(expected.map(label));
  interrupted.abandoned.forEach((entry) => expect(expectedLabels.has(label(entry))).toBe(true));

  // state is O(1) per key
  expect(interrupted.largestSnapshot).toBeLessThanOrEqual(snapshotLimit);
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

describe('retentionSelector properties', () => {
  it('decides like the whole-history reference model, whatever the page boundaries, restores and crashes', () => {
    fc.assert(
      fc.property(historiesArb, policyArb, asOfArb, planArb(8), (histories, policy, asOf, plan) => {
        checkAgainstReference(histories, policy, asOf, plan, 400);
      }),
      { numRuns: 2_000 },
    );
  });

  it('decides like the reference model for a hot key with hundreds of versions split across many pages', () => {
    const hotKeyArb = fc.tuple(keyHistoryArb('a', 1, 10), keyHistoryArb('hot', 100, 300), keyHistoryArb('z', 1, 10));
    const hotPolicyArb = policyArb.map((policy) => ({
      ...policy,
      prefixes: undefined,
      keepNoncurrentVersions:
        policy.keepNoncurrentVersions === undefined ? undefined : policy.keepNoncurrentVersions * 40,
      noncurrentVersionsOlderThanMs:
        policy.noncurrentVersionsOlderThanMs === undefined ? undefined : policy.noncurrentVersionsOlderThanMs * 20,
    }));
    const hotAsOfArb = fc
      .integer({ min: -10, max: 1_000 })
      .map((seconds) => new Date(BASE_MS + seconds * SECOND_MS));
    fc.assert(
      fc.property(hotKeyArb, hotPolicyArb, hotAsOfArb, planArb(60), (histories, policy, asOf, plan) => {
        checkAgainstReference(histories, policy, asOf, plan, 400);
      }),
      // No shrinking: a 300-entry counterexample shrinks for minutes; the small-history property gives readable ones.
      { numRuns: 120, endOnFailure: true },
    );
  });

  it('never selects a current entry other than an expired delete marker, for any policy', () => {
    fc.assert(
      fc.property(historiesArb, policyArb, asOfArb, (histories, policy, asOf) => {
        const selected = runUninterrupted(retentionSelector(policy, asOf), histories.flat());
        assertCurrentEntriesSafe(histories, selected, policy);
      }),
      { numRuns: 1_000 },
    );
  });
});

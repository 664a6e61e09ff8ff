import { validateRetentionPolicy, type RetentionPolicy } from '../../lambda/engine/retention-policy';
import { retentionSelector } from '../../lambda/retention/selector';
import type { EntrySelector, VersionEntry } from '../../lambda/engine/types';

const DAY_MS = 86_400_000;
const EPOCH_MS = Date.parse('2024-01-01T00:00:00Z');

/** A day offset from EPOCH_MS as a Date. */
function day(offset: number): Date {
  return new Date(EPOCH_MS + offset * DAY_MS);
}

/** One entry of a key's history: version id, day it was written, whether it is a delete marker. */
interface EntrySpec {
  readonly id: string;
  readonly at: number;
  readonly marker?: boolean;
}

/**
 * A key's history, newest first, as S3 lists it. The first entry is the
 * current one unless `headless` (a listing that starts past the current entry).
 */
function keyHistory(key: string, specs: readonly EntrySpec[], headless = false): VersionEntry[] {
  return specs.map((spec, index) => ({
    key,
    versionId: spec.id,
    isDeleteMarker: spec.marker === true,
    isLatest: index === 0 && !headless,
    lastModified: day(spec.at),
    size: spec.marker === true ? 0 : 100,
  }));
}

function label(entry: VersionEntry): string {
  return `${entry.key}@${entry.versionId}`;
}

/** Feeds every entry, then ends; returns what was selected, in the order returned. */
function selectAll(selector: EntrySelector, entries: readonly VersionEntry[]): string[] {
  const selected = entries.flatMap((entry) => selector.next(entry));
  return [...selected, ...selector.end()].map(label);
}

function select(policy: RetentionPolicy, asOfDay: number, entries: readonly VersionEntry[]): string[] {
  return selectAll(retentionSelector(policy, day(asOfDay))(), entries);
}

const TEN_DAYS_MS = 10 * DAY_MS;

describe('retentionSelector: the current entry', () => {
  it('never deletes the current version, even when every rule would select it', () => {
    // GIVEN a key whose current version is very old
    const entries = keyHistory('k', [{ id: 'v2', at: 0 }, { id: 'v1', at: -10 }]);
    // WHEN the most aggressive rules run long after
    const selected = select({ noncurrentVersionsOlderThanMs: 0, keepNoncurrentVersions: 0 }, 1000, entries);
    // THEN only the noncurrent version goes
    expect(selected).toEqual(['k@v1']);
  });

  it('keeps a lone current delete marker when expiredDeleteMarkers is off', () => {
    // GIVEN a key that is only a current delete marker
    const entries = keyHistory('k', [{ id: 'dm', at: 0, marker: true }]);
    // WHEN age and count rules run without expiredDeleteMarkers
    const selected = select({ noncurrentVersionsOlderThanMs: 0, keepNoncurrentVersions: 0 }, 100, entries);
    // THEN the marker stays
    expect(selected).toEqual([]);
  });
});

describe('retentionSelector: noncurrentVersionsOlderThan', () => {
  it('counts a version’s age from when the next newer entry was written, not from its own LastModified', () => {
    // GIVEN v1 written on day 0 and superseded on day 25
    const entries = keyHistory('k', [{ id: 'v2', at: 25 }, { id: 'v1', at: 0 }]);
    // WHEN a 10-day rule runs on day 31 (v1 is 31 days old but noncurrent for 6)
    const selected = select({ noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 31, entries);
    // THEN v1 is kept
    expect(selected).toEqual([]);
  });

  it('deletes a version noncurrent for exactly the duration', () => {
    // GIVEN v1 superseded on day 5
    const entries = keyHistory('k', [{ id: 'v2', at: 5 }, { id: 'v1', at: 0 }]);
    // WHEN a 10-day rule runs on day 15 (asOf - noncurrentSince == D)
    const selected = select({ noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 15, entries);
    // THEN v1 is deleted
    expect(selected).toEqual(['k@v1']);
  });

  it('keeps a version noncurrent for one millisecond less than the duration', () => {
    // GIVEN v1 superseded on day 5
    const entries = keyHistory('k', [{ id: 'v2', at: 5 }, { id: 'v1', at: 0 }]);
    // WHEN a rule of 10 days + 1 ms runs on day 15
    const selected = select({ noncurrentVersionsOlderThanMs: TEN_DAYS_MS + 1 }, 15, entries);
    // THEN v1 is kept
    expect(selected).toEqual([]);
  });

  it('counts from a delete marker’s LastModified when a delete marker superseded the version', () => {
    // GIVEN v1 (day 0) deleted on day 20, then rewritten as v2 on day 40
    const entries = keyHistory('k', [
      { id: 'v2', at: 40 },
      { id: 'dm', at: 20, marker: true },
      { id: 'v1', at: 0 },
    ]);
    // WHEN a 10-day rule runs on day 35 and on day 29
    // THEN on day 35 v1 (noncurrent since day 20) goes, the marker (noncurrent since day 40) stays
    expect(select({ noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 35, entries)).toEqual(['k@v1']);
    expect(select({ noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 29, entries)).toEqual([]);
  });

  it('deletes every noncurrent version with a zero duration', () => {
    // GIVEN versions superseded just now
    const entries = keyHistory('k', [{ id: 'v3', at: 7 }, { id: 'v2', at: 7 }, { id: 'v1', at: 6 }]);
    // WHEN a zero-age rule runs at that instant
    const selected = select({ noncurrentVersionsOlderThanMs: 0 }, 7, entries);
    // THEN every noncurrent version goes
    expect(selected).toEqual(['k@v2', 'k@v1']);
  });

  it('keeps a version that became noncurrent after asOf', () => {
    // GIVEN v1 superseded on day 10
    const entries = keyHistory('k', [{ id: 'v2', at: 10 }, { id: 'v1', at: 0 }]);
    // WHEN a zero-age rule runs as of day 9
    const selected = select({ noncurrentVersionsOlderThanMs: 0 }, 9, entries);
    // THEN v1 is kept (asOf - noncurrentSince is negative)
    expect(selected).toEqual([]);
  });
});

describe('retentionSelector: keepNoncurrentVersions', () => {
  it('deletes every noncurrent version beyond the N newest whatever their age when only N is given', () => {
    // GIVEN four noncurrent versions superseded moments ago
    const entries = keyHistory('k', [
      { id: 'v5', at: 0 },
      { id: 'v4', at: 0 },
      { id: 'v3', at: 0 },
      { id: 'v2', at: 0 },
      { id: 'v1', at: 0 },
    ]);
    // WHEN keeping 2 runs at the same instant
    const selected = select({ keepNoncurrentVersions: 2 }, 0, entries);
    // THEN the two oldest go
    expect(selected).toEqual(['k@v2', 'k@v1']);
  });

  it('deletes every noncurrent version with keep 0 and no age rule', () => {
    // GIVEN two noncurrent versions
    const entries = keyHistory('k', [{ id: 'v3', at: 2 }, { id: 'v2', at: 1 }, { id: 'v1', at: 0 }]);
    // WHEN keeping 0 runs
    const selected = select({ keepNoncurrentVersions: 0 }, 2, entries);
    // THEN both go
    expect(selected).toEqual(['k@v2', 'k@v1']);
  });

  it('does not count delete markers among the N kept, and deletes the markers without an age rule', () => {
    // GIVEN versions and delete markers interleaved
    const entries = keyHistory('k', [
      { id: 'v5', at: 5 },
      { id: 'dm4', at: 4, marker: true },
      { id: 'v3', at: 3 },
      { id: 'dm2', at: 2, marker: true },
      { id: 'v1', at: 1 },
      { id: 'v0', at: 0 },
    ]);
    // WHEN keeping 2 runs
    const selected = select({ keepNoncurrentVersions: 2 }, 5, entries);
    // THEN v3 and v1 are the two kept; v0 and both markers go
    expect(selected).toEqual(['k@dm4', 'k@dm2', 'k@v0']);
  });

  it('deletes a version only when it is both old enough and beyond the N newest', () => {
    // GIVEN v4 (noncurrent since day 30), v3 (since 20), v2 (since 10), v1 (since 5)
    const entries = keyHistory('k', [
      { id: 'v5', at: 30 },
      { id: 'v4', at: 20 },
      { id: 'v3', at: 10 },
      { id: 'v2', at: 5 },
      { id: 'v1', at: 0 },
    ]);
    // WHEN keeping 1 with a 10-day rule runs on day 25
    const selected = select({ keepNoncurrentVersions: 1, noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 25, entries);
    // THEN v4 is kept by count, v3 (5 days) is too young, v2 and v1 go
    expect(selected).toEqual(['k@v2', 'k@v1']);
  });

  it('keeps the N newest even when they are old enough', () => {
    // GIVEN two long-noncurrent versions
    const entries = keyHistory('k', [{ id: 'v3', at: 2 }, { id: 'v2', at: 1 }, { id: 'v1', at: 0 }]);
    // WHEN keeping 5 with a zero-age rule runs much later
    const selected = select({ keepNoncurrentVersions: 5, noncurrentVersionsOlderThanMs: 0 }, 100, entries);
    // THEN nothing goes
    expect(selected).toEqual([]);
  });

  it('applies no cap to N (S3 Lifecycle stops at 100)', () => {
    // GIVEN 200 noncurrent versions
    const specs = Array.from({ length: 201 }, (_, index) => ({ id: `v${200 - index}`, at: 200 - index }));
    const entries = keyHistory('k', specs);
    // WHEN keeping 150 runs
    const selected = select({ keepNoncurrentVersions: 150 }, 300, entries);
    // THEN exactly the 50 oldest go
    expect(selected).toEqual(specs.slice(151).map((spec) => `k@${spec.id}`));
  });

  it('counts each key separately', () => {
    // GIVEN two keys with two noncurrent versions each
    const entries = [
      ...keyHistory('a', [{ id: 'a3', at: 2 }, { id: 'a2', at: 1 }, { id: 'a1', at: 0 }]),
      ...keyHistory('b', [{ id: 'b3', at: 2 }, { id: 'b2', at: 1 }, { id: 'b1', at: 0 }]),
    ];
    // WHEN keeping 1 runs
    const selected = select({ keepNoncurrentVersions: 1 }, 5, entries);
    // THEN the oldest of each key goes
    expect(selected).toEqual(['a@a1', 'b@b1']);
  });
});

describe('retentionSelector: noncurrent delete markers', () => {
  it('deletes a noncurrent delete marker only when old enough, counting from the next newer entry', () => {
    // GIVEN a marker written on day 0 and superseded on day 8, and one superseded on day 1
    const entries = keyHistory('k', [
      { id: 'v3', at: 8 },
      { id: 'dm2', at: 1, marker: true },
      { id: 'dm1', at: 0, marker: true },
    ]);
    // WHEN a 10-day rule runs on day 11
    const selected = select({ noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 11, entries);
    // THEN only dm1 (noncurrent since day 1) goes
    expect(selected).toEqual(['k@dm1']);
  });

  it('deletes noncurrent delete markers, keeps noncurrent versions, when expiredDeleteMarkers is the only rule', () => {
    // GIVEN a current version above a marker and an old version
    const entries = keyHistory('k', [
      { id: 'v2', at: 2 },
      { id: 'dm', at: 1, marker: true },
      { id: 'v1', at: 0 },
    ]);
    // WHEN only expiredDeleteMarkers runs
    const selected = select({ expiredDeleteMarkers: true }, 100, entries);
    // THEN the marker goes (no age rule: markers always go) and v1 stays
    expect(selected).toEqual(['k@dm']);
  });
});

describe('retentionSelector: expiredDeleteMarkers', () => {
  it('deletes a key’s only entry when it is a current delete marker, returning it from end()', () => {
    // GIVEN a key that is only a current delete marker
    const selector = retentionSelector({ expiredDeleteMarkers: true }, day(10))();
    const [marker] = keyHistory('k', [{ id: 'dm', at: 0, marker: true }]);
    // WHEN it is fed, then the listing ends
    const fromNext = selector.next(marker);
    const fromEnd = selector.end();
    // THEN it is held by next() and returned by end()
    expect(fromNext).toEqual([]);
    expect(fromEnd).toEqual([marker]);
  });

  it('deletes the current delete marker in the same run when every other entry of the key is deleted', () => {
    // GIVEN a current marker above two versions, then another key
    const entries = [
      ...keyHistory('a', [
        { id: 'dm', at: 20, marker: true },
        { id: 'v2', at: 10 },
        { id: 'v1', at: 0 },
      ]),
      ...keyHistory('b', [{ id: 'b1', at: 0 }]),
    ];
    const selector = retentionSelector({ expiredDeleteMarkers: true, keepNoncurrentVersions: 0 }, day(30))();
    // WHEN fed entry by entry
    const perEntry = entries.map((entry) => selector.next(entry).map(label));
    // THEN the versions go as they arrive and the marker goes when key b starts
    expect(perEntry).toEqual([[], ['a@v2'], ['a@v1'], ['a@dm']]);
    expect(selector.end()).toEqual([]);
  });

  it('keeps the current delete marker when one other entry of the key is kept', () => {
    // GIVEN a current marker above a young and an old version
    const entries = keyHistory('k', [
      { id: 'dm', at: 20, marker: true },
      { id: 'v2', at: 10 },
      { id: 'v1', at: 0 },
    ]);
    const policy = { expiredDeleteMarkers: true, noncurrentVersionsOlderThanMs: 5 * DAY_MS };
    // WHEN a 5-day rule runs on day 22 (v2 noncurrent for 2 days, v1 for 12) and on day 25 (5 and 15)
    // THEN the marker stays while v2 does, and goes with it
    expect(select(policy, 22, entries)).toEqual(['k@v1']);
    expect(select(policy, 25, entries)).toEqual(['k@v2', 'k@v1', 'k@dm']);
  });

  it('keeps the current delete marker when a noncurrent delete marker below it is too young', () => {
    // GIVEN a current marker above a marker superseded moments ago
    const entries = keyHistory('k', [
      { id: 'dm2', at: 10, marker: true },
      { id: 'dm1', at: 9, marker: true },
    ]);
    // WHEN a 10-day rule with expiredDeleteMarkers runs on day 10
    const selected = select({ expiredDeleteMarkers: true, noncurrentVersionsOlderThanMs: TEN_DAYS_MS }, 10, entries);
    // THEN nothing goes
    expect(selected).toEqual([]);
  });

  it('keeps the current delete marker when keep N retains a version below it', () => {
    // GIVEN a current marker above one version
    const entries = keyHistory('k', [{ id: 'dm', at: 10, marker: true }, { id: 'v1', at: 0 }]);
    // WHEN keeping 1 with expiredDeleteMarkers runs
    const selected = select({ expiredDeleteMarkers: true, keepNoncurrentVersions: 1 }, 100, entries);
    // THEN both stay
    expect(selected).toEqual([]);
  });

  it('never deletes a current version, only a current delete marker', () => {
    // GIVEN a current version with a marker below it
    const entries = keyHistory('k', [{ id: 'v2', at: 10 }, { id: 'dm', at: 5, marker: true }]);
    // WHEN expiredDeleteMarkers runs
    const selected = select({ expiredDeleteMarkers: true }, 100, entries);
    // THEN only the noncurrent marker goes
    expect(selected).toEqual(['k@dm']);
  });

  it('deletes a current delete marker with a null version id', () => {
    // GIVEN a marker written while versioning was suspended (version id "null") above an old version
    const entries = keyHistory('k', [{ id: 'null', at: 10, marker: true }, { id: 'v1', at: 0 }]);
    // WHEN expiredDeleteMarkers with a zero-age rule runs
    const selected = select({ expiredDeleteMarkers: true, noncurrentVersionsOlderThanMs: 0 }, 10, entries);
    // THEN both go, the marker last
    expect(selected).toEqual(['k@v1', 'k@null']);
  });
});

describe('retentionSelector: ties and null version ids', () => {
  it('ranks tied entries in the order given and takes noncurrentSince from the entry listed just before', () => {
    // GIVEN three versions written within the same second
    const entries = keyHistory('k', [{ id: 'v3', at: 10 }, { id: 'v2', at: 10 }, { id: 'v1', at: 10 }]);
    // WHEN keeping 1, and separately a 1-day rule on day 10 and day 11
    // THEN keep 1 keeps v2 (listed first); the age rule sees both as noncurrent since day 10
    expect(select({ keepNoncurrentVersions: 1 }, 10, entries)).toEqual(['k@v1']);
    expect(select({ noncurrentVersionsOlderThanMs: DAY_MS }, 10, entries)).toEqual([]);
    expect(select({ noncurrentVersionsOlderThanMs: DAY_MS }, 11, entries)).toEqual(['k@v2', 'k@v1']);
  });

  it('treats a "null" version like any other version', () => {
    // GIVEN a pre-versioning object ("null") under two newer versions, and a key whose current version is "null"
    const entries = [
      ...keyHistory('a', [{ id: 'v2', at: 20 }, { id: 'v1', at: 10 }, { id: 'null', at: 0 }]),
      ...keyHistory('b', [{ id: 'null', at: 0 }]),
    ];
    // WHEN keeping 1 runs
    const selected = select({ keepNoncurrentVersions: 1 }, 30, entries);
    // THEN the noncurrent null version goes and the current one stays
    expect(selected).toEqual(['a@null']);
  });
});

describe('retentionSelector: prefixes and exclude', () => {
  const twoVersions = (key: string): VersionEntry[] => keyHistory(key, [{ id: 'new', at: 1 }, { id: 'old', at: 0 }]);

  it('never selects keys outside the prefixes', () => {
    // GIVEN keys inside and outside logs/
    const entries = [...twoVersions('data/x'), ...twoVersions('logs/a'), ...twoVersions('logsX')];
    // WHEN a policy limited to logs/ runs
    const selected = select({ keepNoncurrentVersions: 0, prefixes: ['logs/'] }, 5, entries);
    // THEN only logs/a is touched
    expect(selected).toEqual(['logs/a@old']);
  });

  it('never selects excluded keys, by prefix or by glob, including their expired delete markers', () => {
    // GIVEN keys, one of them a lone current delete marker
    const entries = [
      ...twoVersions('a/keep/1'),
      ...keyHistory('a/lock.tmp', [{ id: 'dm', at: 0, marker: true }]),
      ...twoVersions('a/z'),
      ...keyHistory('b/gone', [{ id: 'dm', at: 0, marker: true }]),
    ];
    // WHEN a policy excluding a/keep/ and **/*.tmp runs
    const policy = { keepNoncurrentVersions: 0, expiredDeleteMarkers: true, exclude: ['a/keep/', '**/*.tmp'] };
    const selected = select(policy, 5, entries);
    // THEN excluded keys are untouched
    expect(selected).toEqual(['a/z@old', 'b/gone@dm']);
  });
});

describe('retentionSelector: defensive handling of odd listings', () => {
  it('never ages the first entry of a key that does not start with its current entry', () => {
    // GIVEN a listing of a key starting below its current entry
    const entries = keyHistory('k', [{ id: 'v2', at: 5 }, { id: 'v1', at: 0 }], true);
    // WHEN a zero-age rule runs much later
    const selected = select({ noncurrentVersionsOlderThanMs: 0 }, 100, entries);
    // THEN v2 (noncurrentSince unknown) stays and v1 (noncurrent since v2's LastModified) goes
    expect(selected).toEqual(['k@v1']);
  });

  it('ranks from the first version seen when a key does not start with its current entry', () => {
    // GIVEN a headless key with three versions
    const entries = keyHistory('k', [{ id: 'v3', at: 2 }, { id: 'v2', at: 1 }, { id: 'v1', at: 0 }], true);
    // WHEN keeping 2 runs
    const selected = select({ keepNoncurrentVersions: 2 }, 100, entries);
    // THEN only the third version seen goes
    expect(selected).toEqual(['k@v1']);
  });

  it('never deletes an entry marked IsLatest, wherever it appears', () => {
    // GIVEN a key whose second entry also claims to be current (a delete marker)
    const [first, second, third] = keyHistory('k', [
      { id: 'v3', at: 2 },
      { id: 'dm', at: 1, marker: true },
      { id: 'v1', at: 0 },
    ]);
    const entries = [first, { ...second, isLatest: true }, third];
    // WHEN every rule runs
    const policy = { keepNoncurrentVersions: 0, noncurrentVersionsOlderThanMs: 0, expiredDeleteMarkers: true };
    // THEN neither entry marked current goes
    expect(select(policy, 100, entries)).toEqual(['k@v1']);
  });

  it('keeps entries with an invalid LastModified out of the age rule, and ages the next one as unknown too', () => {
    // GIVEN a key whose middle entry has an unparseable date
    const [current, middle, oldest] = keyHistory('k', [{ id: 'v3', at: 2 }, { id: 'v2', at: 1 }, { id: 'v1', at: 0 }]);
    const entries = [current, { ...middle, lastModified: new Date(Number.NaN) }, oldest];
    // WHEN a zero-age rule runs much later
    const selected = select({ noncurrentVersionsOlderThanMs: 0 }, 100, entries);
    // THEN v2 (valid successor) goes and v1 (successor's date unknown) stays
    expect(selected).toEqual(['k@v2']);
  });
});

describe('retentionSelector: snapshot and restore', () => {
  const roundTrip = (snapshot: unknown): unknown => JSON.parse(JSON.stringify(snapshot));

  it('decides after a mid-key restore exactly as an uninterrupted run', () => {
    // GIVEN a current marker above five versions, interrupted after the third entry
    const entries = keyHistory('k', [
      { id: 'dm', at: 50, marker: true },
      { id: 'v5', at: 40 },
      { id: 'v4', at: 30 },
      { id: 'v3', at: 20 },
      { id: 'v2', at: 10 },
    ]);
    const policy = { keepNoncurrentVersions: 1, noncurrentVersionsOlderThanMs: 0, expiredDeleteMarkers: true };
    const factory = retentionSelector(policy, day(60));
    const first = factory();
    const beforeRestore = entries.slice(0, 3).flatMap((entry) => first.next(entry));
    // WHEN a new selector resumes from its JSON snapshot
    const resumed = factory(roundTrip(first.snapshot()));
    const afterRestore = [...entries.slice(3).flatMap((entry) => resumed.next(entry)), ...resumed.end()];
    // THEN the decisions equal an uninterrupted run's
    expect([...beforeRestore, ...afterRestore].map(label)).toEqual(selectAll(factory(), entries));
    expect(afterRestore.map(label)).toEqual(['k@v3', 'k@v2']);
  });

  it('returns a held current delete marker after restore, with its original fields', () => {
    // GIVEN a selector holding a lone current marker
    const factory = retentionSelector({ expiredDeleteMarkers: true }, day(10));
    const [marker] = keyHistory('k', [{ id: 'null', at: 3, marker: true }]);
    const first = factory();
    first.next(marker);
    // WHEN restored and ended
    const restored = factory(roundTrip(first.snapshot()));
    // THEN the marker comes back equal to the listed one
    expect(restored.end()).toEqual([marker]);
  });

  it('keeps its snapshot the same size whatever the number of versions of a key', () => {
    // GIVEN a hot key with 100,000 noncurrent versions
    const selector = retentionSelector({ keepNoncurrentVersions: 3 }, day(0))();
    const current: VersionEntry = {
      key: 'hot',
      versionId: 'v',
      isDeleteMarker: false,
      isLatest: true,
      lastModified: day(-1),
      size: 1,
    };
    selector.next(current);
    const sizeAfterOne = JSON.stringify(selector.snapshot()).length;
    let deleted = 0;
    for (let index = 0; index < 100_000; index += 1) {
      deleted += selector.next({ ...current, versionId: `${index}`.padStart(6, '0'), isLatest: false }).length;
    }
    // WHEN a snapshot is taken
    const sizeAfterMany = JSON.stringify(selector.snapshot()).length;
    // THEN it grew only by the digits of the counter
    expect(deleted).toBe(100_000 - 3);
    expect(sizeAfterMany - sizeAfterOne).toBeLessThanOrEqual(10);
  });

  it('snapshots "between keys" before the first entry and after end()', () => {
    // GIVEN a fresh selector
    const selector = retentionSelector({ keepNoncurrentVersions: 0 }, day(0))();
    // WHEN snapshotted before and after a stream
    const before = selector.snapshot();
    selector.next(keyHistory('k', [{ id: 'v', at: 0 }])[0]);
    selector.end();
    // THEN both say no key is in progress
    expect(before).toEqual({ v: 1, key: null });
    expect(selector.snapshot()).toEqual({ v: 1, key: null });
  });

  it('rejects a malformed snapshot', () => {
    const factory = retentionSelector({ keepNoncurrentVersions: 0 }, day(0));
    expect(() => factory({ v: 2, key: null })).toThrow(/Invalid retention selector snapshot/);
    expect(() => factory('nonsense')).toThrow(/Invalid retention selector snapshot/);
    expect(() => factory({ v: 1, key: { key: 'k', noncurrentVersionsSeen: -1 } })).toThrow(
      /Invalid retention selector snapshot/,
    );
  });
});

describe('retentionSelector: arguments', () => {
  it('rejects an invalid asOf date', () => {
    expect(() => retentionSelector({ keepNoncurrentVersions: 1 }, new Date(Number.NaN))).toThrow(/asOf/);
  });

  it('rejects an invalid policy', () => {
    expect(() => retentionSelector({}, day(0))).toThrow(/no rule/);
  });
});

describe('validateRetentionPolicy', () => {
  it.each<[string, RetentionPolicy]>([
    ['an age rule alone', { noncurrentVersionsOlderThanMs: 0 }],
    ['a count rule alone', { keepNoncurrentVersions: 0 }],
    ['expiredDeleteMarkers alone', { expiredDeleteMarkers: true }],
    [
      'every field',
      {
        noncurrentVersionsOlderThanMs: 1,
        keepNoncurrentVersions: 1000,
        expiredDeleteMarkers: false,
        prefixes: ['a/'],
        exclude: ['b', '*.tmp'],
      },
    ],
    ['an upload rule alone', { abortIncompleteUploadsOlderThanMs: 0 }],
  ])('accepts %s', (_, policy) => {
    expect(() => validateRetentionPolicy(policy)).not.toThrow();
  });

  it.each<[string, unknown, RegExp]>([
    ['no rule at all', {}, /no rule given.*never means "delete everything"/],
    ['only expiredDeleteMarkers: false', { expiredDeleteMarkers: false }, /no rule given/],
    ['only a scope', { prefixes: ['a/'] }, /no rule given/],
    ['a negative keep', { keepNoncurrentVersions: -1 }, /keepNoncurrentVersions must be a whole number >= 0/],
    ['a fractional keep', { keepNoncurrentVersions: 1.5 }, /keepNoncurrentVersions/],
    ['a string keep', { keepNoncurrentVersions: '3' }, /keepNoncurrentVersions/],
    ['a negative duration', { noncurrentVersionsOlderThanMs: -1 }, /noncurrentVersionsOlderThanMs must be/],
    ['a NaN duration', { noncurrentVersionsOlderThanMs: Number.NaN }, /noncurrentVersionsOlderThanMs/],
    ['an infinite duration', { noncurrentVersionsOlderThanMs: Infinity }, /noncurrentVersionsOlderThanMs/],
    ['a non-boolean expiredDeleteMarkers', { expiredDeleteMarkers: 'yes' }, /expiredDeleteMarkers must be a boolean/],
    ['an empty prefix', { keepNoncurrentVersions: 1, prefixes: [''] }, /Invalid prefix ""/],
    ['an empty prefix list', { keepNoncurrentVersions: 1, prefixes: [] }, /prefixes must not be empty/],
    ['prefixes as a string', { keepNoncurrentVersions: 1, prefixes: 'a/' }, /prefixes must be an array of strings/],
    ['an empty exclude item', { keepNoncurrentVersions: 1, exclude: [''] }, /Invalid exclude item ""/],
    ['a misspelt rule', { keepNoncurrentVersion: 3 }, /unknown property keepNoncurrentVersion/],
    ['a negative upload age', { abortIncompleteUploadsOlderThanMs: -1 }, /abortIncompleteUploadsOlderThanMs must be a whole number of milliseconds >= 0/],
    ['a fractional upload age', { abortIncompleteUploadsOlderThanMs: 0.5 }, /abortIncompleteUploadsOlderThanMs must be/],
    ['an upload age as a string', { abortIncompleteUploadsOlderThanMs: '1' }, /abortIncompleteUploadsOlderThanMs must be/],
    ['null', null, /expected an object/],
  ])('rejects %s', (_, policy, message) => {
    expect(() => validateRetentionPolicy(policy)).toThrow(message);
  });
});

describe('retentionSelector with an upload rule only', () => {
  it('selects no version and no delete marker, current or noncurrent, whatever their age', () => {
    // GIVEN a key with old noncurrent versions and an old noncurrent delete marker, and one whose current entry is a marker
    const entries = [
      ...keyHistory('a', [{ id: 'a3', at: 30 }, { id: 'a2', at: 20, marker: true }, { id: 'a1', at: 10 }, { id: 'a0', at: 0 }]),
      ...keyHistory('b', [{ id: 'b1', at: 5, marker: true }]),
    ];
    // WHEN
    const selected = select({ abortIncompleteUploadsOlderThanMs: 0 }, 1_000, entries);
    // THEN
    expect(selected).toEqual([]);
  });
});

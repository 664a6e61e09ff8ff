import { StreamLedger, failureId, type Checkpoint } from '../../lambda/engine/stream-ledger';
import type { VersionEntry } from '../../lambda/engine/types';

const START: Checkpoint = { cursor: null, selector: undefined, taintedKey: null };

const entry = (key: string, versionId: string, options: Partial<VersionEntry> = {}): VersionEntry => ({
  key,
  versionId,
  isDeleteMarker: false,
  isLatest: false,
  lastModified: new Date(0),
  size: 10,
  ...options,
});

/** Feeds `e` and chooses it (the same object, as the engine passes it). */
const chooseItself = (ledger: StreamLedger, e: VersionEntry, snapshot: unknown = null) => ledger.record(e, snapshot, [e]);

describe('StreamLedger', () => {
  test('the checkpoint moves to the last entry whose decisions, and all before it, are settled', () => {
    // GIVEN three entries chosen for deletion
    const ledger = new StreamLedger(START);
    const [a] = chooseItself(ledger, entry('a', '1'), 'after a');
    const [b] = chooseItself(ledger, entry('b', '1'), 'after b');
    const [c] = chooseItself(ledger, entry('c', '1'), 'after c');
    // WHEN the later two are deleted first
    ledger.settle(c, 'deleted');
    ledger.settle(b, 'deleted');
    // THEN the checkpoint stays at the start: a is not settled yet
    expect(ledger.checkpoint).toEqual(START);
    expect(ledger.unsettled).toBe(true);
    // WHEN a is deleted too
    ledger.settle(a, 'deleted');
    // THEN the checkpoint is after c, with the selector's state there
    expect(ledger.checkpoint).toEqual({ cursor: { keyMarker: 'c', versionIdMarker: '1' }, selector: 'after c', taintedKey: null });
    expect(ledger.unsettled).toBe(false);
  });

  test('entries the selector keeps move the checkpoint at once, and a failure settles like a deletion', () => {
    const ledger = new StreamLedger(START);
    ledger.record(entry('a', '2'), 's1', []);
    const [failed] = chooseItself(ledger, entry('a', '1'), 's2');
    ledger.record(entry('b', '1'), 's3', []);
    expect(ledger.checkpoint.cursor).toEqual({ keyMarker: 'a', versionIdMarker: '2' });
    ledger.settle(failed, 'failed');
    expect(ledger.checkpoint).toEqual({ cursor: { keyMarker: 'b', versionIdMarker: '1' }, selector: 's3', taintedKey: null });
  });

  test('redo counts what a resumed run lists, chooses and counts again, and not what is gone', () => {
    // GIVEN a deleted, b unsent (the stop came first), c deleted, d kept, e failed
    const ledger = new StreamLedger(START);
    const [a] = chooseItself(ledger, entry('a', '1'), null);
    const [b] = chooseItself(ledger, entry('b', '1'), null);
    const [c] = chooseItself(ledger, entry('c', '1', { size: 7 }));
    ledger.record(entry('d', '1'), null, []);
    const [e] = chooseItself(ledger, entry('e', '1'), null);
    ledger.settle(a, 'deleted');
    ledger.settle(c, 'deleted');
    ledger.settle(e, 'failed');
    // WHEN the run stops
    const redo = ledger.redo();
    // THEN it resumes after a; b, d and e are listed again (c is gone), b and e chosen again, e's failure not counted twice
    expect(ledger.checkpoint.cursor).toEqual({ keyMarker: 'a', versionIdMarker: '1' });
    expect(redo).toMatchObject({ listed: 3, selected: 2, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 1 });
    expect([...redo.failures]).toEqual([failureId('e', '1')]);
  });

  test('a marker held by the selector since before the checkpoint is chosen and deleted again on resume, so its deletion is redone', () => {
    // GIVEN a current delete marker of k fed before the run's stop point, chosen when the next key came
    const ledger = new StreamLedger(START);
    const marker = entry('k', 'dm', { isDeleteMarker: true, isLatest: true, size: 0 });
    ledger.record(marker, 'holding k/dm', []);
    const [v] = chooseItself(ledger, entry('k', 'v1'), 'holding k/dm');
    const l = entry('l', '1');
    const [m, next] = ledger.record(l, 'l', [marker, l]);
    // WHEN the version and the marker were deleted but l was not sent
    ledger.settle(v, 'deleted');
    ledger.settle(m, 'deleted');
    // THEN the checkpoint is after k/v1 with the marker still held: the resumed run chooses and deletes the marker again
    expect(ledger.checkpoint).toMatchObject({ cursor: { keyMarker: 'k', versionIdMarker: 'v1' }, selector: 'holding k/dm' });
    expect(ledger.redo()).toMatchObject({ listed: 1, selected: 2, deleteMarkersDeleted: 1, deleted: 0 });
    expect(next.outcome).toBeNull();
  });

  test('a failure of the key at the checkpoint taints it, and the taint ends with the key', () => {
    const ledger = new StreamLedger(START);
    const [v1] = chooseItself(ledger, entry('k', 'v1'), null);
    ledger.settle(v1, 'failed');
    expect(ledger.checkpoint.taintedKey).toBe('k');
    ledger.record(entry('k', 'v0'), null, []);
    expect(ledger.checkpoint.taintedKey).toBe('k');
    ledger.record(entry('l', 'v1'), null, []);
    expect(ledger.checkpoint.taintedKey).toBeNull();
  });

  test('choices made when the range ends are settled like the others', () => {
    const ledger = new StreamLedger(START);
    const marker = entry('k', 'dm', { isDeleteMarker: true, isLatest: true, size: 0 });
    ledger.record(marker, 'holding', []);
    const [m] = ledger.record(null, 'done', [marker]);
    expect(ledger.unsettled).toBe(true);
    expect(ledger.checkpoint.selector).toBe('holding');
    ledger.settle(m, 'deleted');
    expect(ledger.unsettled).toBe(false);
    expect(ledger.checkpoint).toMatchObject({ cursor: { keyMarker: 'k', versionIdMarker: 'dm' }, selector: 'done' });
  });

  test('a resumed ledger starts from its checkpoint and counts only its own entries', () => {
    const start: Checkpoint = { cursor: { keyMarker: 'k', versionIdMarker: 'v1' }, selector: 'restored', taintedKey: 'k' };
    const ledger = new StreamLedger(start);
    expect(ledger.checkpoint).toEqual(start);
    chooseItself(ledger, entry('k', 'v0'), 'later');
    expect(ledger.redo()).toMatchObject({ listed: 1, selected: 1 });
    expect(ledger.fed).toBe(1);
  });
});

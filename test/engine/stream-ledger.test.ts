import fc from 'fast-check';
import { StreamLedger, failureId, type Checkpoint, type DecisionRef, type Outcome } from '../../lambda/engine/stream-ledger';
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

  describe('runs of entries chosen alone (every entry of a purge)', () => {
    type Op = { kind: 'choose' | 'pass'; key: number } | { kind: 'settle'; pick: number; outcome: Outcome };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('choose' as const), key: fc.integer({ min: 0, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('pass' as const), key: fc.integer({ min: 0, max: 5 }) }) },
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), outcome: fc.constantFrom<Outcome>('deleted', 'deleted', 'failed', 'kept', 'dry') }) },
    );

    it('resume where one-object-per-entry steps resume, and redo the same', () => {
      // A ledger fed null snapshots keeps runs of entries (decisions are sequence numbers); one fed
      // another snapshot keeps a step object per entry, as before. Both must say the same, at every step.
      fc.assert(
        fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 0, max: 2_400 }), (ops, bulk) => {
          const runs = new StreamLedger(START);
          const steps = new StreamLedger(START);
          const open: Array<[DecisionRef, DecisionRef]> = [];
          let n = 0;
          // Keys ascend as S3 lists them; versions of a key are consecutive.
          let key = 0;
          const next = (bump: number) => {
            key += bump;
            return entry(`k${String(key).padStart(6, '0')}`, `v${++n}`);
          };
          // A long stretch first, so that runs fill up and the checkpoint crosses from one to the next.
          for (let i = 0; i < bulk; i++) {
            const e = next(i % 3 === 0 ? 1 : 0);
            open.push([runs.record(e, null, [e])[0], steps.record(e, 'x', [e])[0]]);
          }
          const compare = () => {
            expect(runs.checkpoint.cursor).toEqual(steps.checkpoint.cursor);
            expect(runs.checkpoint.taintedKey).toBe(steps.checkpoint.taintedKey);
            expect(runs.unsettled).toBe(steps.unsettled);
            expect(runs.redo()).toEqual(steps.redo());
          };
          for (const o of ops) {
            if (o.kind === 'settle') {
              if (open.length === 0) continue;
              const [a, b] = open.splice(o.pick % open.length, 1)[0];
              runs.settle(a, o.outcome);
              steps.settle(b, o.outcome);
              // Settling twice changes nothing.
              runs.settle(a, 'deleted');
              steps.settle(b, 'deleted');
            } else {
              const e = next(o.key % 2);
              if (o.kind === 'pass') {
                runs.record(e, null, []);
                steps.record(e, 'x', []);
              } else {
                open.push([runs.record(e, null, [e])[0], steps.record(e, 'x', [e])[0]]);
              }
            }
            compare();
          }
          // The range ends (a purge's selector chooses nothing more there).
          runs.record(null, null, []);
          steps.record(null, 'x', []);
          compare();
          // Settled in the order sent, as the deleter mostly reports them.
          for (const [a, b] of open) {
            runs.settle(a, 'deleted');
            steps.settle(b, 'deleted');
          }
          compare();
          expect(runs.unsettled).toBe(false);
        }),
        { numRuns: 150 },
      );
    });

    test('a run\'s decisions are its entries\' sequence numbers, and only a null snapshot makes one', () => {
      const ledger = new StreamLedger(START);
      const a = entry('a', '1');
      const b = entry('b', '1');
      expect(ledger.record(a, null, [a])).toEqual([1]);
      expect(typeof ledger.record(b, 'state', [b])[0]).toBe('object');
    });
  });
});

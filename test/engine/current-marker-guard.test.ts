import { CurrentMarkerGuard } from '../../lambda/engine/current-marker-guard';
import type { VersionEntry } from '../../lambda/engine/types';

const entry = (key: string, versionId: string, isDeleteMarker = false, isLatest = false): VersionEntry => ({
  key, versionId, isDeleteMarker, isLatest, lastModified: new Date(0), size: isDeleteMarker ? 0 : 1,
});

describe('CurrentMarkerGuard', () => {
  test('a marker whose key has nothing in flight is deleted now', () => {
    const guard = new CurrentMarkerGuard();
    guard.watch('k');
    expect(guard.admit(entry('k', 'dm', true, true))).toBe('delete-now');
  });

  test('a marker waits for its key\'s deletions and is released when they all succeed', () => {
    // GIVEN two versions of k in flight
    const guard = new CurrentMarkerGuard();
    guard.watch('k');
    const v1 = entry('k', 'v1');
    const v2 = entry('k', 'v2');
    guard.track(v1);
    guard.track(v2);
    const marker = entry('k', 'dm', true, true);
    // WHEN
    expect(guard.admit(marker)).toBe('wait');
    guard.settle(v1, true);
    expect(guard.takeReleased()).toEqual([]);
    guard.settle(v2, true);
    // THEN
    expect(guard.takeReleased()).toEqual([marker]);
    expect(guard.hasWaiting).toBe(false);
  });

  test('a marker is kept when a version behind it failed, even if the failure came before the marker was decided', () => {
    const guard = new CurrentMarkerGuard();
    guard.watch('k');
    const v1 = entry('k', 'v1');
    guard.track(v1);
    guard.settle(v1, false);
    expect(guard.admit(entry('k', 'dm', true, true))).toBe('keep');
    expect(guard.kept).toBe(1);
  });

  test('a waiting marker is kept when a later settlement of its key fails', () => {
    const guard = new CurrentMarkerGuard();
    guard.watch('k');
    const v1 = entry('k', 'v1');
    guard.track(v1);
    expect(guard.admit(entry('k', 'dm', true, true))).toBe('wait');
    guard.settle(v1, false);
    expect(guard.takeReleased()).toEqual([]);
    expect(guard.kept).toBe(1);
  });

  test('failures of another key do not hold back a marker', () => {
    const guard = new CurrentMarkerGuard();
    guard.watch('a');
    const other = entry('a', 'v1');
    guard.track(other);
    guard.settle(other, false);
    guard.watch('b');
    expect(guard.admit(entry('b', 'dm', true, true))).toBe('delete-now');
  });

  test('markers still waiting when the run stops are kept, and changed() wakes the waiter', async () => {
    const guard = new CurrentMarkerGuard();
    guard.watch('k');
    guard.track(entry('k', 'v1'));
    guard.admit(entry('k', 'dm', true, true));
    const woken = guard.changed();
    guard.abandonWaiting();
    await woken;
    expect(guard.hasWaiting).toBe(false);
    expect(guard.kept).toBe(1);
  });

  test('a taint restored in a resumed run keeps the key\'s marker', () => {
    const resumed = new CurrentMarkerGuard();
    resumed.restoreTaint('k');
    expect(resumed.admit(entry('k', 'dm', true, true))).toBe('keep');
  });

  test('a waiting marker kept because its key was tainted is handed out once by takeKept', () => {
    // GIVEN a marker waiting for a version of its key
    const guard = new CurrentMarkerGuard();
    guard.watch('k');
    const v1 = entry('k', 'v1');
    guard.track(v1);
    const dm = entry('k', 'dm', true, true);
    expect(guard.admit(dm)).toBe('wait');
    // WHEN the version is not deleted
    guard.settle(v1, false);
    // THEN the marker is kept, and reported as such once
    expect(guard.takeKept()).toEqual([dm]);
    expect(guard.takeKept()).toEqual([]);
    expect(guard.takeReleased()).toEqual([]);
  });
});

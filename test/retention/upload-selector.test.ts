import { retentionUploadSelector } from '../../lambda/retention/upload-selector';
import type { UploadEntry } from '../../lambda/engine/purge-types';

const AS_OF = new Date('2026-06-01T12:00:00.000Z');
const HOUR_MS = 3_600_000;

function upload(key: string, ageMs: number): UploadEntry {
  return { key, uploadId: `id-${key}`, initiated: new Date(AS_OF.getTime() - ageMs) };
}

describe('retentionUploadSelector', () => {
  test('without an upload rule there is no selector: uploads are not even listed', () => {
    expect(retentionUploadSelector({ keepNoncurrentVersions: 1 }, AS_OF)).toBeUndefined();
  });

  test('chooses uploads initiated at least the given time before asOf, to the millisecond', () => {
    // GIVEN
    const select = retentionUploadSelector({ abortIncompleteUploadsOlderThanMs: HOUR_MS }, AS_OF)!;
    // WHEN / THEN
    expect(select(upload('exact', HOUR_MS))).toBe(true);
    expect(select(upload('older', HOUR_MS + 1))).toBe(true);
    expect(select(upload('young', HOUR_MS - 1))).toBe(false);
    expect(select(upload('future', -1))).toBe(false);
    expect(select({ key: 'unknown', uploadId: 'u', initiated: new Date(Number.NaN) })).toBe(false);
  });

  test('keeps to the prefixes and leaves excluded keys (prefixes and globs) alone', () => {
    // GIVEN
    const select = retentionUploadSelector(
      { abortIncompleteUploadsOlderThanMs: 0, prefixes: ['logs/', 'tmp/'], exclude: ['logs/keep/', '**/*.part'] },
      AS_OF,
    )!;
    const keys = ['logs/a.bin', 'logs/keep/b.bin', 'logs/x/c.part', 'tmp/d', 'data/e', 'logsx'];
    // WHEN
    const chosen = keys.filter((key) => select(upload(key, HOUR_MS)));
    // THEN
    expect(chosen).toEqual(['logs/a.bin', 'tmp/d']);
  });
});

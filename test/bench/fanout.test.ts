/**
 * The fan-out benchmark's harness (bench/fanout), at a tiny size: W worker
 * processes (dist/, built by `npm run build`) empty a bucket of folders
 * through the S3 model server, and every count must add up against the
 * model's own. No timing is asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelProcess } from '../../bench/harness/model-process';
import { INSTANT_CONFIG } from '../../bench/s3-model';
import { runRound, type RoundRow } from '../../bench/fanout/fanout-round';

const DIST = resolve(__dirname, '../../dist');

describe('fan-out harness', () => {
  let model: ModelProcess;
  let logDir: string;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'fanout-test-'));
    model = await ModelProcess.start(DIST, [], join(logDir, 'model.stderr.log'));
  });

  afterAll(async () => {
    await model?.stop();
    rmSync(logDir, { recursive: true, force: true });
  });

  function expectConsistent(row: RoundRow, partitions: number, versionsPerRange: number): void {
    expect(row.problems).toEqual([]);
    expect(row.seeded).toBe(partitions * versionsPerRange);
    expect(row.left).toBe(0);
    expect(row.removed).toBe(row.seeded);
    expect(row.reported).toBe(row.removed);
    // The workflow's split: the empty range before the first folder, then one per folder,
    // (−∞, p00/], (p00/, p01/], …, (pNN/, +∞); each done once, by a worker that exists, with exactly its folder's versions.
    const folder = (i: number): string => `p${String(i).padStart(2, '0')}/`;
    expect(row.ranges).toBe(partitions + 1);
    expect(row.outcomes.map((o) => o.range.keys)).toEqual(
      Array.from({ length: partitions + 1 }, (_, i) => ({
        prefix: '',
        ...(i > 0 && { after: folder(i - 1) }),
        ...(i < partitions && { through: folder(i) }),
      })),
    );
    row.outcomes.forEach((outcome, i) => {
      expect(outcome.counts.deleted + outcome.counts.deleteMarkersDeleted).toBe(i === 0 ? 0 : versionsPerRange);
      expect(outcome.worker).toBeLessThan(row.workers);
    });
  }

  it.each([1, 2])('W=%i workers empty 4 folders, and their counts add up to the model\'s', async (workers) => {
    const row = await runRound(
      model,
      { workers, partitions: 4, keysPerPartition: 25, versionsPerKey: 4, model: INSTANT_CONFIG, sliceMs: 60_000 },
      { distDir: DIST, bucket: `fanout-test-w${workers}`, logPrefix: join(logDir, `w${workers}`), env: process.env },
    );
    expectConsistent(row, 4, 100);
    expect(row.slices).toBe(5);
    expect(new Set(row.outcomes.map((o) => o.worker)).size).toBe(workers);
  });

  it('a range that outlasts its slice loops with its resume token and still adds up', async () => {
    // 100 ms per list page and per DeleteObjects, 600 ms slices: each 2,500-version folder needs more than one.
    const slow = { ...INSTANT_CONFIG, listLatencyMs: 100, deleteBaseMs: 100 };
    const row = await runRound(
      model,
      { workers: 2, partitions: 2, keysPerPartition: 500, versionsPerKey: 5, model: slow, sliceMs: 600 },
      { distDir: DIST, bucket: 'fanout-test-slices', logPrefix: join(logDir, 'slices'), env: process.env },
    );
    expectConsistent(row, 2, 2500);
    expect(row.slices).toBeGreaterThan(3);
  });
});

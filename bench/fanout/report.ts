import { count, f0, f1, f2 } from '../harness/report';
import type { RoundRow } from './fanout-round';

/** The fan-out table: aggregate deletions/s against W, efficiency against W = 1 of the same run. */
export function fanoutTable(rows: readonly RoundRow[], partitionRate: number): string {
  const base = rows.find((r) => r.workers === 1);
  const perWorkerBase = base ? base.versionsPerSecond : undefined;
  const lines = [
    '| W | Ranges | Versions | Wall (s) | Deletions/s | Per worker /s | Efficiency vs W=1 | Of W × partition rate | Throttled (503s / requests) | Slices | Workers\' CPU (cores, sum; busiest) | Model CPU (cores) | Left |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    const perWorker = r.versionsPerSecond / r.workers;
    const efficiency = perWorkerBase ? `${f0((100 * perWorker) / perWorkerBase)} %` : 'n/a';
    const ofCeiling = partitionRate > 0 ? `${f0((100 * r.versionsPerSecond) / (Math.min(r.workers, r.ranges) * partitionRate))} %` : 'n/a';
    const cores = (s: number): string => f2(s / r.wallSeconds);
    lines.push(
      `| ${r.workers} | ${r.ranges} | ${count(r.seeded)} | ${f1(r.wallSeconds)} | ${f0(r.versionsPerSecond)} | ${f0(perWorker)} | ${efficiency} | ${ofCeiling} | ` +
        `${f1(r.throttledPercent)} % (${r.slowDown503} / ${r.requests}) | ${r.slices} | ${cores(r.workerCpuSeconds)}; ${cores(r.maxWorkerCpuSeconds)} | ${cores(r.modelCpuSeconds)} | ` +
        `${r.left === 0 ? '0' : `**${count(r.left)}**`} |`,
    );
  }
  return lines.join('\n');
}

/** Requests by operation per round, and CPU per 1,000 keys: the inputs of the projection. */
export function fanoutDetails(rows: readonly RoundRow[]): string {
  const lines = [
    '| W | Plan (s) | Median range (s) | Workers\' CPU ms / 1k keys | Model CPU ms / 1k keys | Requests by operation |',
    '|--:|--:|--:|--:|--:|---|',
  ];
  for (const r of rows) {
    const ops = Object.entries(r.requestsByOperation)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, n]) => `${op} ${f0(n)}`)
      .join(', ');
    const per1k = (s: number): string => (r.removed > 0 ? f1((1000 * s) / (r.removed / 1000)) : 'n/a');
    lines.push(`| ${r.workers} | ${f1(r.planSeconds)} | ${f1(r.medianRangeSeconds)} | ${per1k(r.workerCpuSeconds)} | ${per1k(r.modelCpuSeconds)} | ${ops} |`);
  }
  return lines.join('\n');
}

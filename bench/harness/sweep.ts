import type { Row } from './report';
import type { Scenario } from './scenarios';

/** Issue 12's sweep of model settings: rate per prefix × DeleteObjects latency × list latency. */
export const SWEEP_RATES = [500, 2000, 3500, 5500] as const;
export const SWEEP_DELETE_MS = [50, 200, 800] as const;
export const SWEEP_LIST_MS = [30, 120, 300] as const;
/** The baselines' rate does not depend on size (one list, one delete, in turn): they empty at most this many. */
const BASELINE_CAP = 5_000;

/** A full batch (1,000 keys) must fit the token bucket, or the model could never admit it: at 500/s the burst is 2 s. */
const burstFor = (rate: number) => Math.max(1, 1000 / rate);

/**
 * The 36 cells, one prefix each, sized to take about `seconds` at the
 * cell's rate. DeleteObjects takes the cell's latency whatever its size
 * (deletePerKeyMs 0), so the three latencies are what a 1,000-key request costs.
 */
export function sweepScenarios(seconds: number): Scenario[] {
  const cells: Scenario[] = [];
  for (const rate of SWEEP_RATES) {
    for (const deleteMs of SWEEP_DELETE_MS) {
      for (const listMs of SWEEP_LIST_MS) {
        const versions = Math.max(2_000, Math.round((rate * seconds) / 1000) * 1000);
        cells.push({
          id: `sweep-r${rate}-d${deleteMs}-l${listMs}`,
          title: `sweep: ${rate}/s, DeleteObjects ${deleteMs} ms, list ${listMs} ms`,
          model: { rate, deleteBaseMs: deleteMs, deletePerKeyMs: 0, listLatencyMs: listMs, burstSeconds: burstFor(rate) },
          engine: { keys: versions / 10, versionsPerKey: 10, prefixes: 1 },
          baseline: { keys: Math.min(versions, BASELINE_CAP) / 10, versionsPerKey: 10, prefixes: 1 },
        });
      }
    }
  }
  return cells;
}

export const isSweepCell = (s: Scenario) => s.id.startsWith('sweep-');

/**
 * The fastest a purge of `versions` can go in a cell: the token bucket starts
 * full (rate × burst keys), then refills at the rate. Short runs would
 * otherwise score above 100 % on the burst alone.
 */
function ceilingFor(s: Scenario, versions: number): number {
  const rate = s.model.rate!;
  const burst = rate * (s.model.burstSeconds ?? 1);
  return versions <= burst ? Infinity : (rate * versions) / (versions - burst);
}

const pct = (x: number) => `${x.toFixed(1)}%`;
const num = (x: number) => Math.round(x).toLocaleString('en-US');

/** The sweep's table and its targets (≥ 97 % of the ceiling, < 2 % throttled, ≥ 1.0× aws-cdk's handler in every cell). */
export function sweepSection(cells: readonly Scenario[], rows: readonly Row[]): string {
  const lines = [
    '## Rate-controller sweep (issue 12)',
    '',
    'One prefix per cell. "Of ceiling": versions/s ÷ the fastest the model allows for that many versions ' +
      '(rate × N ÷ (N − burst), the bucket starting full); the burst is 1 s of tokens, 2 s at 500/s so that a 1,000-key request fits.',
    '',
    '| Rate/s | Delete ms | List ms | Versions | Engine versions/s | Of ceiling | Throttled | aws-cdk versions/s | vs aws-cdk | Old engine versions/s | Old of ceiling |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  let met = 0;
  let worstCeiling = Infinity;
  let worstRatio = Infinity;
  let worstThrottled = 0;
  for (const s of cells) {
    const find = (c: string) => rows.find((r) => r.scenario === s.id && r.contender === c);
    const e = find('engine');
    if (!e) continue;
    const cdk = find('cdk');
    const old = find('old');
    const ofCeiling = (r: Row) => (100 * r.versionsPerSecond) / ceilingFor(s, r.removed || r.seeded);
    const cdkOk = cdk !== undefined && cdk.left === 0 && cdk.exitCode === 0;
    const ratio = cdk === undefined ? undefined : cdkOk ? e.versionsPerSecond / cdk.versionsPerSecond : Infinity;
    const ok = e.left === 0 && ofCeiling(e) >= 97 && e.throttledPercent < 2 && (ratio === undefined || ratio >= 1);
    if (ok) met++;
    worstCeiling = Math.min(worstCeiling, ofCeiling(e));
    worstThrottled = Math.max(worstThrottled, e.throttledPercent);
    if (ratio !== undefined) worstRatio = Math.min(worstRatio, ratio);
    const cdkText = cdk === undefined ? '–' : cdkOk ? num(cdk.versionsPerSecond) : `failed (${cdk.left} left, exit ${cdk.exitCode})`;
    const ratioText = ratio === undefined ? '–' : Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'cdk failed';
    lines.push(
      `| ${num(s.model.rate!)} | ${s.model.deleteBaseMs} | ${s.model.listLatencyMs} | ${num(e.seeded)} | ${num(e.versionsPerSecond)}${e.left ? ` (${e.left} left!)` : ''} | ` +
        `${pct(ofCeiling(e))} | ${pct(e.throttledPercent)} (${e.slowDown503}/${e.requests}) | ${cdkText} | ${ratioText} | ` +
        `${old ? num(old.versionsPerSecond) : '–'} | ${old ? pct(ofCeiling(old)) : '–'} |`,
    );
  }
  lines.push(
    '',
    `Cells meeting every target (≥ 97 % of ceiling, < 2 % throttled, ≥ 1.0× aws-cdk, bucket empty): **${met} of ${cells.length}**. ` +
      `Worst cell: ${pct(worstCeiling)} of ceiling; most throttled: ${pct(worstThrottled)}; lowest ratio to aws-cdk: ` +
      `${Number.isFinite(worstRatio) ? `${worstRatio.toFixed(2)}×` : 'n/a'}.`,
    '',
  );
  return lines.join('\n');
}

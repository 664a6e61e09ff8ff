import type { Row } from './report';
import type { Scenario } from './scenarios';

/** Issue 12's sweep of model settings: rate per prefix × DeleteObjects latency × list latency. */
export const SWEEP_RATES = [500, 2000, 3500, 5500] as const;
export const SWEEP_DELETE_MS = [50, 200, 800] as const;
export const SWEEP_LIST_MS = [30, 120, 300] as const;
/**
 * Where the handler's loop (one list page, then one DeleteObjects, in turn) is slower than the rate, its rate
 * does not depend on the bucket's size: it empties at most this many. Where the loop could outrun the rate,
 * the bucket's burst would favour a smaller bucket, so it empties as many as the engine.
 */
const BASELINE_CAP = 5_000;
const loopCanOutrun = (rate: number, deleteMs: number, listMs: number) => 1_000_000 / (deleteMs + listMs) >= rate;

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
          baseline: { keys: (loopCanOutrun(rate, deleteMs, listMs) ? versions : Math.min(versions, BASELINE_CAP)) / 10, versionsPerKey: 10, prefixes: 1 },
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

/**
 * The fastest any purge of `versions` can go in a cell, latencies included: one list page before the first
 * DeleteObjects, the tokens after the burst, and one DeleteObjects latency for the last answer. What "of
 * reachable" divides by. One listing stream reads only 1,000 entries per page latency, but the engine splits a
 * stream that lists more slowly than its partition deletes (engine/stream-splitter.ts), so listing is no bound.
 */
function reachableFor(s: Scenario, versions: number): number {
  const rate = s.model.rate!;
  const burst = rate * (s.model.burstSeconds ?? 1);
  const tokenSeconds = Math.max(0, versions - burst) / rate;
  return versions / ((s.model.listLatencyMs! + s.model.deleteBaseMs!) / 1000 + tokenSeconds);
}

const pct = (x: number) => `${x.toFixed(1)}%`;
const num = (x: number) => Math.round(x).toLocaleString('en-US');

/** The sweep's table and its targets (≥ 97 % of the ceiling, < 2 % throttled, ≥ 1.0× aws-cdk's handler in every cell). */
export function sweepSection(cells: readonly Scenario[], rows: readonly Row[]): string {
  const lines = [
    '## Rate-controller sweep (issue 12)',
    '',
    'One prefix per cell. "Of ceiling": versions/s ÷ the fastest the model allows for that many versions ' +
      '(rate × N ÷ (N − burst), the bucket starting full); the burst is 1 s of tokens, 2 s at 500/s so that a 1,000-key request fits. ' +
      '"Of reachable": ÷ the fastest any purge can go with the cell\'s latencies (one list page before the first delete, ' +
      'the tokens, and the last delete\'s latency; listing is no bound, since a stream that lists more slowly than its partition deletes is split). ' +
      'The handler empties as many versions as the engine where its list–delete loop could outrun the rate, else at most 5,000.',
    '',
    '| Rate/s | Delete ms | List ms | Versions | Engine versions/s | Of ceiling | Of reachable | Throttled | aws-cdk versions (versions/s) | vs aws-cdk | Old engine versions/s | Old of ceiling | New ÷ old |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  let met = 0;
  let metReachable = 0;
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
    const ofReachable = (100 * e.versionsPerSecond) / reachableFor(s, e.removed || e.seeded);
    if (e.left === 0 && ofReachable >= 97 && e.throttledPercent < 2 && (ratio === undefined || ratio >= 1)) metReachable++;
    worstCeiling = Math.min(worstCeiling, ofCeiling(e));
    worstThrottled = Math.max(worstThrottled, e.throttledPercent);
    if (ratio !== undefined) worstRatio = Math.min(worstRatio, ratio);
    const cdkText = cdk === undefined ? '–' : cdkOk ? `${num(cdk.seeded)} (${num(cdk.versionsPerSecond)})` : `${num(cdk.seeded)} (failed: ${cdk.left} left, exit ${cdk.exitCode})`;
    const ratioText = ratio === undefined ? '–' : Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'cdk failed';
    lines.push(
      `| ${num(s.model.rate!)} | ${s.model.deleteBaseMs} | ${s.model.listLatencyMs} | ${num(e.seeded)} | ${num(e.versionsPerSecond)}${e.left ? ` (${e.left} left!)` : ''} | ` +
        `${pct(ofCeiling(e))} | ${pct(ofReachable)} | ${pct(e.throttledPercent)} (${e.slowDown503}/${e.requests}) | ${cdkText} | ${ratioText} | ` +
        `${old ? num(old.versionsPerSecond) : '–'} | ${old ? pct(ofCeiling(old)) : '–'} | ${old ? `${(e.versionsPerSecond / old.versionsPerSecond).toFixed(2)}×` : '–'} |`,
    );
  }
  lines.push(
    '',
    `Cells meeting every target (≥ 97 % of ceiling, < 2 % throttled, ≥ 1.0× aws-cdk, bucket empty): **${met} of ${cells.length}**. ` +
      `Worst cell: ${pct(worstCeiling)} of ceiling; most throttled: ${pct(worstThrottled)}; lowest ratio to aws-cdk: ` +
      `${Number.isFinite(worstRatio) ? `${worstRatio.toFixed(2)}×` : 'n/a'}. ` +
      `The same targets against the reachable rate instead of the ceiling: **${metReachable} of ${cells.length}**.`,
    '',
  );
  return lines.join('\n');
}

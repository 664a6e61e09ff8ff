import type { FaultCounts } from '../s3-model/fault-injector';
import type { ContenderId, Scenario } from './scenarios';

/** One contender's run in one scenario. */
export interface Row {
  readonly scenario: string;
  readonly contender: ContenderId;
  readonly label: string;
  readonly command: string;
  /** Versions seeded for this contender. */
  readonly seeded: number;
  /** Versions removed, by the model's count (before − after). */
  readonly removed: number;
  /** Versions left in the bucket afterwards, by the model's count. */
  readonly left: number;
  /** Purge time by the contender's own clock (process start-up excluded); wall time if it did not say. */
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly versionsPerSecond: number;
  readonly slowDown503: number;
  readonly requests: number;
  readonly requestsByOperation: Record<string, number>;
  readonly throttledPercent: number;
  readonly peakRssMb: number;
  readonly cpuSeconds: number;
  readonly cpuMsPer1kKeys: number;
  /** CPU the model server used during the run (s): tells whether the model, not the contender, was the limit. */
  readonly modelCpuSeconds: number;
  /** Keys/s the model allows for this bucket: rate × partitions holding data; null when throttling is off. */
  readonly ceiling: number | null;
  /** Keys/s if the busiest partition ran at the model's rate the whole time; equals `ceiling` for evenly spread data. */
  readonly busiestBound: number | null;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly passes?: number;
  readonly failed?: number;
  readonly reported?: number;
  readonly measuredWith: string;
  /** Faults the model injected during the run (fault storm scenarios). */
  readonly faultsInjected: FaultCounts;
  readonly problems: string[];
}

export interface MachineFacts {
  readonly date: string;
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly python?: string;
  readonly boto3?: string;
  readonly awsCdkLib: string;
  readonly clientS3: string;
  readonly commit: string;
  readonly command: string;
  readonly totalMinutes?: number;
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f1 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const f2 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = (n: number): string => (n >= 1_000_000 && n % 100_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : f0(n));

export function cdkRow(rows: readonly Row[], scenario: string): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.contender === 'cdk' && r.versionsPerSecond > 0);
}

export function ratioText(row: Row, rows: readonly Row[]): string {
  const cdk = cdkRow(rows, row.scenario);
  if (!cdk) return 'n/a';
  if (row.contender === 'cdk') return '1.00×';
  const ratio = row.versionsPerSecond / cdk.versionsPerSecond;
  return `${f2(ratio)}×${cdk.seeded !== row.seeded ? '†' : ''}`;
}

function ceilingText(row: Row): string {
  if (row.ceiling === null) return 'n/a';
  const pct = (100 * row.versionsPerSecond) / row.ceiling;
  const bound =
    row.busiestBound !== null && row.busiestBound < row.ceiling * 0.99
      ? ` (${f0((100 * row.versionsPerSecond) / row.busiestBound)}% of ${f0(row.busiestBound)}‡)`
      : '';
  return `${f0(pct)}% of ${f0(row.ceiling)}${bound}`;
}

function leftText(row: Row): string {
  if (row.timedOut) return `**${f0(row.left)} (timed out)**`;
  if (row.left > 0) return `**${f0(row.left)} NOT EMPTY**`;
  return '0';
}

/** The main table: one line per scenario and contender. */
export function resultsTable(scenarios: readonly Scenario[], rows: readonly Row[]): string {
  const header =
    '| Scenario | Contender | Versions | Time (s) | Versions/s | vs aws-cdk | Of modelled ceiling (keys/s) | 503s | Throttled | Peak RSS (MB) | CPU ms / 1k keys | Left |\n' +
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const lines: string[] = [header];
  for (const scenario of scenarios) {
    for (const row of rows.filter((r) => r.scenario === scenario.id)) {
      lines.push(
        `| ${scenario.id} | ${row.label} | ${count(row.seeded)} | ${f1(row.seconds)} | ${f0(row.versionsPerSecond)} | ${ratioText(row, rows)} | ${ceilingText(row)} | ${f0(row.slowDown503)} | ${f1(row.throttledPercent)}% of ${f0(row.requests)} | ${f0(row.peakRssMb)} | ${f0(row.cpuMsPer1kKeys)} | ${leftText(row)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Fault storms: the engine's throughput under injected faults as a ratio to
 * the same scenario without faults, in the same run.
 */
export function stormTable(scenarios: readonly Scenario[], rows: readonly Row[]): string {
  const storms = scenarios.filter((s) => s.calm !== undefined);
  if (storms.length === 0) return 'No fault storm scenario in this selection.';
  const lines = [
    '| Storm scenario | Calm scenario | Versions/s in the storm | Versions/s calm | Storm ÷ calm | 500s injected | Resets injected | Per-key errors injected | Requests | Left | Exit |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const s of storms) {
    const storm = rows.find((r) => r.scenario === s.id && r.contender === 'engine');
    const calm = rows.find((r) => r.scenario === s.calm && r.contender === 'engine');
    if (!storm) continue;
    const ratio = calm && calm.versionsPerSecond > 0 ? `**${f2(storm.versionsPerSecond / calm.versionsPerSecond)}**` : 'n/a (calm run missing)';
    const f = storm.faultsInjected;
    lines.push(
      `| ${s.id} | ${s.calm} | ${f0(storm.versionsPerSecond)} | ${calm ? f0(calm.versionsPerSecond) : 'n/a'} | ${ratio} | ${f0(f.internalErrors)} | ${f0(f.connectionResets)} | ${f0(f.keyInternalErrors)} | ${f0(storm.requests)} | ${leftText(storm)} | ${storm.timedOut ? 'timeout' : (storm.exitCode ?? '')} |`,
    );
  }
  return lines.join('\n');
}

/** Scenario definitions as a table. */
export function scenarioTable(scenarios: readonly Scenario[], modelLine: (s: Scenario) => string): string {
  const lines = ['| Id | What | Our engine empties | Baselines empty | Model flags |', '|---|---|--:|--:|---|'];
  for (const s of scenarios) {
    const engine = versionsText(s.engine);
    const baseline = versionsText(s.baseline);
    lines.push(`| ${s.id} | ${s.title} | ${engine} | ${baseline}${baseline !== engine ? ' †' : ''} | \`${modelLine(s) || '(defaults)'}\` |`);
  }
  return lines.join('\n');
}

function versionsText(shape: Scenario['engine']): string {
  return count(shape.keys * (shape.versionsPerKey ?? 1) + (shape.hotKeyVersions ?? 0));
}

/** Per-run details: wall time, CPU, model CPU, requests. */
export function detailsTable(rows: readonly Row[]): string {
  const lines = [
    '| Scenario | Contender | Wall incl. start-up (s) | CPU user+sys (s) | Model server CPU (s) | Requests by operation | Passes | Exit |',
    '|---|---|--:|--:|--:|---|--:|--:|',
  ];
  for (const r of rows) {
    const ops = Object.entries(r.requestsByOperation)
      .filter(([, n]) => n > 0)
      .map(([op, n]) => `${op} ${f0(n)}`)
      .join(', ');
    lines.push(
      `| ${r.scenario} | ${r.contender} | ${f1(r.wallSeconds)} | ${f2(r.cpuSeconds)} | ${f1(r.modelCpuSeconds)} | ${ops} | ${r.passes ?? ''} | ${r.timedOut ? 'timeout' : (r.exitCode ?? '')} |`,
    );
  }
  return lines.join('\n');
}

export { f0, f1, f2, count };

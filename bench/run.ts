/**
 * The benchmark: `npm run bench` (builds, then runs this as dist/bench/run.js).
 *
 *   npm run bench                                   full run; writes bench/RESULTS.md and bench/results.json
 *   npm run bench -- --quick                        small sizes, a few minutes; writes bench/out/
 *   npm run bench -- --scenario '1p-*,hot-key'      only these scenarios (ids, `*` wildcards)
 *   npm run bench -- --contenders engine,cdk        only these contenders (engine, cdk, boto3)
 *   npm run bench -- --out FILE.md                  write the report here instead
 *
 * Every scenario starts its own S3 model server process; every contender
 * runs in its own process against a freshly seeded bucket, measured with
 * /usr/bin/time (peak RSS, user+sys CPU). See bench/README.md.
 */
import { execSync } from 'node:child_process';
import { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { ModelConfig } from './s3-model/model-config';
import { DEFAULT_CONFIG } from './s3-model/model-config';
import type { StatsSnapshot } from './s3-model/stats';
import { boto3Version, contenders, type Contender } from './harness/contenders';
import { measureProcess } from './harness/measure';
import { ModelProcess } from './harness/model-process';
import { count, detailsTable, f0, f1, f2, ratioText, cdkRow, resultsTable, scenarioTable, stormTable, type MachineFacts, type Row } from './harness/report';
import { isSweepCell, sweepScenarios, sweepSection } from './harness/sweep';
import { FULL, QUICK, modelFlags, partitionLoads, selectScenarios, versionsOf, type ContenderId, type Scenario } from './harness/scenarios';

const ROOT = resolve(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
/** Lambda gives a function one full vCPU at this memory size; CPU share scales linearly with memory. */
const LAMBDA_MB_PER_VCPU = 1769;

interface Args {
  quick: boolean;
  scenarios: string[];
  contenders: ContenderId[];
  out?: string;
  oldCli?: string;
  sweepSeconds: number;
}

const CONTENDER_IDS: readonly ContenderId[] = ['engine', 'cdk', 'boto3'];
const ALL_CONTENDER_IDS: readonly ContenderId[] = [...CONTENDER_IDS, 'old'];

function commaList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

function parseArgs(argv: readonly string[]): Args {
  const program = new Command('bench')
    .description('Purge throughput of version-purger, aws-cdk autoDeleteObjects and boto3 against the S3 model.')
    .option('--quick', 'small sizes, a few minutes; writes bench/out/', false)
    .option('--scenario <ids>', 'only these scenarios (comma-separated ids, `*` wildcards)', commaList, [])
    .option('--contenders <ids>', 'only these contenders: engine, cdk, boto3', commaList)
    .option('--out <file>', 'write the report here instead')
    .option('--sweep-seconds <s>', 'size of each rate-controller sweep cell, in seconds at its rate (default 20; 3 with --quick)')
    .option('--old-cli <file>', "also run an earlier build's dist/bin/cli.js (contender `old`), side by side")
    .parse([...argv], { from: 'user' });
  const opts = program.opts<{ quick: boolean; scenario: string[]; contenders?: string[]; out?: string; oldCli?: string; sweepSeconds?: string }>();
  const contenders = opts.contenders ?? [...CONTENDER_IDS, ...(opts.oldCli ? (['old'] as const) : [])];
  for (const id of contenders) {
    if (!ALL_CONTENDER_IDS.includes(id as ContenderId)) program.error(`unknown contender ${id} (engine, cdk, boto3, old)`);
    if (id === 'old' && !opts.oldCli) program.error('contender old needs --old-cli <path to an earlier dist/bin/cli.js>');
  }
  return { quick: opts.quick, scenarios: opts.scenario, contenders: contenders as ContenderId[], out: opts.out, oldCli: opts.oldCli, sweepSeconds: Number(opts.sweepSeconds ?? (opts.quick ? 3 : 20)) };
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function sh(command: string): string {
  try {
    return execSync(command, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machineFacts(command: string, boto3: string | undefined): MachineFacts {
  const dirty = sh('git status --porcelain -- lambda bin bench/s3-model bench/baselines') ? ' (with uncommitted changes)' : '';
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    python: sh('python3 --version') || undefined,
    boto3,
    awsCdkLib: (require(join(ROOT, 'node_modules/aws-cdk-lib/package.json')) as { version: string }).version,
    clientS3: (require(join(ROOT, 'node_modules/@aws-sdk/client-s3/package.json')) as { version: string }).version,
    commit: `${sh('git rev-parse --short HEAD') || 'unknown'}${dirty}`,
    command,
  };
}

function contenderEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^AWS_/.test(name)) delete env[name];
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function diffOps(after: StatsSnapshot, before: StatsSnapshot): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const [op, n] of Object.entries(after.requestsByOperation)) ops[op] = n - (before.requestsByOperation[op] ?? 0);
  return ops;
}

async function runContender(model: ModelProcess, scenario: Scenario, contender: Contender, config: ModelConfig, logDir: string): Promise<Row> {
  const shape = contender.id === 'engine' || contender.id === 'old' ? scenario.engine : scenario.baseline;
  const bucket = `bench-${contender.id}-${scenario.id}`.toLowerCase();
  const seeded = await model.seed({ bucket, ...shape, ...(contender.seedExtras ?? {}) });
  // Re-applying the settings refills every partition's token bucket, so each contender starts alike.
  await model.configure(scenario.model);
  await new Promise((r) => setTimeout(r, 500));
  const before = await model.stats();
  const modelCpuBefore = model.cpuSeconds();
  const { file, args, display } = contender.command(model.endpoint, bucket);
  log(`${scenario.id}: ${contender.id} on ${count(seeded.totalVersions)} versions …`);
  const run = await measureProcess(file, args, {
    env: contenderEnv(),
    logFile: join(logDir, `${scenario.id}.${contender.id}.stderr.log`),
    timeoutMs: 20 * 60_000,
  });
  const after = await model.stats();
  const modelCpuSeconds = model.cpuSeconds() - modelCpuBefore;
  const parsed = contender.parse(run.stdout);
  const left = after.buckets[bucket]?.versionsRemaining ?? 0;
  const removed = (before.buckets[bucket]?.versionsRemaining ?? seeded.totalVersions) - left;
  const seconds = parsed.seconds ?? run.wallSeconds;
  const ops = diffOps(after, before);
  const requests = Object.values(ops).reduce((a, b) => a + b, 0);
  const slowDown503 = after.slowDown503 - before.slowDown503;
  const cpuSeconds = run.userSeconds + run.sysSeconds;
  const rate = config.throttle && config.rate > 0 ? config.rate : null;
  const loads = partitionLoads(shape);
  const total = versionsOf(shape);
  const problems: string[] = [];
  if (left > 0) problems.push(`${left} versions left in the bucket`);
  if (run.timedOut) problems.push('timed out');
  if (run.exitCode !== 0) problems.push(`exit code ${run.exitCode}`);
  if (parsed.seconds === undefined) problems.push('no result on stdout; wall time used');
  if (parsed.reported !== undefined && parsed.reported !== removed) problems.push(`reported ${parsed.reported} deleted, the model counted ${removed}`);
  const faultsInjected = {
    internalErrors: after.faultsInjected.internalErrors - before.faultsInjected.internalErrors,
    connectionResets: after.faultsInjected.connectionResets - before.faultsInjected.connectionResets,
    keyInternalErrors: after.faultsInjected.keyInternalErrors - before.faultsInjected.keyInternalErrors,
  };
  const row: Row = {
    scenario: scenario.id,
    contender: contender.id,
    label: contender.label,
    command: display,
    seeded: seeded.totalVersions,
    removed,
    left,
    seconds,
    wallSeconds: run.wallSeconds,
    versionsPerSecond: seconds > 0 ? removed / seconds : 0,
    slowDown503,
    requests,
    requestsByOperation: ops,
    throttledPercent: requests > 0 ? (100 * slowDown503) / requests : 0,
    peakRssMb: run.peakRssMb,
    cpuSeconds,
    cpuMsPer1kKeys: removed > 0 ? (cpuSeconds * 1000) / (removed / 1000) : 0,
    modelCpuSeconds,
    ceiling: rate === null ? null : rate * loads.length,
    busiestBound: rate === null ? null : total / (Math.max(...loads) / rate),
    exitCode: run.exitCode,
    timedOut: run.timedOut,
    passes: parsed.passes,
    failed: parsed.failed,
    reported: parsed.reported,
    measuredWith: run.method,
    faultsInjected,
    problems,
  };
  log(
    `${scenario.id}: ${contender.id} ${f0(row.versionsPerSecond)} versions/s in ${f1(seconds)} s, 503s ${slowDown503}/${requests}, ` +
      `RSS ${f0(row.peakRssMb)} MB, CPU ${f2(cpuSeconds)} s, left ${left}${problems.length ? ` — ${problems.join('; ')}` : ''}`,
  );
  return row;
}

function targetsSection(scenarios: readonly Scenario[], rows: readonly Row[]): string {
  const out: string[] = [];
  const mark = (ok: boolean): string => (ok ? '**met**' : '**not met**');
  const engine = (id: string): Row | undefined => rows.find((r) => r.scenario === id && r.contender === 'engine');
  for (const s of scenarios.filter((x) => x.target === 'one-prefix')) {
    const r = engine(s.id);
    if (!r || r.ceiling === null) continue;
    const pct = (100 * r.versionsPerSecond) / r.ceiling;
    out.push(
      `- 1 prefix, ≥ 90% of the ${f0(r.ceiling)}/s ceiling with < 2% of requests throttled (${s.id}): ` +
        `${f1(pct)}% with ${f2(r.throttledPercent)}% throttled (${r.slowDown503} of ${r.requests}): ${mark(pct >= 90 && r.throttledPercent < 2 && r.left === 0)}.`,
    );
  }
  for (const s of scenarios.filter((x) => x.target === 'many-prefixes')) {
    const r = engine(s.id);
    const cdk = cdkRow(rows, s.id);
    if (!r || !cdk) continue;
    const ratio = r.versionsPerSecond / cdk.versionsPerSecond;
    out.push(
      `- 16 prefixes, ≥ 8× aws-cdk's handler (${s.id}): ${f2(ratio)}× (${f0(r.versionsPerSecond)} vs ${f0(cdk.versionsPerSecond)} versions/s` +
        `${cdk.seeded !== r.seeded ? `, the handler on ${count(cdk.seeded)} versions` : ''}): ${mark(ratio >= 8 && r.left === 0)}.`,
    );
  }
  const big = rows.filter((r) => r.contender === 'engine' && r.seeded >= 1_000_000);
  for (const r of big) {
    const smallId = r.scenario.replace(/1m/, '100k');
    const small = smallId !== r.scenario ? engine(smallId) : undefined;
    const flatText = small
      ? `; ${f0(small.peakRssMb)} MB at ${count(small.seeded)} in ${smallId}, so 1M/100k = ${f2(r.peakRssMb / small.peakRssMb)} (flat: ≤ 1.25): ${mark(r.peakRssMb / small.peakRssMb <= 1.25)}`
      : '';
    out.push(`- Peak RSS < 200 MB at 1M versions (${r.scenario}): ${f0(r.peakRssMb)} MB: ${mark(r.peakRssMb < 200)}${flatText}.`);
  }
  if (big.length === 0) out.push('- Peak RSS at 1M versions: not measured in this run (no 1M scenario selected).');
  return out.join('\n');
}

function sizingSection(rows: readonly Row[]): string {
  const engineRows = rows.filter((r) => r.contender === 'engine' && r.removed > 0);
  if (engineRows.length === 0) return 'No engine runs in this selection.';
  const lines = [
    '| Scenario | Versions/s | CPU ms / 1k keys | Cores busy (CPU s / purge s) | Lambda MB for this CPU (× 1,769) | Peak RSS (MB) |',
    '|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of engineRows) {
    const cores = r.cpuSeconds / r.seconds;
    lines.push(`| ${r.scenario} | ${f0(r.versionsPerSecond)} | ${f0(r.cpuMsPer1kKeys)} | ${f2(cores)} | ${f0(cores * LAMBDA_MB_PER_VCPU)} | ${f0(r.peakRssMb)} |`);
  }
  const cpuPer1k = engineRows.map((r) => r.cpuMsPer1kKeys).sort((a, b) => a - b);
  const median = cpuPer1k[Math.floor(cpuPer1k.length / 2)];
  const onePrefixCores = (3500 * median) / 1e6;
  lines.push(
    '',
    `Median CPU per 1,000 keys at default concurrency: **${f0(median)} ms** (user+sys of the whole CLI process, start-up included, ` +
      `divided by thousands of versions removed). One prefix at its 3,500/s ceiling then needs ${f2(onePrefixCores)} vCPU ` +
      `(${f0(onePrefixCores * LAMBDA_MB_PER_VCPU)} MB of Lambda memory); every further busy prefix adds as much, until the single ` +
      `JavaScript thread is saturated at about one vCPU (${LAMBDA_MB_PER_VCPU} MB).`,
  );
  return lines.join('\n');
}

function renderReport(all: readonly Scenario[], scenarios: readonly Scenario[], rows: readonly Row[], facts: MachineFacts, quick: boolean): string {
  const modelLine = (s: Scenario): string => modelFlags(s.model).join(' ');
  const reduced = scenarios.filter((s) => versionsOf(s.baseline) !== versionsOf(s.engine)).map((s) => s.id);
  const problems = rows.filter((r) => r.problems.length > 0);
  return [
    `# Benchmark results${quick ? ' (quick smoke run: small sizes, not the reference numbers)' : ''}`,
    '',
    `Produced by \`${facts.command}\` on ${facts.date.slice(0, 10)}, in ${facts.totalMinutes !== undefined ? `${f1(facts.totalMinutes)} minutes` : '?'}. ` +
      'How to read this and what the model does and does not model: [README.md](README.md).',
    '',
    `- Machine: ${facts.nproc} CPUs (\`nproc\`), ${facts.cpu}, ${facts.memoryGb} GB RAM; Node ${facts.node}; ${facts.python ?? 'no python3'}` +
      `${facts.boto3 ? `, boto3 ${facts.boto3}` : ', boto3 not installed (its rows are missing)'}; aws-cdk-lib ${facts.awsCdkLib}; @aws-sdk/client-s3 ${facts.clientS3}; commit ${facts.commit}.`,
    '- Each scenario runs its own model server process; each contender runs in its own process on a freshly seeded bucket with full token buckets. ' +
      `Peak RSS and CPU (user+sys) come from ${rows[0]?.measuredWith ?? '/usr/bin/time'}; 503s, requests and versions left from the model's \`/__model/stats\`.`,
    "- Versions/s = versions removed (model's count) ÷ the contender's own purge time (process start-up excluded; wall times are in the details).",
    '- Ratios are against aws-cdk\'s handler in the same scenario of this run. The machine is noisy (2 cores shared with the model server): ' +
      'compare within a run, not across runs.',
    '',
    '## Results',
    '',
    resultsTable(scenarios, rows),
    '',
    `† The baseline emptied fewer versions than our engine${reduced.length ? ` (${reduced.join(', ')})` : ''}: the ratio compares rates. ` +
      'Baselines list a page, delete it and list the next, one after the other, so their rate does not depend on the bucket size ' +
      '(compare their rows across scenarios).',
    '',
    '‡ Hot key: the modelled ceiling is rate × partitions holding data, as defined by issue #5, but the hot key\'s own partition ' +
      "holds most versions and can only go at the model's rate, so nobody can beat the busiest-partition bound in brackets " +
      '(all versions ÷ the time the busiest partition needs at full rate).',
    '',
    '"Of modelled ceiling": n/a when throttling is off. "Throttled": 503 SlowDown answers ÷ all requests of that run. ' +
      '"Left": versions and delete markers still in the bucket afterwards (anything but 0 is a failed run).',
    '',
    '## Targets (issue #5)',
    '',
    targetsSection(scenarios, rows),
    '',
    '## Fault storm (issue 16)',
    '',
    stormTable(scenarios, rows),
    '',
    'The engine through injected faults (model flags in the scenario table), as a ratio to the calm scenario in this run. ' +
      'Every fault is retried by the retry policy; "Left" must be 0 and "Exit" 0.',
    '',
    '## Lambda sizing input',
    '',
    sizingSection(rows),
    '',
    '## Scenarios',
    '',
    scenarioTable(scenarios, modelLine),
    '',
    `Model defaults: ${DEFAULT_CONFIG.listLatencyMs} ms per list page, ${DEFAULT_CONFIG.deleteBaseMs} ms + ${DEFAULT_CONFIG.deletePerKeyMs} ms/key per DeleteObjects, ` +
      `${DEFAULT_CONFIG.otherLatencyMs} ms for anything else, ±${DEFAULT_CONFIG.jitter * 100}% jitter, ${DEFAULT_CONFIG.rate} keys/s per partition with ${DEFAULT_CONFIG.burstSeconds} s of burst.`,
    all.length !== scenarios.length ? `\nThis run was filtered: ${scenarios.length} of ${all.length} scenarios.` : '',
    '',
    '## Details',
    '',
    detailsTable(rows),
    '',
    problems.length ? `Problems:\n\n${problems.map((r) => `- ${r.scenario} / ${r.contender}: ${r.problems.join('; ')}`).join('\n')}\n` : 'No run reported a problem (every bucket was left empty).\n',
    'Commands, per contender (`B` = bucket, `E` = the model\'s endpoint):',
    '',
    ...[...new Set(rows.map((r) => r.contender))].map((id) => {
      const r = rows.find((x) => x.contender === id)!;
      return `- ${r.label}: \`${r.command.replace(/http:\/\/127\.0\.0\.1:\d+/g, 'E').replace(/bench-[a-z0-9-]+/g, 'B')}\``;
    }),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  // The sweep's cells run after the scenarios; `--scenario 'sweep-*'` runs only them.
  const all = [...(args.quick ? QUICK : FULL), ...sweepScenarios(args.sweepSeconds)];
  const scenarios = selectScenarios(all, args.scenarios);
  const boto3 = boto3Version();
  const chosen = contenders(ROOT, args.oldCli).filter((c) => args.contenders.includes(c.id) && (c.id !== 'boto3' || boto3 !== undefined));
  if (args.contenders.includes('boto3') && boto3 === undefined) log('python3 with boto3 not found: the boto3 baseline is skipped');
  const full = !args.quick && args.scenarios.length === 0 && CONTENDER_IDS.every((id) => args.contenders.includes(id));
  const outDir = join(ROOT, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  const reportPath = args.out ? resolve(args.out) : full ? join(ROOT, 'bench/RESULTS.md') : join(outDir, args.quick ? 'RESULTS-quick.md' : 'RESULTS-partial.md');
  const facts = machineFacts(`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`, boto3);
  const started = Date.now();
  const rows: Row[] = [];

  for (const scenario of scenarios) {
    const flags = modelFlags(scenario.model);
    const model = await ModelProcess.start(DIST, flags, join(outDir, `${scenario.id}.model.stderr.log`));
    log(`${scenario.id}: model server pid ${model.pid} at ${model.endpoint} (${model.command})`);
    try {
      const config = await model.configure({});
      for (const contender of chosen.filter((c) => !scenario.contenders || scenario.contenders.includes(c.id))) {
        rows.push(await runContender(model, scenario, contender, config, outDir));
      }
    } finally {
      await model.stop();
    }
    const cdk = cdkRow(rows, scenario.id);
    const ours = rows.find((r) => r.scenario === scenario.id && r.contender === 'engine');
    if (ours && cdk) log(`${scenario.id}: engine vs aws-cdk ${ratioText(ours, rows)}`);
  }

  const sweep = scenarios.filter(isSweepCell);
  const report = renderReport(all.filter((s) => !isSweepCell(s)), scenarios.filter((s) => !isSweepCell(s)), rows.filter((r) => !r.scenario.startsWith('sweep-')), { ...facts, totalMinutes: (Date.now() - started) / 60_000 }, args.quick) +
    (sweep.length > 0 ? `\n${sweepSection(sweep, rows)}` : '');
  writeFileSync(reportPath, report);
  const jsonPath = reportPath.replace(/\.md$/, '') + '.json';
  writeFileSync(full && !args.out ? join(ROOT, 'bench/results.json') : jsonPath, `${JSON.stringify({ facts, scenarios, rows }, null, 2)}\n`);
  process.stdout.write(`${report}\n`);
  log(`report written to ${relative(ROOT, reportPath)}`);
  if (rows.some((r) => r.left > 0 || r.timedOut)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

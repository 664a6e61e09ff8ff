/**
 * The fan-out benchmark of issue 13: `npm run bench:fanout` (builds, then runs
 * this as dist/bench/fanout/run.js).
 *
 *   npm run bench:fanout                                        W = 1, 2, 4, 8, 16; 4 ranges per worker; 10× slowed model
 *   npm run bench:fanout -- --workers 1,16 --versions-per-range 3000
 *   npm run bench:fanout -- --partitions 64                     the same 64 folders for every W (strong scaling)
 *
 * One S3 model server (its own process) for the whole run. For each W it
 * seeds a fresh bucket of folders p00/ …, plans it into ranges with the
 * engine's planner, and runs them like the workflow's Distributed Map: W
 * worker processes (warm Lambda containers) each take the next range and loop
 * engine slices on it with its resume token until it is done. The table goes
 * to stdout and to bench/out/fanout.md; see bench/README.md, "Fan-out".
 */
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelProcess } from '../harness/model-process';
import { modelFlags } from '../harness/scenarios';
import { f1 } from '../harness/report';
import { runRound, type RoundRow } from './fanout-round';
import { fanoutDetails, fanoutTable } from './report';
import { slowedModel } from './slowdown';

const ROOT = resolve(__dirname, '..', '..', '..');
const DIST = join(ROOT, 'dist');

interface Args {
  workers: number[];
  rangesPerWorker: number;
  partitions?: number;
  versionsPerRange: number;
  versionsPerKey: number;
  slowdown: number;
  sliceSeconds: number;
  out: string;
}

function positive(name: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1, got ${raw}`);
    return n;
  };
}

function parseArgs(argv: readonly string[]): Args {
  const program = new Command('bench:fanout')
    .description('Aggregate deletions/s of W engine workers on disjoint key ranges of one bucket, against one slowed-down S3 model.')
    .option('--workers <list>', 'worker counts, comma-separated', (v) => v.split(',').map(positive('--workers')), [1, 2, 4, 8, 16])
    .option('--ranges-per-worker <n>', 'folders (ranges) per worker: the bucket of W workers has W × n folders', positive('--ranges-per-worker'), 4)
    .option('--partitions <n>', 'instead: the same number of folders for every W (strong scaling)', positive('--partitions'))
    .option('--versions-per-range <n>', 'versions in each folder', positive('--versions-per-range'), 10000)
    .option('--versions-per-key <n>', 'versions of each key', positive('--versions-per-key'), 10)
    .option('--slowdown <k>', 'latencies × k, rate per partition ÷ k, burst × k seconds', positive('--slowdown'), 10)
    .option('--slice-seconds <s>', "each slice's time budget, like a Lambda slice's timeout", positive('--slice-seconds'), 90)
    .option('--out <file>', 'also write the report here', join(ROOT, 'bench/out/fanout.md'))
    .parse([...argv], { from: 'user' });
  const o = program.opts<Args>();
  if (o.versionsPerRange % o.versionsPerKey !== 0) program.error('--versions-per-range must be a multiple of --versions-per-key');
  return o;
}

function log(message: string): void {
  process.stderr.write(`[fanout ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function workerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^AWS_/.test(name)) delete env[name];
  return { ...env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // The planner's listing runs in this process, with the workers' fake credentials.
  const env = workerEnv();
  for (const name of Object.keys(process.env)) if (/^AWS_/.test(name)) delete process.env[name];
  Object.assign(process.env, env);
  const command = `node dist/bench/fanout/run.js ${process.argv.slice(2).join(' ')}`.trim();
  const model = slowedModel(args.slowdown);
  const logDir = join(ROOT, 'bench/out');
  mkdirSync(logDir, { recursive: true });
  const server = await ModelProcess.start(DIST, modelFlags(model), join(logDir, 'fanout.model.stderr.log'));
  log(`model: ${server.command} at ${server.endpoint}`);
  // Interrupted: stop the model server too (the workers exit when their IPC channel closes).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.stop().finally(() => process.exit(130)));
  }
  const rows: RoundRow[] = [];
  const load: string[] = [];
  try {
    for (const workers of args.workers) {
      const partitions = args.partitions ?? workers * args.rangesPerWorker;
      log(`W=${workers}: ${partitions} folders × ${args.versionsPerRange} versions …`);
      load.push(`W=${workers}: ${loadavg()[0].toFixed(2)}`);
      const row = await runRound(
        server,
        {
          workers,
          partitions,
          keysPerPartition: args.versionsPerRange / args.versionsPerKey,
          versionsPerKey: args.versionsPerKey,
          model,
          sliceMs: args.sliceSeconds * 1000,
        },
        { distDir: DIST, bucket: `fanout-w${workers}`, logPrefix: join(logDir, `fanout.W${workers}`), env },
      );
      log(`W=${workers}: ${Math.round(row.versionsPerSecond)} versions/s in ${f1(row.wallSeconds)} s${row.problems.length ? `; PROBLEMS: ${row.problems.join('; ')}` : ''}`);
      rows.push(row);
    }
  } finally {
    await server.stop();
  }
  const rate = model.rate ?? 0;
  const report = [
    `# Fan-out (issue 13)`,
    '',
    `\`${command}\`, ${new Date().toISOString()}, ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}.`,
    `Model slowed down ${args.slowdown}× uniformly: \`${server.command}\` (${rate} keys/s per partition).`,
    `${args.partitions ? `${args.partitions} folders for every W` : `${args.rangesPerWorker} folders (ranges) per worker`}, ${args.versionsPerRange} versions each (${args.versionsPerKey} per key); slices of ${args.sliceSeconds} s.`,
    `Load average (1 min) at the start of each round: ${load.join(', ')}.`,
    '',
    fanoutTable(rows, rate),
    '',
    fanoutDetails(rows),
    '',
    ...rows.flatMap((r) => (r.problems.length ? [`- W=${r.workers}: ${r.problems.join('; ')}`] : [])),
  ].join('\n');
  process.stdout.write(`${report}\n`);
  writeFileSync(args.out, `${report}\n`);
  if (rows.some((r) => r.problems.length > 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

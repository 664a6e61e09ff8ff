/**
 * CLI: node dist/bench/s3-model/main.js --port 0 [--list-latency-ms 120]
 *   [--delete-base-ms 200] [--delete-per-key-ms 0.25] [--other-latency-ms 20]
 *   [--rate 3500] [--burst-seconds 1] [--no-throttle] [--jitter 0.1]
 *   [--internal-error-rate 0.05] [--connection-reset-rate 0.01] [--key-error-rate 0.05] [--fault-seed 1]
 *   [--seed '<SeedSpec JSON>']
 * Prints {"endpoint":"http://127.0.0.1:PORT"} on stdout once listening.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { ModelConfig } from './model-config';
import type { SeedSpec } from './seed';
import { startModelServer, type ModelServerOptions } from './server';

/** Numeric flags and the setting each one sets. */
const NUMERIC_FLAGS: Record<string, keyof ModelConfig | 'port'> = {
  '--port': 'port',
  '--list-latency-ms': 'listLatencyMs',
  '--delete-base-ms': 'deleteBaseMs',
  '--delete-per-key-ms': 'deletePerKeyMs',
  '--other-latency-ms': 'otherLatencyMs',
  '--jitter': 'jitter',
  '--rate': 'rate',
  '--burst-seconds': 'burstSeconds',
  '--internal-error-rate': 'internalErrorRate',
  '--connection-reset-rate': 'connectionResetRate',
  '--key-error-rate': 'keyErrorRate',
  '--fault-seed': 'faultSeed',
};

interface CliArguments {
  readonly options: ModelServerOptions;
  readonly seeds: SeedSpec[];
}

function nonNegative(flag: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative number, got ${raw}`);
    return n;
  };
}

export function parseArguments(argv: readonly string[]): CliArguments {
  const program = new Command('main.js')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .option('--no-throttle', 'answer no request with 503 SlowDown')
    .option('--seed <json>', 'seed a bucket at start (SeedSpec JSON, repeatable)', (v: string, all: SeedSpec[] = []) => [...all, JSON.parse(v) as SeedSpec]);
  for (const flag of Object.keys(NUMERIC_FLAGS)) program.option(`${flag} <n>`, NUMERIC_FLAGS[flag], nonNegative(flag));
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.code === 'commander.helpDisplayed') process.exit(0);
    if (err instanceof CommanderError && err.code === 'commander.unknownOption') throw new Error(`unknown argument: ${err.message}`);
    throw err;
  }
  const parsed = program.opts<Record<string, unknown>>();
  const options: Record<string, number | boolean> = {};
  for (const setting of Object.values(NUMERIC_FLAGS)) {
    if (typeof parsed[setting] === 'number') options[setting] = parsed[setting] as number;
  }
  if (parsed.throttle === false) options.throttle = false;
  return { options: options as ModelServerOptions, seeds: (parsed.seed as SeedSpec[] | undefined) ?? [] };
}

async function main(): Promise<void> {
  const { options, seeds } = parseArguments(process.argv.slice(2));
  const server = await startModelServer(options);
  for (const spec of seeds) process.stderr.write(`${JSON.stringify(server.seed(spec))}\n`);
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
  const shutdown = (): void => {
    server.stop().finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

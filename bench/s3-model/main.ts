/**
 * CLI: node dist/bench/s3-model/main.js --port 0 [--list-latency-ms 120]
 *   [--delete-base-ms 200] [--delete-per-key-ms 0.25] [--other-latency-ms 20]
 *   [--rate 3500] [--burst-seconds 1] [--no-throttle] [--jitter 0.1]
 *   [--seed '<SeedSpec JSON>']
 * Prints {"endpoint":"http://127.0.0.1:PORT"} on stdout once listening.
 */
import type { ModelConfig } from './model-config';
import type { SeedSpec } from './seed';
import { startModelServer, type ModelServerOptions } from './server';

const NUMERIC_FLAGS: Record<string, keyof ModelConfig | 'port'> = {
  '--port': 'port',
  '--list-latency-ms': 'listLatencyMs',
  '--delete-base-ms': 'deleteBaseMs',
  '--delete-per-key-ms': 'deletePerKeyMs',
  '--other-latency-ms': 'otherLatencyMs',
  '--jitter': 'jitter',
  '--rate': 'rate',
  '--burst-seconds': 'burstSeconds',
};

interface CliArguments {
  readonly options: ModelServerOptions;
  readonly seeds: SeedSpec[];
}

export function parseArguments(argv: readonly string[]): CliArguments {
  const options: Record<string, number | boolean> = {};
  const seeds: SeedSpec[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--no-throttle') options.throttle = false;
    else if (flag === '--seed') seeds.push(JSON.parse(value()) as SeedSpec);
    else if (flag in NUMERIC_FLAGS) {
      const raw = value();
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got ${raw}`);
      options[NUMERIC_FLAGS[flag]] = n;
    } else if (flag === '--help' || flag === '-h') {
      process.stderr.write(`usage: main.js [${[...Object.keys(NUMERIC_FLAGS), '--no-throttle', '--seed JSON'].join('] [')}]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return { options: options as ModelServerOptions, seeds };
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

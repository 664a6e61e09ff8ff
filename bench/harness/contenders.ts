import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ContenderId } from './scenarios';

export interface Contender {
  readonly id: ContenderId;
  /** Name in the table. */
  readonly label: string;
  /** The program and its arguments. */
  command(endpoint: string, bucket: string): { file: string; args: string[]; display: string };
  /** Seconds the contender spent purging, by its own clock (process start-up excluded), if it said. */
  parse(stdout: string): ContenderOutput;
  /** Seed options this contender needs (the CDK handler only empties tagged buckets). */
  readonly seedExtras?: { tags: Record<string, string>; policy: string };
}

export interface ContenderOutput {
  readonly seconds?: number;
  /** Versions and delete markers the contender says it deleted. */
  readonly reported?: number;
  /** 503s the contender saw, if it counts them. */
  readonly throttledSeen?: number;
  readonly passes?: number;
  readonly failed?: number;
}

function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object') return value as Record<string, unknown>;
    } catch {
      // not JSON; keep looking
    }
  }
  return undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A policy for the CDK handler to add its deny statement to (it logs a complaint without one). */
const EMPTY_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [] });

/**
 * Node flags for the engine's process, for investigations only (reports of
 * such runs are not reference numbers): BENCH_CPU_PROF_DIR=<dir> writes a V8
 * CPU profile of every engine run there (summarise it with
 * `node dist/bench/profile-shares.js <file>`); BENCH_NODE_FLAGS adds flags
 * (space-separated), e.g. `--max-old-space-size=128`.
 */
function profileFlags(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return [...extra, ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [])];
}

/** Our CLI (this build's, or an earlier build's bundle for a side-by-side run). */
function engineContender(id: ContenderId, label: string, cli: string): Contender {
  return {
    id,
    label,
    command: (endpoint, bucket) => ({
      file: process.execPath,
      args: [...profileFlags(), cli, 'purge', '--bucket', bucket, '--endpoint', endpoint, '--json'],
      display: `node ${id === 'engine' ? 'dist/bin/cli.js' : cli} purge --bucket ${bucket} --endpoint ${endpoint} --json`,
    }),
    parse: (stdout) => {
      const out = lastJsonLine(stdout);
      if (!out) return {};
      const deleted = num(out.deleted);
      const markers = num(out.deleteMarkersDeleted);
      return {
        seconds: num(out.durationMs) !== undefined ? num(out.durationMs)! / 1000 : undefined,
        reported: deleted !== undefined ? deleted + (markers ?? 0) : undefined,
        throttledSeen: num(out.throttled),
        passes: num(out.passes),
        failed: num(out.failed),
      };
    },
  };
}

export function contenders(root: string, oldCli?: string): Contender[] {
  const dist = join(root, 'dist');
  return [
    engineContender('engine', 'version-purger (CLI, defaults)', join(dist, 'bin/cli.js')),
    ...(oldCli ? [engineContender('old', 'version-purger before issue 12 (--old-cli)', oldCli)] : []),
    {
      id: 'cdk',
      label: 'aws-cdk autoDeleteObjects handler',
      command: (endpoint, bucket) => ({
        file: process.execPath,
        args: [join(dist, 'bench/baselines/cdk-auto-delete.js'), endpoint, bucket],
        display: `node dist/bench/baselines/cdk-auto-delete.js ${endpoint} ${bucket}`,
      }),
      parse: (stdout) => {
        const out = lastJsonLine(stdout);
        return out ? { seconds: num(out.ms) !== undefined ? num(out.ms)! / 1000 : undefined, reported: num(out.versions) } : {};
      },
      seedExtras: { tags: { 'aws-cdk:auto-delete-objects': 'true' }, policy: EMPTY_POLICY },
    },
    {
      id: 'boto3',
      label: 'boto3 object_versions.delete()',
      command: (endpoint, bucket) => ({
        file: 'python3',
        args: [join(root, 'bench/baselines/boto3_delete.py'), endpoint, bucket],
        display: `python3 bench/baselines/boto3_delete.py ${endpoint} ${bucket}`,
      }),
      parse: (stdout) => {
        const out = lastJsonLine(stdout);
        return out ? { seconds: num(out.ms) !== undefined ? num(out.ms)! / 1000 : undefined, reported: num(out.versions), failed: num(out.errors) } : {};
      },
    },
  ];
}

/** boto3's version when python3 can import it, else undefined. */
export function boto3Version(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import boto3, sys; sys.stdout.write(boto3.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The built CLI, as `npm run build` (and so `npm test`) leaves it: the bundled file the package ships. */
export const CLI = join(__dirname, '..', '..', 'dist', 'bin', 'cli.js');

/** Throws unless the CLI has been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
}

/** What a CLI run printed, and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Credentials and region any local S3 accepts. */
export const TEST_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };

/** Runs `version-purger` with test credentials, stdout and stderr through pipes (as scripts run it). */
export function cli(...args: string[]): CliRun {
  return cliWith({}, ...args);
}

/**
 * Runs `version-purger` through pipes with `env` instead of the test
 * credentials (a variable set to undefined is removed), in `cwd`.
 */
export function cliWith(options: { env?: Record<string, string | undefined>; cwd?: string }, ...args: string[]): CliRun {
  const env: Record<string, string | undefined> = { ...process.env, ...TEST_CREDENTIALS, ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const out = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: env as NodeJS.ProcessEnv,
    cwd: options.cwd,
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

/**
 * Like {@link cliWith}, without blocking this process: needed when the CLI
 * talks to a server running in the test process (a proxy), which spawnSync
 * would freeze.
 */
export function cliAsync(options: { env?: Record<string, string | undefined>; cwd?: string }, ...args: string[]): Promise<CliRun> {
  return runAsync(process.execPath, [CLI, ...args], options);
}

/** Runs any command through pipes without blocking this process. */
export function runAsync(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; replaceEnv?: boolean } = {},
): Promise<CliRun> {
  const base = options.replaceEnv ? {} : { ...process.env, ...TEST_CREDENTIALS };
  const env: Record<string, string | undefined> = { ...base, ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env as NodeJS.ProcessEnv, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `version-purger` with its stdout piped into a shell reader that starts
 * reading only after `delayMs`, as a busy script would: the pipe's buffer
 * (64 KiB on Linux) fills up meanwhile. Returns what the reader got.
 */
export async function cliIntoSlowReader(delayMs: number, ...args: string[]): Promise<CliRun> {
  const codeFile = join(mkdtempSync(join(tmpdir(), 'vp-slow-reader-')), 'code');
  const script = `{ "$0" "$@"; echo $? > '${codeFile}'; } | { sleep ${delayMs / 1000}; cat; }`;
  const run = await runAsync('sh', ['-c', script, process.execPath, CLI, ...args]);
  return { ...run, code: Number(readFileSync(codeFile, 'utf8').trim()) };
}

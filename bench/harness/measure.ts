import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one contender process cost and printed. */
export interface ProcessRun {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  /** Wall time of the whole process, start-up included (s). */
  readonly wallSeconds: number;
  /** Peak resident set size (MB, 1 MB = 2^20 bytes). */
  readonly peakRssMb: number;
  readonly userSeconds: number;
  readonly sysSeconds: number;
  /** How these were measured: "/usr/bin/time" or "/proc polling". */
  readonly method: string;
}

const TIME = '/usr/bin/time';
/** Linux reports CPU times in clock ticks; USER_HZ is 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;

/** User+sys CPU seconds of a live process (0 once it has gone). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm)": state is field 3, utime 14 and stime 15 (1-based) → indexes 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function peakRssKbOf(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs a command to completion and measures its peak RSS and CPU time:
 * through `/usr/bin/time` when it exists, else by polling /proc.
 * stderr goes to `logFile`; stdout is returned.
 */
export async function measureProcess(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; logFile: string; timeoutMs: number },
): Promise<ProcessRun> {
  const useTime = existsSync(TIME);
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = useTime ? [TIME, ['-o', timeFile, '-f', '%M %U %S', command, ...args]] : [command, [...args]];
  const started = performance.now();
  const child = spawn(file, argv, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logFile);
  child.stderr.pipe(log);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));

  let polled = { rssKb: 0, cpu: 0 };
  const poller = useTime
    ? undefined
    : setInterval(() => {
        const pid = child.pid ?? -1;
        polled = { rssKb: Math.max(polled.rssKb, peakRssKbOf(pid)), cpu: Math.max(polled.cpu, cpuSecondsOf(pid)) };
      }, 50);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);

  const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  clearTimeout(timer);
  if (poller) clearInterval(poller);
  const wallSeconds = (performance.now() - started) / 1000;

  if (useTime) {
    const parts = existsSync(timeFile) ? readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ') : [];
    rmSync(timeFile, { force: true });
    // With a non-zero exit, GNU time writes "Command exited with non-zero status N" first; the last line holds the numbers.
    const [rssKb, user, sys] = parts.map(Number);
    return { exitCode, timedOut, stdout, wallSeconds, peakRssMb: (rssKb || 0) / 1024, userSeconds: user || 0, sysSeconds: sys || 0, method: TIME };
  }
  return { exitCode, timedOut, stdout, wallSeconds, peakRssMb: polled.rssKb / 1024, userSeconds: polled.cpu, sysSeconds: 0, method: '/proc polling' };
}

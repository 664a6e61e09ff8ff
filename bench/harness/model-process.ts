import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../s3-model/model-config';
import type { SeedResult, SeedSpec } from '../s3-model/seed';
import type { StatsSnapshot } from '../s3-model/stats';
import { cpuSecondsOf } from './measure';

/**
 * The S3 model running in its own Node process, so that its CPU and memory
 * never mix with a contender's. Driven through its admin API.
 */
export class ModelProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly endpoint: string,
    readonly command: string,
  ) {}

  /** Starts `node dist/bench/s3-model/main.js --port 0 <flags>` and waits for its endpoint line. */
  static async start(distDir: string, flags: readonly string[], logFile: string): Promise<ModelProcess> {
    const args = [join(distDir, 'bench/s3-model/main.js'), '--port', '0', ...flags];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.pipe(createWriteStream(logFile));
    const endpoint = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      const onData = (chunk: Buffer): void => {
        buffered += chunk.toString('utf8');
        const newline = buffered.indexOf('\n');
        if (newline < 0) return;
        child.stdout?.off('data', onData);
        try {
          resolve((JSON.parse(buffered.slice(0, newline)) as { endpoint: string }).endpoint);
        } catch (error) {
          reject(error);
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`the model server exited (${code}) before it listened; see ${logFile}`)));
      child.once('error', reject);
    });
    return new ModelProcess(child, endpoint, `node dist/bench/s3-model/main.js --port 0 ${flags.join(' ')}`.trim());
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** User+sys CPU seconds the model process has used so far. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  private async admin<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}/__model/${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`model ${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  seed(spec: SeedSpec): Promise<SeedResult> {
    return this.admin('POST', 'seed', spec);
  }

  stats(): Promise<StatsSnapshot> {
    return this.admin('GET', 'stats');
  }

  /** Applies settings; this also refills every partition's token bucket. */
  configure(patch: Partial<ModelConfig>): Promise<ModelConfig> {
    return this.admin('POST', 'config', patch);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

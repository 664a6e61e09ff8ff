import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { KeyRange, PurgeCounts, ResumeToken } from '../../lambda/engine/purge-types';
import { cpuSecondsOf } from '../harness/measure';
import type { SliceReply, SliceRequest, WorkerReply, WorkRange } from './protocol';

/** What one range (one Map child) took, over all its slices. */
export interface RangeOutcome {
  readonly range: WorkRange;
  readonly worker: number;
  readonly slices: number;
  readonly counts: PurgeCounts;
  readonly throttled: number;
  /** Wall time from the child's first slice to its last answer (ms). */
  readonly ms: number;
}

/** What a whole fan-out took. */
export interface FanoutOutcome {
  readonly ranges: RangeOutcome[];
  /** From the first slice sent to the last answer (s). */
  readonly wallSeconds: number;
  /** User+sys CPU each worker spent during the fan-out (start-up excluded), s. */
  readonly workerCpuSeconds: number[];
  /** Slices that threw; the fan-out stops at the first. */
  readonly errors: string[];
}


/** A range for messages: `(after, through]` under its prefix. */
export function describeRange(keys: KeyRange): string {
  return `${JSON.stringify(keys.prefix)} (${keys.after ?? '−∞'}, ${keys.through ?? '+∞'}]`;
}

/** A range still not done after this many slices fails the run, rather than loop for ever. */
const MAX_SLICES_PER_RANGE = 200;

class Worker {
  private waiting: ((reply: WorkerReply) => void) | undefined;
  private readonly ready: Promise<void>;

  constructor(
    readonly index: number,
    private readonly child: ChildProcess,
  ) {
    this.ready = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`fan-out worker ${index} exited (${code}) before it was ready`)));
      this.waiting = (reply) => (reply.kind === 'ready' ? resolve() : reject(new Error('unexpected first message')));
    });
    child.on('message', (reply: WorkerReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(reply);
    });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  slice(request: SliceRequest): Promise<SliceReply> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`fan-out worker ${this.index} exited (${code}) during a slice`));
      this.child.once('exit', onExit);
      this.waiting = (reply) => {
        this.child.off('exit', onExit);
        if (reply.kind === 'slice-done') resolve(reply);
        else reject(new Error(`unexpected ${reply.kind} from worker ${this.index}`));
      };
      this.child.send(request);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Where and how to start the workers. */
export interface PoolOptions {
  readonly distDir: string;
  /** The S3 endpoint the workers warm up against (one ListBuckets each). */
  readonly endpoint: string;
  readonly workers: number;
  /** Where each worker's stderr goes (`<prefix>.w<i>.stderr.log`). */
  readonly logPrefix: string;
  readonly env: NodeJS.ProcessEnv;
}

/** What one fan-out runs. */
export interface FanoutPlan {
  readonly endpoint: string;
  readonly bucket: string;
  readonly ranges: readonly WorkRange[];
  /** Each slice's time budget (ms); a range not done by then gets another slice with its token. */
  readonly sliceMs: number;
}

/**
 * W worker processes, each loaded and warmed up (the engine, the SDK, one
 * ListBuckets) before anything is measured, like warm Lambda containers:
 * on Lambda every container starts on its own CPU, while here 64 cold
 * starts at once would queue on 2 cores and count against the fan-out.
 */
export class WorkerPool {
  private constructor(private readonly workers: readonly Worker[]) {}

  static async start(options: PoolOptions): Promise<WorkerPool> {
    const workers = Array.from({ length: options.workers }, (_, i) => {
      const child = fork(join(options.distDir, 'bench/fanout/worker.js'), [options.endpoint], {
        env: options.env,
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      child.stderr?.pipe(createWriteStream(`${options.logPrefix}.w${i}.stderr.log`));
      return new Worker(i, child);
    });
    const pool = new WorkerPool(workers);
    try {
      await Promise.all(workers.map((w) => w.whenReady()));
    } catch (error) {
      await pool.stop();
      throw error;
    }
    return pool;
  }

  /**
   * Runs a plan the way the workflow's Distributed Map does: one child per
   * worker in flight, each taking the next range from the plan and looping
   * slices on it (with the range's resume token) until the range is done.
   * Each worker is its own process, so its CPU can be read from /proc.
   */
  async run(plan: FanoutPlan): Promise<FanoutOutcome> {
    const { workers } = this;
    const cpuBefore = workers.map((w) => cpuSecondsOf(w.pid));
    const queue = [...plan.ranges];
    const outcomes: RangeOutcome[] = [];
    const errors: string[] = [];
    const started = performance.now();
    await Promise.all(
      workers.map(async (worker) => {
        for (let range = queue.shift(); range && errors.length === 0; range = queue.shift()) {
          const childStarted = performance.now();
          let token: ResumeToken | null = null;
          let slices = 0;
          let throttled = 0;
          for (;;) {
            const reply = await worker.slice({ kind: 'slice', endpoint: plan.endpoint, bucket: plan.bucket, range, resumeToken: token, sliceMs: plan.sliceMs });
            slices++;
            throttled += reply.throttled;
            if (reply.error !== undefined || slices >= MAX_SLICES_PER_RANGE) {
              errors.push(`range ${range.index} (${describeRange(range.keys)}): ${reply.error ?? `not done after ${slices} slices`}`);
              break;
            }
            token = reply.resumeToken;
            if (reply.done) {
              outcomes.push({ range, worker: worker.index, slices, counts: reply.counts, throttled, ms: performance.now() - childStarted });
              break;
            }
          }
        }
      }),
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const workerCpuSeconds = workers.map((w, i) => cpuSecondsOf(w.pid) - cpuBefore[i]);
    return { ranges: outcomes.sort((a, b) => a.range.index - b.range.index), wallSeconds, workerCpuSeconds, errors };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/**
 * The rate controller on a simulated partition, in simulated time: the sweep's
 * cells in a second, for tuning (bench/README.md, "The rate-controller sweep").
 * Not a measurement of the engine: the sweep (`--scenario 'sweep-*'`) is.
 *
 *   node dist/bench/rate-sim.js [--seconds 15] [--runs 5]
 *
 * What it models, as the S3 model does: a token bucket per partition (the
 * cell's rate, a burst of 1 s, 2 s at 500/s), one listing stream of
 * 1,000-entry pages, DeleteObjects at the cell's latency whatever its size,
 * 503s answered in 20 ms, ±10 % jitter; the engine's batching by
 * `batchKeys()`, 32 requests in flight, the back-off after a throttle, and
 * its fixed calls (preflight, discovery alongside the first page, the
 * confirming pass).
 */
import { Command } from 'commander';
import { backoffMs } from '../lambda/engine/s3/backoff';
import { RateController, type Clock } from '../lambda/engine/deleting/rate-controller';
import { SWEEP_DELETE_MS, SWEEP_LIST_MS, SWEEP_RATES } from './harness/sweep';

/** Simulated time: sleeps resolve in order of their end, as fast as the promises run. */
class SimClock implements Clock {
  private t = 0;
  private seq = 0;
  private steps = 0;
  private timers: Array<{ at: number; seq: number; resolve: () => void }> = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.push({ at: this.t + Math.max(1, ms), seq: this.seq++, resolve }));
  }

  /** Runs until `done` resolves. */
  async run(done: Promise<unknown>): Promise<void> {
    let finished = false;
    void done.then(() => (finished = true));
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (finished) return;
      if (this.timers.length === 0) throw new Error('simulation stalled');
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      if (process.env.SIM_DEBUG && ++this.steps % 100000 === 0) console.error(`t=${this.t} timers=${this.timers.length}`);
      this.t = next.at;
      next.resolve();
    }
  }
}

interface Cell {
  rate: number;
  deleteMs: number;
  listMs: number;
  versions: number;
}

interface Outcome {
  seconds: number;
  ofCeiling: number;
  /** Of the fastest the engine's fixed calls allow: a controller that knew the rate from the start. */
  ofBest: number;
  throttles: number;
  requests: number;
}

async function simulate(cell: Cell, random: () => number, trace?: (line: string) => void): Promise<Outcome> {
  const clock = new SimClock();
  const jitter = (ms: number) => ms * (1 + 0.1 * (2 * random() - 1));
  const burst = cell.rate * Math.max(1, 1000 / cell.rate);
  let tokens = burst;
  let tokensAt = 0;
  const take = (keys: number): boolean => {
    tokens = Math.min(burst, tokens + ((clock.now() - tokensAt) / 1000) * cell.rate);
    tokensAt = clock.now();
    if (tokens < keys) return false;
    tokens -= keys;
    return true;
  };
  const rc = new RateController({ clock });
  let requests = 0;
  let throttles = 0;
  let inFlight = 0;
  const slotFreed: Array<() => void> = [];
  const sendBatch = async (keys: number): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const ticket = await rc.acquire(keys);
      requests++;
      if (take(keys)) {
        await clock.sleep(jitter(cell.deleteMs));
        rc.onSuccess(keys);
        trace?.(`${clock.now().toFixed(0)} ms: ${keys} keys deleted (sent at ${ticket.at.toFixed(0)}); rate now ${rc.currentRate.toFixed(0)}, tokens ${tokens.toFixed(0)}`);
        return;
      }
      throttles++;
      await clock.sleep(20);
      rc.onThrottle(ticket);
      trace?.(`${clock.now().toFixed(0)} ms: throttled ${keys} keys sent at ${ticket.at.toFixed(0)}; rate now ${rc.currentRate.toFixed(0)}`);
      await clock.sleep(backoffMs(attempt, 200, 2_000));
    }
  };
  const running = new Set<Promise<void>>();
  const submit = async (keys: number) => {
    await rc.roomToQueue();
    while (inFlight >= 32) await new Promise<void>((r) => slotFreed.push(r));
    inFlight++;
    const p = sendBatch(keys).finally(() => {
      inFlight--;
      running.delete(p);
      slotFreed.shift()?.();
    });
    running.add(p);
  };
  const purge = async () => {
    // Preflight (2 reads at once); then discovery, the uploads sweep and the early first page run at
    // once, so the first page below stands for all three.
    await clock.sleep(20);
    requests += 4;
    let listed = 0;
    let pending = 0;
    while (listed < cell.versions) {
      await clock.sleep(jitter(cell.listMs));
      requests++;
      const page = Math.min(1000, cell.versions - listed);
      listed += page;
      pending += page;
      while (pending >= rc.batchKeys()) {
        const keys = rc.batchKeys();
        pending -= keys;
        await submit(keys);
      }
    }
    if (pending > 0) await submit(pending);
    while (running.size > 0) await Promise.all([...running]);
    // The confirming pass: the uploads sweep and one empty listing.
    await clock.sleep(20 + jitter(cell.listMs));
    requests += 2;
  };
  await clock.run(purge());
  const seconds = clock.now() / 1000;
  const ceiling = (cell.rate * cell.versions) / (cell.versions - burst);
  const tokenSeconds = (cell.versions - burst) / cell.rate;
  const listSeconds = ((Math.ceil(cell.versions / 1000) - 1) * cell.listMs) / 1000;
  const best = (20 + cell.listMs + cell.deleteMs + 20 + cell.listMs) / 1000 + Math.max(tokenSeconds, listSeconds);
  return { seconds, ofCeiling: cell.versions / seconds / ceiling, ofBest: best / seconds, throttles, requests };
}

/** A small seeded generator, so that runs repeat. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main(): Promise<void> {
  const opts = new Command('rate-sim')
    .option('--seconds <s>', 'cell size in seconds at its rate', '15')
    .option('--runs <n>', 'runs per cell (worst and mean are shown)', '5')
    .option('--trace <cell>', 'print the events of one run of one cell, e.g. 2000,200,120')
    .parse()
    .opts<{ seconds: string; runs: string; trace?: string }>();
  const seconds = Number(opts.seconds);
  const runs = Number(opts.runs);
  if (opts.trace) {
    const [rate, deleteMs, listMs] = opts.trace.split(',').map(Number);
    const versions = Math.max(2_000, Math.round((rate * seconds) / 1000) * 1000);
    const o = await simulate({ rate, deleteMs, listMs, versions }, mulberry32(1), (line) => console.log(line));
    console.log(o);
    return;
  }
  console.log('| Rate/s | Delete ms | List ms | Versions | Of ceiling (mean, worst) | Of best possible (mean) | Throttled (worst) |');
  console.log('|--:|--:|--:|--:|--:|--:|--:|');
  let met = 0;
  let cells = 0;
  for (const rate of SWEEP_RATES) {
    for (const deleteMs of SWEEP_DELETE_MS) {
      for (const listMs of SWEEP_LIST_MS) {
        const versions = Math.max(2_000, Math.round((rate * seconds) / 1000) * 1000);
        const outcomes: Outcome[] = [];
        for (let i = 0; i < runs; i++) outcomes.push(await simulate({ rate, deleteMs, listMs, versions }, mulberry32(i + 1)));
        const mean = outcomes.reduce((s, o) => s + o.ofCeiling, 0) / runs;
        const meanBest = outcomes.reduce((s, o) => s + o.ofBest, 0) / runs;
        const worst = Math.min(...outcomes.map((o) => o.ofCeiling));
        const worstThrottled = Math.max(...outcomes.map((o) => o.throttles / o.requests));
        const w = outcomes.find((o) => o.throttles / o.requests === worstThrottled)!;
        cells++;
        if (worst >= 0.97 && worstThrottled < 0.02) met++;
        console.log(
          `| ${rate} | ${deleteMs} | ${listMs} | ${versions} | ${(100 * mean).toFixed(1)} %, ${(100 * worst).toFixed(1)} % | ${(100 * meanBest).toFixed(1)} % | ` +
            `${(100 * worstThrottled).toFixed(1)} % (${w.throttles}/${w.requests}) |`,
        );
      }
    }
  }
  console.log(`\nCells at ≥ 97 % and < 2 % throttled in every run: ${met} of ${cells}`);
}

void main();

/**
 * The pass's stream pool (engine/stream-pool.ts): at most `limit` streams at
 * once, streams added while others run are run too, and done() waits for
 * them and reports the first error.
 */
import { StreamPool } from '../../lambda/engine/stream-pool';

/** A stream that runs until the test releases it. */
class Gate {
  readonly started: string[] = [];
  private readonly open = new Map<string, () => void>();

  run = (name: string): Promise<void> => {
    this.started.push(name);
    return new Promise((resolve) => this.open.set(name, resolve));
  };

  release(name: string): void {
    this.open.get(name)?.();
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('StreamPool', () => {
  it('runs at most `limit` streams at once, the next one as soon as one ends', async () => {
    // GIVEN a pool of two and three streams
    const gate = new Gate();
    const pool = new StreamPool(2, gate.run);
    pool.add(['a', 'b', 'c']);

    // THEN two run, and no stream could start without waiting
    await tick();
    expect(gate.started).toEqual(['a', 'b']);
    expect(pool.free).toBe(0);

    // WHEN one ends, THEN the third starts
    gate.release('a');
    await tick();
    expect(gate.started).toEqual(['a', 'b', 'c']);
  });

  it('runs streams added while others run, and done() waits for them', async () => {
    // GIVEN a pool of four with one stream running
    const gate = new Gate();
    const pool = new StreamPool(4, gate.run);
    pool.add(['a']);
    expect(pool.free).toBe(3);
    let done = false;
    const finished = pool.done().then(() => (done = true));

    // WHEN two are added while it runs (a split)
    pool.add(['b', 'c']);
    await tick();

    // THEN they run at once, and done() waits until every one has ended
    expect(gate.started).toEqual(['a', 'b', 'c']);
    gate.release('a');
    gate.release('b');
    await tick();
    expect(done).toBe(false);
    gate.release('c');
    await finished;
    expect(done).toBe(true);
  });

  it('rejects done() with the first error a stream threw; settled() drops the streams not started and waits for the running ones', async () => {
    // GIVEN a pool of two: one stream runs until released, the other fails, two more wait
    const gate = new Gate();
    const pool = new StreamPool(2, async (name: string) => {
      if (name === 'bad') throw new Error('listing failed');
      await gate.run(name);
    });
    pool.add(['slow', 'bad', 'queued1', 'queued2']);

    // THEN done() rejects with the failure
    await expect(pool.done()).rejects.toThrow('listing failed');

    // WHEN the caller stops the pool
    let settled = false;
    const stopping = pool.settled().then(() => (settled = true));
    await tick();

    // THEN the streams not started yet never start, and settled() waits until the running one has ended
    expect(settled).toBe(false);
    gate.release('slow');
    await stopping;
    expect(gate.started).toEqual(['slow']);
  });
});

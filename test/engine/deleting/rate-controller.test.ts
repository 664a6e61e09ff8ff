/**
 * The per-partition rate controller on a fake clock: pacing, slow start, how
 * a throttle sets the rate, batch sizes and how far ahead a stream may queue.
 * How well it holds a partition's ceiling is measured in the bench's sweep
 * (bench/README.md), not here.
 */
import { RateController, type Clock, type SendTicket } from '../../../lambda/engine/deleting/rate-controller';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Time that moves only when a test says so; sleeps end in order. */
class FakeClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.push({ at: this.t + ms, resolve }));
  }

  /** Moves time forward by `ms`, ending each sleep on the way at its own time. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.resolve();
    }
    this.t = end;
    await flush();
  }
}

function controller(initialRate: number, clock = new FakeClock()) {
  return { clock, rc: new RateController({ initialRate, clock }) };
}

/** Sends `count` batches of `keys` one after the other, as the pacer lets them through. */
async function sendMany(rc: RateController, clock: FakeClock, count: number, keys: number): Promise<SendTicket[]> {
  const tickets: SendTicket[] = [];
  for (let i = 0; i < count; i++) {
    const pending = rc.acquire(keys).then((t) => tickets.push(t));
    while (tickets.length <= i) await clock.advance(1);
    await pending;
  }
  return tickets;
}

describe('RateController: pacing', () => {
  it('lets batches through one at a time, each after the keys before it at the rate', async () => {
    // GIVEN a controller at 1000 keys/s
    const { clock, rc } = controller(1000);

    // WHEN three batches ask at once
    const tickets = Promise.all([rc.acquire(500), rc.acquire(500), rc.acquire(250)]);
    await clock.advance(2000);

    // THEN they go at 0, 500 and 1000 ms, and each ticket counts the keys sent before it
    expect((await tickets).map((t) => [t.at, t.sentBefore, t.keys])).toEqual([
      [0, 0, 500],
      [500, 500, 500],
      [1000, 1000, 250],
    ]);
  });

  it('lets a stream queue only about a second of sending ahead of the pacer', async () => {
    // GIVEN a controller at 1000 keys/s with one batch of 1000 sent and another waiting behind it
    const { clock, rc } = controller(1000);
    await rc.acquire(1000);
    void rc.acquire(1000);
    let room = false;

    // WHEN the stream asks for room to queue a third
    const asked = rc.roomToQueue().then(() => (room = true));

    // THEN it waits while two seconds of keys are ahead of it, and gets room once the second batch is sent
    await clock.advance(900);
    expect(room).toBe(false);
    await clock.advance(200);
    await asked;
    expect(room).toBe(true);
  });
});

describe('RateController: slow start', () => {
  it('does not grow while the pacer held nothing back', async () => {
    // GIVEN a controller whose first batch did not have to wait
    const { rc } = controller(1000);
    await rc.acquire(100);

    // WHEN the batch succeeds
    rc.onSuccess(100);

    // THEN the rate is unchanged
    expect(rc.currentRate).toBe(1000);
  });

  it('doubles the rate per second of sending that had to wait for the pacer, once per wait', async () => {
    // GIVEN a second batch of half a second's keys sent right after a first one, so it waited
    const { clock, rc } = controller(1000);
    await sendMany(rc, clock, 2, 500);

    // WHEN it succeeds
    rc.onSuccess(500);

    // THEN the rate grew by 2^0.5
    expect(rc.currentRate).toBeCloseTo(1000 * Math.SQRT2, 6);

    // AND a further success without another wait does not grow it again
    rc.onSuccess(500);
    expect(rc.currentRate).toBeCloseTo(1000 * Math.SQRT2, 6);
  });
});

describe('RateController: throttles', () => {
  it('at the first throttle, sends at 98 % of the keys admitted so far over the time so far plus a second of burst', async () => {
    // GIVEN ten batches of 100 keys sent at 1000 keys/s (0 to 900 ms), the last of which is throttled
    const { clock, rc } = controller(1000);
    const tickets = await sendMany(rc, clock, 10, 100);

    // WHEN its throttle is reported
    rc.onThrottle(tickets[9]);

    // THEN 900 keys were admitted, plus half the refused batch (the bucket held 0 to 100 of its keys),
    // over 0.9 s + 1 s: 500 keys/s, and the controller sends at 98 % of that
    expect(rc.currentRate).toBeCloseTo(0.98 * ((900 + 50) / 1.9), 6);
    expect(rc.throttles).toBe(1);
  });

  it('at the first throttle, counts from when sending began to drain the partition, not from a slow start before it', async () => {
    // GIVEN two batches of 100 keys half a second apart (a stream listing slowly, before its split),
    // then ten batches at 1000 keys/s from 1 s to 1.9 s, the last of which is throttled
    const { clock, rc } = controller(1000);
    await rc.acquire(100);
    await clock.advance(500);
    await rc.acquire(100);
    await clock.advance(500);
    const tickets = await sendMany(rc, clock, 10, 100);

    // WHEN its throttle is reported
    rc.onThrottle(tickets[9]);

    // THEN the estimate is the busiest window that ends at the throttle: 900 keys from 1 s, plus half the
    // refused batch, over 0.9 s + 1 s of burst (500 keys/s), where counting from the start gives
    // 1,150 over 2.9 s (397 keys/s); the controller sends at 98 % of it
    expect(rc.currentRate).toBeCloseTo(0.98 * ((900 + 50) / 1.9), 6);
  });

  it('measures the rate between two throttles at least a second apart and sends just under it', async () => {
    // GIVEN a first throttle at 900 ms (as above), then twelve batches of 100 keys at the new rate
    const { clock, rc } = controller(1000);
    const first = (await sendMany(rc, clock, 10, 100))[9];
    rc.onThrottle(first);
    const after = await sendMany(rc, clock, 12, 100);
    const second = after[11];
    expect(second.at - first.at).toBeGreaterThan(2000);

    // WHEN the twelfth is throttled too
    rc.onThrottle(second);

    // THEN the partition admitted the eleven batches between the two throttled ones (1,100 keys) in that time,
    // and the controller sends at 98 % of that
    const seconds = (second.at - first.at) / 1000;
    expect(rc.currentRate).toBeCloseTo(0.98 * (1100 / seconds), 6);
  });

  it('leaves out of the measurement the keys of requests throttled in between', async () => {
    // GIVEN a first throttle at 900 ms, then twelve batches of 100 keys, the sixth of which is throttled
    // before the rate can be measured (too soon to measure: it cuts to 0.7)
    const { clock, rc } = controller(1000);
    const first = (await sendMany(rc, clock, 10, 100))[9];
    rc.onThrottle(first);
    const after = await sendMany(rc, clock, 6, 100);
    rc.onThrottle(after[5]);
    after.push(...(await sendMany(rc, clock, 20, 100)));
    const second = after[25];
    expect(second.at - first.at).toBeGreaterThan(3000);

    // WHEN the last one is throttled
    rc.onThrottle(second);

    // THEN the measurement counts the 24 admitted batches between the first and the last throttle, not the refused one
    const seconds = (second.at - first.at) / 1000;
    expect(rc.currentRate).toBeCloseTo(0.98 * (2400 / seconds), 6);
  });

  it('cuts the rate to 0.7 on a throttle too soon after another to measure, and probes up from there', async () => {
    // GIVEN a controller just throttled for the first time
    const { clock, rc } = controller(1000);
    const tickets = await sendMany(rc, clock, 10, 100);
    rc.onThrottle(tickets[9]);
    const afterFirst = rc.currentRate;

    // WHEN a request sent after that cut is throttled 300 ms later
    const next = await sendMany(rc, clock, 1, 100);
    await clock.advance(300);
    rc.onThrottle(next[0]);

    // THEN the rate is cut to 0.7
    expect(rc.currentRate).toBeCloseTo(afterFirst * 0.7, 6);

    // AND each success probes past it by 2 % of the cut rate's measure (rate / 0.98) per second of sending
    const cut = rc.currentRate;
    rc.onSuccess(100);
    expect(rc.currentRate).toBeCloseTo(cut + (cut / 0.98) * 0.02 * (100 / cut), 6);
  });

  it('probes past the first throttle\'s estimate by 2 % of it per second of sending', async () => {
    // GIVEN a controller throttled once: its rate is an estimate, not measured between two throttles
    const { clock, rc } = controller(1000);
    const tickets = await sendMany(rc, clock, 10, 100);
    rc.onThrottle(tickets[9]);
    const estimate = rc.currentRate / 0.98;

    // WHEN a batch of 100 keys succeeds
    const before = rc.currentRate;
    rc.onSuccess(100);

    // THEN the rate grew by 2 % of the estimate per second of that batch at the rate
    expect(rc.currentRate).toBeCloseTo(before + estimate * 0.02 * (100 / before), 6);
  });

  it('probes a quarter as steeply within 5 % of a rate measured between two throttles, and steeply again past that', async () => {
    // GIVEN a rate measured between two throttles more than two seconds apart
    const { clock, rc } = controller(1000);
    const first = (await sendMany(rc, clock, 10, 100))[9];
    rc.onThrottle(first);
    const second = (await sendMany(rc, clock, 12, 100))[11];
    rc.onThrottle(second);
    const measured = rc.currentRate / 0.98;

    // WHEN a batch of 100 keys succeeds
    let before = rc.currentRate;
    rc.onSuccess(100);

    // THEN the rate grew by 0.5 % of the measurement per second of that batch at the rate
    expect(rc.currentRate).toBeCloseTo(before + measured * 0.005 * (100 / before), 6);

    // AND once the rate is 5 % past the measurement with no throttle (the partition grew), by 2 %
    while (rc.currentRate < measured * 1.05) rc.onSuccess(100);
    before = rc.currentRate;
    rc.onSuccess(100);
    expect(rc.currentRate).toBeCloseTo(before + measured * 0.02 * (100 / before), 6);
  });

  it('does not cut again for a throttled request sent before the last cut, but counts it', async () => {
    // GIVEN two requests sent one after the other, the second of which was throttled
    const { clock, rc } = controller(1000);
    const [early, late] = await sendMany(rc, clock, 2, 100);
    await clock.advance(20);
    rc.onThrottle(late);
    const afterCut = rc.currentRate;

    // WHEN the first, sent before that cut, is throttled too
    rc.onThrottle(early);

    // THEN the rate is not cut again, though the throttle is counted
    expect(rc.currentRate).toBe(afterCut);
    expect(rc.throttles).toBe(2);
  });

  it('never cuts below its minimum rate', async () => {
    // GIVEN a controller close to its floor
    const clock = new FakeClock();
    const rc = new RateController({ initialRate: 60, minRate: 50, clock });

    // WHEN it is throttled many times, each time for a request sent after the last cut
    for (let i = 0; i < 20; i++) {
      const [ticket] = await sendMany(rc, clock, 1, 1);
      await clock.advance(5);
      rc.onThrottle(ticket);
    }

    // THEN it stays at the floor
    expect(rc.currentRate).toBe(50);
  });

  it('makes the next send wait after a throttle, so the partition can refill one batch', async () => {
    // GIVEN a controller just throttled for the first time (now about 490 keys/s, batches of 100)
    const { clock, rc } = controller(1000);
    const tickets = await sendMany(rc, clock, 10, 100);
    rc.onThrottle(tickets[9]);
    const waitMs = (rc.batchKeys() / rc.currentRate) * 1000;

    // WHEN the next key asks to be sent
    let sent = false;
    const waiting = rc.acquire(1).then(() => (sent = true));

    // THEN it waits one batch at the new rate
    await clock.advance(waitMs - 10);
    expect(sent).toBe(false);
    await clock.advance(20);
    await waiting;
    expect(sent).toBe(true);
  });
});

describe('RateController: batch size', () => {
  it('asks for a tenth of a second of keys before the rate is known and a quarter after, 100 to 1,000, in steps of 50', async () => {
    // GIVEN controllers at several rates
    // THEN before any throttle a batch is 0.1 s of the rate, within 100..1,000
    expect(controller(3500).rc.batchKeys()).toBe(350);
    expect(controller(500).rc.batchKeys()).toBe(100);
    expect(controller(50_000).rc.batchKeys()).toBe(1000);

    // AND once a throttle has measured the rate, 0.25 s of it
    const { clock, rc } = controller(20_000);
    const tickets = await sendMany(rc, clock, 10, 1000);
    rc.onThrottle(tickets[9]);
    expect(rc.batchKeys()).toBe(Math.min(1000, Math.round((rc.currentRate * 0.25) / 50) * 50));
    expect(rc.batchKeys()).toBeGreaterThan(Math.round((rc.currentRate * 0.1) / 50) * 50);
  });
});

/**
 * An early first page is taken once, only by a listing of the whole scope
 * from its start, and carries the request's outcome, error included.
 */
import { FirstPages } from '../../../lambda/engine/listing/first-pages';

describe('FirstPages', () => {
  it('gives the early page to the first listing of the whole scope, once', async () => {
    // GIVEN an early page asked for scope "p/"
    const asked: string[] = [];
    const pages = new FirstPages(async (range) => {
      asked.push(range.prefix);
      return `page of ${range.prefix}`;
    });
    pages.start('p/');

    // WHEN listings ask for it THEN only the whole scope's first listing gets it, and only once
    expect(pages.take({ prefix: 'p/', after: 'p/m' }, {})).toBeUndefined();
    expect(pages.take({ prefix: 'p/', through: 'p/m' }, {})).toBeUndefined();
    expect(pages.take({ prefix: 'p/' }, { keyMarker: 'p/a', versionIdMarker: 'v' })).toBeUndefined();
    expect(pages.take({ prefix: 'q/' }, {})).toBeUndefined();
    await expect(pages.take({ prefix: 'p/' }, {})).resolves.toBe('page of p/');
    expect(pages.take({ prefix: 'p/' }, {})).toBeUndefined();
    expect(asked).toEqual(['p/']);
  });

  it('hands the request\'s error to the listing that takes it', async () => {
    // GIVEN an early page whose request failed
    const pages = new FirstPages<string>(async () => {
      throw new Error('AccessDenied');
    });
    pages.start('');
    // WHEN the stream takes it THEN it sees the error, as if it had listed itself
    await expect(pages.take({ prefix: '' }, {})).rejects.toThrow('AccessDenied');
  });

  it('lets a dropped page fail without an unhandled rejection, and gives it to nobody', async () => {
    // GIVEN an early page that fails after its scope was dropped (discovery split it)
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      let fail!: (e: Error) => void;
      const pages = new FirstPages<string>(() => new Promise((_resolve, reject) => (fail = reject)));
      pages.start('');
      pages.drop('');
      fail(new Error('SlowDown'));
      await new Promise((r) => setImmediate(r));
      // THEN nothing is left unhandled, and no listing takes the dropped page
      expect(unhandled).not.toHaveBeenCalled();
      expect(pages.take({ prefix: '' }, {})).toBeUndefined();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('aborts the request of a page dropped or never taken, and every one when the run stops, but not one taken', () => {
    // GIVEN early pages whose requests record their abort signals
    const signals = new Map<string, AbortSignal>();
    const stop = new AbortController();
    const pages = new FirstPages<string>((range, signal) => {
      signals.set(range.prefix, signal);
      return new Promise(() => undefined);
    }, stop.signal);
    pages.start('dropped/');
    pages.start('taken/');
    pages.start('left/');

    // WHEN one is dropped (its scope was split) THEN only its request is aborted
    pages.drop('dropped/');
    expect([...signals].map(([p, s]) => [p, s.aborted])).toEqual([['dropped/', true], ['taken/', false], ['left/', false]]);

    // WHEN one is taken and the pass ends THEN the one left is aborted, the taken one still runs
    expect(pages.take({ prefix: 'taken/' }, {})).toBeDefined();
    pages.close();
    expect(signals.get('left/')!.aborted).toBe(true);
    expect(signals.get('taken/')!.aborted).toBe(false);

    // WHEN the run stops THEN the taken page's request is aborted too, and a page asked for after it starts aborted
    stop.abort();
    expect(signals.get('taken/')!.aborted).toBe(true);
    pages.start('late/');
    expect(signals.get('late/')!.aborted).toBe(true);
  });
});

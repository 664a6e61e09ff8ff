import fc from 'fast-check';
import { compareKeys } from '../../lambda/engine/listing/key-order';
import {
  boundResumeToken,
  checkResumeToken,
  MAX_RESUME_TOKEN_BYTES,
  ResumeTokenError,
  runIdentity,
  type ResumeToken,
  type StreamToken,
} from '../../lambda/engine/resume-token';

const PURGE = runIdentity({ bucket: 'bkt', mode: 'purge', dryRun: false, scopes: [''] });
const RETAIN = runIdentity({ bucket: 'bkt', mode: 'retain', dryRun: false, scopes: [''], policy: { keepNoncurrentVersions: 1 } });

function token(overrides: Partial<ResumeToken> = {}): ResumeToken {
  return {
    v: 2,
    ...PURGE,
    pass: 1,
    elapsedMs: 10,
    counts: { listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 },
    passStart: { listed: 0, deleted: 0 },
    errors: [],
    streams: [{ s: 0 }],
    ...overrides,
  };
}

const bytes = (t: ResumeToken) => Buffer.byteLength(JSON.stringify(t), 'utf8');

describe('checkResumeToken', () => {
  test('accepts a token of the same run', () => {
    expect(checkResumeToken(token(), PURGE, 1)).toEqual(token());
  });

  test.each([
    ['bucket', runIdentity({ bucket: 'other', mode: 'purge', dryRun: false, scopes: [''] })],
    ['mode', { ...RETAIN, policy: null }],
    ['dryRun', runIdentity({ bucket: 'bkt', mode: 'purge', dryRun: true, scopes: [''] })],
    ['prefixes', runIdentity({ bucket: 'bkt', mode: 'purge', dryRun: false, scopes: ['logs/'] })],
  ])('refuses a token of another run, naming the field that differs: %s', (field, expected) => {
    const refused = () => checkResumeToken(token(), expected, 1);
    expect(refused).toThrow(ResumeTokenError);
    expect(refused).toThrow(new RegExp(`belongs to another run: ${field} differs`));
    try {
      refused();
    } catch (err) {
      expect((err as ResumeTokenError).field).toBe(field);
    }
  });

  test.each([
    ['policy.keepNoncurrentVersions', { keepNoncurrentVersions: 2 }],
    ['policy.noncurrentVersionsOlderThanMs', { keepNoncurrentVersions: 1, noncurrentVersionsOlderThanMs: 1000 }],
    ['policy.expiredDeleteMarkers', { keepNoncurrentVersions: 1, expiredDeleteMarkers: true }],
    ['policy.exclude', { keepNoncurrentVersions: 1, exclude: ['tmp/'] }],
  ])('refuses a retention token written under another policy: %s', (field, policy) => {
    const retained = token({ ...RETAIN });
    const other = runIdentity({ bucket: 'bkt', mode: 'retain', dryRun: false, scopes: [''], policy });
    expect(() => checkResumeToken(retained, other, 1)).toThrow(new RegExp(`${field.replace('.', '\\.')} differs`));
  });

  test('refuses a version 1 token, which carried entries, saying what to do', () => {
    expect(() => checkResumeToken({ ...token(), v: 1 }, PURGE, 1)).toThrow(/format version 1.*Start the run again without the token/);
  });

  test.each([
    ['not an object', 'a string'],
    ['a stream without a prefix index', token({ streams: [{} as StreamToken] })],
    ['a stream for a prefix the run does not list', token({ streams: [{ s: 3 }] })],
    ['a key marker without its version id', token({ streams: [{ s: 0, k: 'a' } as StreamToken] })],
    ['negative counts', token({ counts: { ...token().counts, deleted: -1 } })],
  ])('refuses a malformed token: %s', (_label, value) => {
    expect(() => checkResumeToken(value, PURGE, 1)).toThrow(/the resume token is not valid/);
  });
});

/** Keys a stream would still list in its prefix index `scope`: after its position, inside its range. */
function covers(s: StreamToken, scope: number, key: string): boolean {
  if (s.n !== undefined) return scope >= s.s && scope < s.s + s.n;
  if (s.s !== scope) return false;
  if (s.a !== undefined && compareKeys(key, s.a) <= 0) return false;
  if (s.t !== undefined && compareKeys(key, s.t) > 0) return false;
  return s.k === undefined || compareKeys(key, s.k) >= 0;
}

/** A key of any length up to `max`: a short random head, padded (fast-check favours short strings). */
const longKey = (max: number) => fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.nat({ max })).map(([head, pad]) => head + '-'.repeat(Math.max(0, pad - head.length)));

/** Sorted, non-overlapping ranges of up to three prefixes, some started: the shape the engine writes. */
const streamsArbitrary = fc
  .array(
    fc.record({
      scope: fc.integer({ min: 0, max: 2 }),
      boundary: longKey(300),
      position: fc.option(longKey(1024), { nil: undefined }),
      keep: fc.boolean(),
    }),
    { maxLength: 64 },
  )
  .map((raw) => {
    const streams: StreamToken[] = [];
    for (let scope = 0; scope <= 2; scope++) {
      const bounds = [...new Set(raw.filter((r) => r.scope === scope).map((r) => r.boundary))].sort(compareKeys);
      const rows = raw.filter((r) => r.scope === scope);
      let after: string | undefined;
      bounds.forEach((through, i) => {
        const row = rows[i];
        if (row.keep) {
          const k = row.position !== undefined && compareKeys(row.position, after ?? '') > 0 && compareKeys(row.position, through) <= 0 ? row.position : undefined;
          streams.push({ s: scope, ...(after !== undefined && { a: after }), t: through, ...(k !== undefined && { k, i: 'v'.repeat(32), q: { v: 1, key: { key: k } } }) });
        }
        after = through;
      });
    }
    return streams;
  });

describe('boundResumeToken', () => {
  test(`keeps every token within ${MAX_RESUME_TOKEN_BYTES} bytes and never drops a key a stream still had to list`, () => {
    fc.assert(
      fc.property(streamsArbitrary, fc.array(longKey(1024), { maxLength: 100 }), (streams, keys) => {
        const errors = keys.map((key) => ({ key, versionId: 'v', code: 'AccessDenied', message: 'x'.repeat(2000) }));
        const bounded = boundResumeToken(token({ streams, errors }));
        expect(bytes(bounded)).toBeLessThanOrEqual(MAX_RESUME_TOKEN_BYTES);
        for (const original of streams) {
          for (const key of [original.k, original.t, ...keys].filter((k): k is string => k !== undefined)) {
            if (covers(original, original.s, key)) expect(bounded.streams.some((b) => covers(b, original.s, key))).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('never drops a key either when the streams come out of key order (a split adds its ranges last)', () => {
    fc.assert(
      fc.property(streamsArbitrary, fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), (sorted, order) => {
        // GIVEN the streams of a stopped run in any order, with keys long enough that they must be compacted
        // (one shared head keeps their order)
        const long = (k: string | undefined) => (k === undefined ? undefined : 'L'.repeat(400) + k);
        const streams = sorted.map((s): StreamToken => ({ ...s, ...(s.a !== undefined && { a: long(s.a) }), ...(s.t !== undefined && { t: long(s.t) }), ...(s.k !== undefined && { k: long(s.k) }) }));
        const shuffled = streams.map((s, i) => ({ s, rank: order[i] })).sort((x, y) => x.rank - y.rank).map((x) => x.s);
        // WHEN the token is bounded
        const bounded = boundResumeToken(token({ streams: shuffled }));
        // THEN every key a stream still had to list is listed by the bounded token
        expect(bytes(bounded)).toBeLessThanOrEqual(MAX_RESUME_TOKEN_BYTES);
        for (const original of streams) {
          for (const key of [original.k, original.t].filter((k): k is string => k !== undefined)) {
            if (covers(original, original.s, key)) expect(bounded.streams.some((b) => covers(b, original.s, key))).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('leaves a token that fits unchanged, and cuts long failure messages', () => {
    const small = token({ streams: [{ s: 0, k: 'a', i: 'v' }], errors: [{ key: 'k', versionId: 'v', code: 'AccessDenied', message: 'm'.repeat(1000) }] });
    const bounded = boundResumeToken(small);
    expect(bounded.streams).toEqual(small.streams);
    expect(bounded.errors[0].message.length).toBe(300);
  });

  test('first merges ranges not started into the range before them, keeping positions', () => {
    const started: StreamToken = { s: 0, t: 'b/', k: 'a/'.padEnd(1500, 'x'), i: 'v' };
    const streams: StreamToken[] = [started, ...Array.from({ length: 60 }, (_, i): StreamToken => ({ s: 0, a: `b${i}`.padEnd(100, '/'), t: `b${i + 1}`.padEnd(100, '/') }))];
    streams[1] = { ...streams[1], a: 'b/' };
    const bounded = boundResumeToken(token({ streams }));
    expect(bytes(bounded)).toBeLessThanOrEqual(MAX_RESUME_TOKEN_BYTES);
    expect(bounded.streams[0]).toMatchObject({ k: started.k, i: 'v' });
  });

  test('with more unfinished prefixes than fit, lists again every prefix from the first unfinished to the last', () => {
    const streams: StreamToken[] = Array.from({ length: 1500 }, (_, i) => ({ s: 2 * i + 1 }));
    const bounded = boundResumeToken(token({ streams }));
    expect(bounded.streams).toEqual([{ s: 1, n: 2999 }]);
    expect(checkResumeToken(bounded, PURGE, 3000)).toBe(bounded);
  });
});

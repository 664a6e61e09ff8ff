import { DURATION_UNIT_MS, parseDuration } from '../../lambda/engine/duration';

describe('parseDuration', () => {
  it.each<[string, number]>([
    ['45s', 45_000],
    ['90m', 90 * 60_000],
    ['12h', 12 * 3_600_000],
    ['30d', 30 * 86_400_000],
    ['1d', DURATION_UNIT_MS.d],
    ['007h', 7 * DURATION_UNIT_MS.h],
  ])('reads %s as %d ms', (text, expected) => {
    // GIVEN a whole number and a unit WHEN parsed THEN it is that many milliseconds
    expect(parseDuration(text)).toBe(expected);
  });

  it('accepts zero, meaning any noncurrent age', () => {
    // GIVEN zero in any unit WHEN parsed THEN it is 0 ms
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('0d')).toBe(0);
  });

  it.each([
    ['a fraction', '1.5d'],
    ['a bare number', '30'],
    ['an unknown unit', '2w'],
    ['an upper-case unit (M could be a month)', '1M'],
    ['a unit alone', 'd'],
    ['a negative number', '-1d'],
    ['a plus sign', '+1d'],
    ['surrounding whitespace', ' 1d '],
    ['a space before the unit', '1 d'],
    ['a combined form', '1d12h'],
    ['an empty string', ''],
    ['a long unit name', '30days'],
  ])('rejects %s (%j) with a message naming the accepted format', (_, text) => {
    // GIVEN text outside the format WHEN parsed THEN the error quotes it and shows examples
    expect(() => parseDuration(text)).toThrow(`Invalid duration ${JSON.stringify(text)}: expected a whole number`);
    expect(() => parseDuration(text)).toThrow(/"45s", "90m", "12h", "30d"/);
  });

  it('rejects a non-string value', () => {
    // GIVEN a number where text was expected (e.g. from untyped JSON) WHEN parsed THEN it is rejected
    expect(() => parseDuration(30 as unknown as string)).toThrow(/Invalid duration 30/);
  });

  it('rejects a duration too large to be exact in milliseconds', () => {
    // GIVEN more days than a safe integer of milliseconds holds WHEN parsed THEN it is rejected
    expect(() => parseDuration('999999999999d')).toThrow(/too large/);
  });
});

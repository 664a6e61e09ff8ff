/** Milliseconds in one unit of each duration suffix {@link parseDuration} accepts. */
export const DURATION_UNIT_MS = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

/** A suffix accepted by {@link parseDuration}: seconds, minutes, hours or days. */
export type DurationUnit = keyof typeof DURATION_UNIT_MS;

const DURATION_PATTERN = /^(\d+)([smhd])$/;

/**
 * Parses a duration such as `"45s"`, `"90m"`, `"12h"` or `"30d"` into milliseconds.
 *
 * The format is strict: a non-negative whole number immediately followed by one
 * lower-case unit (`s`, `m`, `h`, `d`).
 * - `"0s"` (or `"0d"`) is accepted and means zero: "any noncurrent age".
 * - Fractions (`"1.5d"`) are rejected; write `"36h"` instead.
 * - Bare numbers (`"30"`) are rejected because the unit would be a guess.
 * - Upper-case units are rejected so that `"1M"` is never read as minutes
 *   when a month was meant.
 * - Whitespace, signs and combined forms (`"1d12h"`) are rejected.
 *
 * @throws Error naming the offending text and the accepted format.
 */
export function parseDuration(text: string): number {
  const match = typeof text === 'string' ? DURATION_PATTERN.exec(text) : null;
  if (match === null) {
    throw new Error(
      `Invalid duration ${JSON.stringify(text)}: expected a whole number followed by one unit ` +
        `s, m, h or d (for example "45s", "90m", "12h", "30d").`,
    );
  }
  const amount = Number(match[1]);
  const unit = match[2] as DurationUnit;
  const milliseconds = amount * DURATION_UNIT_MS[unit];
  if (!Number.isSafeInteger(milliseconds)) {
    throw new Error(`Invalid duration ${JSON.stringify(text)}: too large.`);
  }
  return milliseconds;
}

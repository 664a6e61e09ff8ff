import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../../lambda/engine/duration';

/** Parses a whole number within bounds, for commander options; errors say the allowed range. */
export function integerOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number ${range}, got "${value}".`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be ${range}, got ${n}.`);
    return n;
  };
}

/** Parses an endpoint URL: http or https, with a host; says what is missing. */
export function endpointOption(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '') return value;
  if (/^[^:/]+(:\d+)?(\/.*)?$/.test(value) || /^[\w.-]+:\d+/.test(value)) {
    throw new InvalidArgumentError(`--endpoint needs a scheme: use http://${value} (or https://${value}), got "${value}".`);
  }
  throw new InvalidArgumentError(`--endpoint must be an http:// or https:// URL such as http://127.0.0.1:9000, got "${value}".`);
}

/** Parses `45s`, `90m`, `12h`, `30d` into milliseconds. */
export function durationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Parses an ISO-8601 instant. */
export function instantOption(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(`expected an ISO-8601 date or time such as 2027-01-31 or 2027-01-31T12:00:00Z, got "${value}".`);
  }
  return date;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

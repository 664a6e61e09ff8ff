import type { DeleteFailure } from './types';

/** A number with thousands separators. */
export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** `n thing` or `n things`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

/** Shortens `text` to `max` characters, cutting out the middle. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}

/** Longest key shown for a failure; longer keys are shortened in the middle. */
const MAX_KEY_CHARS = 120;
/** Longest error message shown for a failure. */
const MAX_MESSAGE_CHARS = 160;

/** One failure in a sentence: key, version, code and a short message. */
export function describeFailure(f: DeleteFailure): string {
  const version = f.versionId ? ` (version ${shorten(f.versionId, 40)})` : '';
  const message = f.message && f.message !== f.code ? ` - ${shorten(f.message, MAX_MESSAGE_CHARS)}` : '';
  return `${JSON.stringify(shorten(f.key, MAX_KEY_CHARS))}${version}: ${f.code}${message}`;
}

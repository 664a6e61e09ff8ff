/**
 * S3 sorts keys by their UTF-8 bytes. JavaScript compares UTF-16 code units,
 * which agrees with UTF-8 byte order except when a surrogate (U+D800–U+DFFF)
 * meets a code unit in U+E000–U+FFFF: UTF-16 puts the astral character first,
 * UTF-8 puts it last. Keys free of such code units take the native fast path.
 */

const NEEDS_CODE_POINT_ORDER = /[\uD800-\uFFFF]/;

/** True when the key has a code unit for which UTF-16 and UTF-8 order can disagree. */
export function needsCodePointOrder(key: string): boolean {
  return NEEDS_CODE_POINT_ORDER.test(key);
}

/** Moves surrogates above U+E000–U+FFFF so that code-unit order equals code-point order. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function compareByCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A key prepared for repeated comparisons. */
export interface OrderedKey {
  readonly key: string;
  readonly slowOrder: boolean;
}

export function orderedKey(key: string): OrderedKey {
  return { key, slowOrder: needsCodePointOrder(key) };
}

/** Negative, zero or positive as `a` sorts before, with or after `b` in S3 (UTF-8 byte) order. */
export function compareOrderedKeys(a: OrderedKey, b: OrderedKey): number {
  if (a.slowOrder || b.slowOrder) return compareByCodePoint(a.key, b.key);
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function compareKeys(a: string, b: string): number {
  return compareOrderedKeys(orderedKey(a), orderedKey(b));
}

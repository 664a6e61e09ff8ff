import { randomBytes } from 'node:crypto';

/**
 * Version ids are opaque 32-character strings, as on S3. Internally every
 * version has a sequence number that grows with time; the id is a reversible
 * scramble of it, so clients cannot lean on ids sorting by age while the model
 * can still locate the position of an id whose version has been deleted.
 */

export const NULL_VERSION_ID = 'null';

const BASE64URL = /^[A-Za-z0-9_-]{32}$/;
const HALF_BITS = 24;
const HALF_MASK = 0xffffff;
const ROUND_KEYS = [0x5bd1e9, 0x1b873b, 0xc2b2ae];
// One random tail per process makes ids from another server instance invalid instead of aliasing.
const INSTANCE_TAIL = randomBytes(18).toString('base64url');

function roundFunction(half: number, key: number): number {
  return (Math.imul(half ^ key, 0x9e3779b1) >>> 7) & HALF_MASK;
}

function scramble(seq: number): [number, number] {
  let left = Math.floor(seq / 2 ** HALF_BITS) & HALF_MASK;
  let right = seq & HALF_MASK;
  for (const key of ROUND_KEYS) [left, right] = [right, left ^ roundFunction(right, key)];
  return [left, right];
}

function unscramble(left: number, right: number): number {
  for (let i = ROUND_KEYS.length - 1; i >= 0; i--) [left, right] = [right ^ roundFunction(left, ROUND_KEYS[i]), left];
  return left * 2 ** HALF_BITS + right;
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Four base64url characters for 24 bits (the same text Buffer's base64url gives for 3 bytes). */
function base64url24(bits: number): string {
  return (
    BASE64URL_ALPHABET[(bits >>> 18) & 63] +
    BASE64URL_ALPHABET[(bits >>> 12) & 63] +
    BASE64URL_ALPHABET[(bits >>> 6) & 63] +
    BASE64URL_ALPHABET[bits & 63]
  );
}

/** The public id of the version with sequence number `seq` (an integer below 2^48). */
export function encodeVersionId(seq: number): string {
  const [left, right] = scramble(seq);
  return base64url24(left) + base64url24(right) + INSTANCE_TAIL;
}

/** The sequence number behind a non-null id, or undefined when the id is not one this model issued. */
export function decodeVersionId(id: string): number | undefined {
  if (!BASE64URL.test(id) || !id.endsWith(INSTANCE_TAIL)) return undefined;
  const bytes = Buffer.from(id.slice(0, 8), 'base64url');
  return unscramble(bytes.readUIntBE(0, 3), bytes.readUIntBE(3, 3));
}

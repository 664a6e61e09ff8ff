/**
 * S3 orders keys by their UTF-8 bytes. JavaScript compares UTF-16 code
 * units, which disagrees for characters above U+FFFF, so compare bytes.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

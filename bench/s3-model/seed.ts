import { createHash } from 'node:crypto';
import { compareOrderedKeys } from './key-order';
import { KeyVersions, type NewVersion } from './key-versions';
import { isValidBucketName, type ModelStore } from './store';

/** How to fill a bucket directly in memory. */
export interface SeedSpec {
  readonly bucket: string;
  /** Number of ordinary keys, spread round-robin over the prefixes. */
  readonly keys: number;
  /** Object versions per ordinary key. Default 1. */
  readonly versionsPerKey?: number;
  /** Number of prefixes `p00/` … ; 0 puts keys at the top level. Default 1. */
  readonly prefixes?: number;
  /** Every n-th key (in key order) also gets a delete marker as its newest version. */
  readonly deleteMarkerEvery?: number;
  /** Versions of one extra key, `hotKey`, to model a hot key. */
  readonly hotKeyVersions?: number;
  readonly hotKey?: string;
  /** Object size in bytes. Default 1024. */
  readonly size?: number;
  /** Age step between consecutive versions of a key; the newest is "now". Default 1000 ms. */
  readonly versionIntervalMs?: number;
  /** Bucket tags, e.g. { "aws-cdk:auto-delete-objects": "true" } for the CDK handler. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Bucket policy JSON text. */
  readonly policy?: string;
}

export interface SeedResult {
  readonly bucket: string;
  readonly keys: number;
  readonly objectVersions: number;
  readonly deleteMarkers: number;
  readonly totalVersions: number;
  readonly ms: number;
}

const DEFAULT_HOT_KEY = 'hot/object';

function digits(n: number): number {
  return String(Math.max(0, n - 1)).length;
}

/** Builds flat one-byte key strings from a byte template, avoiding cons-string overhead per key. */
class KeyWriter {
  private readonly buffer: Buffer;
  private readonly digitsAt: number;

  constructor(
    head: string,
    private readonly width: number,
  ) {
    this.buffer = Buffer.from(head + '0'.repeat(width), 'latin1');
    this.digitsAt = Buffer.byteLength(head, 'latin1');
  }

  key(n: number): string {
    let value = n;
    for (let i = this.digitsAt + this.width - 1; i >= this.digitsAt; i--) {
      this.buffer[i] = 48 + (value % 10);
      value = Math.floor(value / 10);
    }
    return this.buffer.toString('latin1');
  }
}

function timeline(count: number, withMarker: boolean, now: number, intervalMs: number, base: Omit<NewVersion, 'lastModifiedMs'>): NewVersion[] {
  const total = count + (withMarker ? 1 : 0);
  const versions: NewVersion[] = [];
  for (let i = 0; i < total; i++) {
    const lastModifiedMs = now - (total - 1 - i) * intervalMs;
    const isMarker = withMarker && i === total - 1;
    versions.push(isMarker ? { lastModifiedMs, size: 0, etagId: 0, isDeleteMarker: true, isNullVersion: false } : { ...base, lastModifiedMs });
  }
  return versions;
}

function checkSpec(spec: SeedSpec): void {
  const counts: Array<[string, number | undefined]> = [
    ['keys', spec.keys],
    ['versionsPerKey', spec.versionsPerKey],
    ['prefixes', spec.prefixes],
    ['deleteMarkerEvery', spec.deleteMarkerEvery],
    ['hotKeyVersions', spec.hotKeyVersions],
    ['size', spec.size],
  ];
  for (const [name, value] of counts) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new Error(`${name} must be a non-negative integer`);
  }
  if (typeof spec.bucket !== 'string' || !isValidBucketName(spec.bucket)) throw new Error(`invalid bucket name ${JSON.stringify(spec.bucket)}`);
  if (!Number.isInteger(spec.keys)) throw new Error('keys is required');
}

function insertSorted(entries: KeyVersions[], entry: KeyVersions): void {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareOrderedKeys(entries[mid], entry) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo < entries.length && compareOrderedKeys(entries[lo], entry) === 0) {
    throw new Error(`hotKey ${entry.key} collides with a seeded key`);
  }
  entries.splice(lo, 0, entry);
}

/** Creates (or replaces) a versioned bucket and fills it in memory. */
export function seedBucket(store: ModelStore, spec: SeedSpec): SeedResult {
  checkSpec(spec);
  const started = Date.now();
  const versionsPerKey = spec.versionsPerKey ?? 1;
  const prefixCount = spec.prefixes ?? 1;
  const size = spec.size ?? 1024;
  const now = store.now();
  const interval = spec.versionIntervalMs ?? 1000;
  const etagId = store.etags.idOf(`"${createHash('md5').update(Buffer.alloc(size)).digest('hex')}"`);
  const base = { size, etagId, isDeleteMarker: false, isNullVersion: false };
  const plain = timeline(versionsPerKey, false, now, interval, base);
  const marked = timeline(versionsPerKey, true, now, interval, base);

  const entries: KeyVersions[] = [];
  let objectVersions = 0;
  let deleteMarkers = 0;
  const groups = Math.max(1, prefixCount);
  const perGroupMax = Math.ceil(spec.keys / groups);
  for (let group = 0; group < groups; group++) {
    const head = prefixCount === 0 ? 'obj-' : `p${String(group).padStart(Math.max(2, digits(prefixCount)), '0')}/obj-`;
    const writer = new KeyWriter(head, Math.max(6, digits(perGroupMax)));
    const inGroup = Math.floor(spec.keys / groups) + (group < spec.keys % groups ? 1 : 0);
    for (let n = 0; n < inGroup; n++) {
      const withMarker = spec.deleteMarkerEvery !== undefined && spec.deleteMarkerEvery > 0 && (entries.length + 1) % spec.deleteMarkerEvery === 0;
      const versions = withMarker ? marked : plain;
      if (versions.length === 0) continue;
      entries.push(KeyVersions.withVersions(writer.key(n), store.allocateSeq(versions.length), versions));
      objectVersions += versionsPerKey;
      if (withMarker) deleteMarkers++;
    }
  }
  const hotVersions = spec.hotKeyVersions ?? 0;
  if (hotVersions > 0) {
    const hot = KeyVersions.withVersions(spec.hotKey ?? DEFAULT_HOT_KEY, store.allocateSeq(hotVersions), timeline(hotVersions, false, now, interval, base));
    insertSorted(entries, hot);
    objectVersions += hotVersions;
  }
  const bucket = store.replaceBucket(spec.bucket);
  bucket.versioning = 'Enabled';
  if (spec.tags) bucket.tags = Object.entries(spec.tags).map(([key, value]) => ({ key, value }));
  if (spec.policy !== undefined) bucket.policy = spec.policy;

  bucket.loadSorted(entries, objectVersions, deleteMarkers);

  return {
    bucket: spec.bucket,
    keys: bucket.keys.size,
    objectVersions,
    deleteMarkers,
    totalVersions: objectVersions + deleteMarkers,
    ms: Date.now() - started,
  };
}

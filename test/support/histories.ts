import { DeleteObjectCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Time-based version histories for retention tests, written in real time.
 *
 * A history is a pattern per key, one character per step:
 * - `P` puts a new version (body `<key>#<step>`),
 * - `D` writes a delete marker,
 * - `R` permanently deletes the key's oldest remaining version (by version id),
 * - `.` does nothing.
 *
 * Every step starts just after a whole second of the clock and only once the
 * previous step has finished, so entries written in different steps always
 * carry different LastModified seconds on a server with 1-second resolution
 * (moto). Keys and buckets are written in parallel within a step. The times
 * are then recorded as the server reports them, from a plain listing.
 */
export type Pattern = string;

/** A patterns-per-key history for each bucket. */
export type TimelinePlan = Record<string, Record<string, Pattern>>;

/** An entry written by a timeline, with the LastModified the server reports. */
export interface RecordedEntry {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly step: number;
  readonly lastModifiedMs: number;
  readonly size: number;
}

/** The earliest and latest LastModified (epoch ms) of the entries one step wrote. */
export interface StepTimes {
  readonly min: number;
  readonly max: number;
}

/** An entry as a plain listing reports it, with time and size. */
export interface ListedVersion {
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly isLatest: boolean;
  readonly lastModifiedMs: number;
  readonly size: number;
}

/** `key@versionId`, the identity the tests compare. */
export const identity = (e: { key: string; versionId: string }): string => `${e.key}@${e.versionId}`;

/** Sorted identities of entries. */
export const identities = (entries: ReadonlyArray<{ key: string; versionId: string }>): string[] => entries.map(identity).sort();

/**
 * Lists every version and delete marker with LastModified and size, page by
 * page as the server returns them (versions of a page before its delete
 * markers, as the SDK splits them).
 */
export async function listVersions(client: S3Client, bucket: string, prefix?: string): Promise<ListedVersion[]> {
  const all: ListedVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const out = await client.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
    );
    for (const v of out.Versions ?? []) {
      all.push({
        key: v.Key!,
        versionId: v.VersionId ?? 'null',
        isDeleteMarker: false,
        isLatest: v.IsLatest === true,
        lastModifiedMs: v.LastModified!.getTime(),
        size: v.Size ?? 0,
      });
    }
    for (const m of out.DeleteMarkers ?? []) {
      all.push({
        key: m.Key!,
        versionId: m.VersionId ?? 'null',
        isDeleteMarker: true,
        isLatest: m.IsLatest === true,
        lastModifiedMs: m.LastModified!.getTime(),
        size: 0,
      });
    }
    if (!out.IsTruncated) return all;
    keyMarker = out.NextKeyMarker;
    versionIdMarker = out.NextVersionIdMarker;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let task = queue.shift(); task; task = queue.shift()) await task();
    }),
  );
}

/** A written history and the times the server recorded for it. */
export class Timeline {
  constructor(
    /** Times of each step, over every bucket of the timeline. */
    readonly steps: readonly StepTimes[],
    private readonly entries: ReadonlyMap<string, readonly RecordedEntry[]>,
  ) {}

  /** Every entry written to `bucket` and still there after the timeline (`R` removes some). */
  written(bucket: string): readonly RecordedEntry[] {
    const entries = this.entries.get(bucket);
    if (!entries) throw new Error(`bucket ${bucket} is not part of this timeline`);
    return entries;
  }

  /** The entry `key` got at `step`. */
  entry(bucket: string, key: string, step: number): RecordedEntry {
    const found = this.written(bucket).find((e) => e.key === key && e.step === step);
    if (!found) throw new Error(`${bucket}: ${key} has no entry written at step ${step}`);
    return found;
  }

  /** Identities (`key@versionId`) of the entries `key` got at `steps`. */
  ids(bucket: string, key: string, ...steps: number[]): string[] {
    return steps.map((step) => identity(this.entry(bucket, key, step)));
  }

  /**
   * The `asOf` at which an entry that became noncurrent at or before `step`
   * is old enough for `olderThanMs`, and one that became noncurrent at a
   * later step is not, each by a margin of at least 0.5 s: the latest second
   * `step` wrote, plus `olderThanMs`, plus 0.5 s. Later steps wrote at least
   * one whole second later (the constructor's caller checked).
   */
  cutoff(step: number, olderThanMs: number): Date {
    const times = this.steps[step];
    if (!times || Number.isNaN(times.max)) throw new Error(`no writes at step ${step}`);
    return new Date(times.max + olderThanMs + 500);
  }
}

/**
 * Writes `plan` step by step in real time (see {@link Pattern}), then records
 * the server's LastModified of every entry from a plain listing. Throws when
 * two steps share a LastModified second, or when the listing does not hold
 * exactly what was written.
 */
export async function writeTimeline(client: S3Client, plan: TimelinePlan, parallel = 24): Promise<Timeline> {
  const stepCount = Math.max(0, ...Object.values(plan).flatMap((keys) => Object.values(keys).map((p) => p.length)));
  const written: Array<{ bucket: string; key: string; versionId: string; isDeleteMarker: boolean; step: number }> = [];
  const removed = new Set<string>();
  for (let step = 0; step < stepCount; step++) {
    // Start just after the next whole second, once the previous step is done.
    await sleep(1000 - (Date.now() % 1000) + 30);
    const tasks: Array<() => Promise<void>> = [];
    for (const [bucket, keys] of Object.entries(plan)) {
      for (const [key, pattern] of Object.entries(keys)) {
        const op = pattern[step] ?? '.';
        if (op === 'P') {
          tasks.push(async () => {
            const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key}#${step}` }));
            written.push({ bucket, key, versionId: out.VersionId!, isDeleteMarker: false, step });
          });
        } else if (op === 'D') {
          tasks.push(async () => {
            const out = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
            if (!out.DeleteMarker || !out.VersionId) throw new Error(`${bucket}: no delete marker written for ${key} at step ${step}`);
            written.push({ bucket, key, versionId: out.VersionId, isDeleteMarker: true, step });
          });
        } else if (op === 'R') {
          tasks.push(async () => {
            const oldest = written.find((w) => w.bucket === bucket && w.key === key && !w.isDeleteMarker && !removed.has(identity(w)));
            if (!oldest) throw new Error(`${bucket}: ${key} has no version to remove at step ${step}`);
            await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: oldest.versionId }));
            removed.add(identity(oldest));
          });
        } else if (op !== '.') {
          throw new Error(`unknown step ${JSON.stringify(op)} in pattern ${JSON.stringify(pattern)} of ${key}`);
        }
      }
    }
    await runLimited(tasks, parallel);
  }

  const entries = new Map<string, RecordedEntry[]>();
  const steps: Array<{ min: number; max: number } | undefined> = [];
  for (const bucket of Object.keys(plan)) {
    const listed = new Map((await listVersions(client, bucket)).map((e) => [identity(e), e]));
    const expected = written.filter((w) => w.bucket === bucket && !removed.has(identity(w)));
    if (listed.size !== expected.length) {
      throw new Error(`${bucket}: listed ${listed.size} entries, wrote ${expected.length}`);
    }
    const recorded = expected.map((w): RecordedEntry => {
      const seen = listed.get(identity(w));
      if (!seen || seen.isDeleteMarker !== w.isDeleteMarker) throw new Error(`${bucket}: ${identity(w)} is not listed as written`);
      const times = (steps[w.step] ??= { min: seen.lastModifiedMs, max: seen.lastModifiedMs });
      times.min = Math.min(times.min, seen.lastModifiedMs);
      times.max = Math.max(times.max, seen.lastModifiedMs);
      return { ...w, lastModifiedMs: seen.lastModifiedMs, size: seen.size };
    });
    entries.set(bucket, recorded);
  }
  const defined = steps.flatMap((t, step) => (t ? [{ step, ...t }] : []));
  for (let i = 1; i < defined.length; i++) {
    if (defined[i].min <= defined[i - 1].max) {
      throw new Error(
        `steps ${defined[i - 1].step} and ${defined[i].step} share a LastModified second ` +
          `(${new Date(defined[i - 1].max).toISOString()} >= ${new Date(defined[i].min).toISOString()}); is the server's clock this machine's?`,
      );
    }
  }
  return new Timeline(steps.map((t) => t ?? { min: Number.NaN, max: Number.NaN }), entries);
}

/**
 * Writes `count` versions of `key` one after another (moto loses versions of
 * a key written concurrently) and returns their version ids, oldest first.
 */
export async function putSequentially(client: S3Client, bucket: string, key: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key}#${i}` }));
    ids.push(out.VersionId!);
  }
  return ids;
}

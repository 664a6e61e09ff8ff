import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type PrefixTotals, topLevelPrefix } from './prefix-report';
import type {
  RetentionReportProgress,
  RetentionReportTarget,
  RetentionSampleEntry,
  RetentionTallySnapshot,
} from './contract';
import type { VersionEntry } from '../engine/types';

/** Most top-level prefixes tallied one by one; the rest are folded into {@link OTHER_PREFIXES}. */
export const MAX_TALLIED_PREFIXES = 200;
/** Where prefixes beyond {@link MAX_TALLIED_PREFIXES} are counted. */
export const OTHER_PREFIXES = '(other prefixes)';
/** Selected entries shown in logs (and carried across invocations). */
export const SAMPLE_SIZE = 20;
/** Most selected entries a dry-run report lists, over the whole run. */
export const MAX_REPORT_ENTRIES = 10_000;

const noTotals = (): PrefixTotals => ({ versions: 0, deleteMarkers: 0, bytes: 0 });

/**
 * Tallies selected entries by top-level prefix, bounded in memory and in the
 * size of the continuation payload: at most {@link MAX_TALLIED_PREFIXES}
 * prefixes are counted one by one, later ones together. Keeps the first
 * {@link SAMPLE_SIZE} entries as examples. Restorable from its snapshot, so
 * that a run's tally spans all its invocations.
 */
export class RetentionTally {
  private readonly byPrefix: Record<string, PrefixTotals>;
  private readonly total: PrefixTotals;
  private readonly sample: RetentionSampleEntry[];

  constructor(restore?: RetentionTallySnapshot) {
    this.byPrefix = {};
    for (const [prefix, t] of Object.entries(restore?.byPrefix ?? {})) this.byPrefix[prefix] = { ...t };
    this.total = { ...(restore?.total ?? noTotals()) };
    this.sample = [...(restore?.sample ?? [])];
  }

  /** Counts one selected entry. */
  add(entry: VersionEntry): void {
    let prefix = topLevelPrefix(entry.key);
    if (!(prefix in this.byPrefix) && Object.keys(this.byPrefix).length >= MAX_TALLIED_PREFIXES) prefix = OTHER_PREFIXES;
    const totals = (this.byPrefix[prefix] ??= noTotals());
    for (const t of [totals, this.total]) {
      if (entry.isDeleteMarker) t.deleteMarkers++;
      else {
        t.versions++;
        t.bytes += entry.size;
      }
    }
    if (this.sample.length < SAMPLE_SIZE) this.sample.push(toSampleEntry(entry));
  }

  snapshot(): RetentionTallySnapshot {
    return { byPrefix: { ...this.byPrefix }, total: { ...this.total }, sample: [...this.sample] };
  }
}

/** An entry as logs and reports show it. */
function toSampleEntry(entry: VersionEntry): RetentionSampleEntry {
  return {
    key: entry.key,
    versionId: entry.versionId,
    isDeleteMarker: entry.isDeleteMarker,
    lastModified: Number.isNaN(entry.lastModified.getTime()) ? '' : entry.lastModified.toISOString(),
    size: entry.size,
  };
}

/**
 * Key stem of a run's report objects:
 * `<prefix><bucket>/<asOf, ISO-8601>-<run id>`. The summary is `<stem>.json`,
 * the entry files `<stem>.entries-<n>.ndjson`.
 */
export function reportStem(target: RetentionReportTarget, bucket: string, asOf: number, runId: string): string {
  const instant = new Date(asOf).toISOString().replace(/[:]/g, '-');
  return `${target.prefix}${bucket}/${instant}-${runId.replace(/[^A-Za-z0-9-]/g, '')}`;
}

/**
 * Collects the selected entries of one invocation for a dry-run report, up to
 * what is left of the run's {@link MAX_REPORT_ENTRIES}. Memory stays bounded
 * by that number; each invocation writes what it collected as one NDJSON file.
 */
export class ReportEntryCollector {
  private readonly lines: string[] = [];
  private dropped = 0;

  constructor(private readonly room: number) {}

  add(entry: VersionEntry): void {
    if (this.lines.length < this.room) this.lines.push(JSON.stringify(toSampleEntry(entry)));
    else this.dropped++;
  }

  get count(): number {
    return this.lines.length;
  }

  /** Entries that did not fit. */
  get truncated(): boolean {
    return this.dropped > 0;
  }

  /**
   * Writes the collected entries as `<stem>.entries-<label>.ndjson` (the label names the slice) and
   * returns the progress including it; unchanged when nothing was collected.
   */
  async flush(
    s3: S3Client,
    target: RetentionReportTarget,
    stem: string,
    label: number | string,
    progress: RetentionReportProgress,
  ): Promise<RetentionReportProgress> {
    if (this.lines.length === 0) return progress;
    const key = `${stem}.entries-${String(label).padStart(4, '0')}.ndjson`;
    await putReportObject(s3, target.bucketName, key, `${this.lines.join('\n')}\n`, 'application/x-ndjson');
    return { entriesWritten: progress.entriesWritten + this.lines.length, files: [...progress.files, key] };
  }
}

/** PUTs one report object. The client retries transient errors (s3-client.ts). */
export async function putReportObject(s3: S3Client, bucket: string, key: string, body: string, contentType: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

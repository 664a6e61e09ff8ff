import { createHash } from 'node:crypto';
import { compareKeys } from './listing/key-order';
import { PurgeError } from './errors';
import type { RetentionPolicy } from './retention-policy';
import type { DeleteFailure } from './types';
import type { AbortFailure } from './uploads/upload-sweep';

/** Version of the token format. Version 1 carried entries not yet deleted and is refused. */
export const RESUME_TOKEN_VERSION = 2;

/**
 * A token never exceeds this many bytes as JSON, whatever the bucket, the
 * entries in flight or the throttling: a Lambda continuation carrying it stays
 * far below the 256 KB payload limit, and a CLI user can pass it inline.
 */
export const MAX_RESUME_TOKEN_BYTES = 8 * 1024;

/** Failure messages are cut to this length in a token (the full text was in the run's own result). */
const MAX_TOKEN_MESSAGE_CHARS = 300;

/**
 * Where one listing stream resumes. Short field names: a token holds up to
 * one per key range.
 */
export interface StreamToken {
  /** Index of the stream's prefix in the run's sorted prefixes. */
  readonly s: number;
  /** Whole prefixes `s` to `s + n - 1`, each from its start (only when a token had to be compacted). */
  readonly n?: number;
  /** The range starts after this key (exclusive). */
  readonly a?: string;
  /** The range ends at this key (inclusive). */
  readonly t?: string;
  /** Resume after this key… */
  readonly k?: string;
  /** …and this version id (S3's KeyMarker / VersionIdMarker). */
  readonly i?: string;
  /** The selector's snapshot at that position. */
  readonly q?: unknown;
  /** The key at that position, when an entry of it could not be deleted. */
  readonly x?: string;
}

/** The retention rules a token was written under (prefix lists as digests, to keep tokens small). */
export interface PolicyIdentity {
  readonly noncurrentVersionsOlderThanMs: number | null;
  readonly keepNoncurrentVersions: number | null;
  readonly expiredDeleteMarkers: boolean;
  readonly exclude: string;
  readonly abortIncompleteUploadsOlderThanMs: number | null;
}

/** What a token must match to be used: the run that wrote it. */
export interface RunIdentity {
  readonly bucket: string;
  readonly mode: 'purge' | 'retain';
  readonly dryRun: boolean;
  /** Digest of the sorted prefixes listed (`""`: the whole bucket). */
  readonly prefixes: string;
  /** Retention runs: the policy's rules; `null` for purge. */
  readonly policy: PolicyIdentity | null;
}

/** Counts so far, carried across resumed runs. */
export interface PurgeCounts {
  listed: number;
  selected: number;
  deleted: number;
  deleteMarkersDeleted: number;
  bytesDeleted: number;
  failed: number;
}

/** What a run did to incomplete multipart uploads (engine/uploads/upload-sweep.ts). */
export interface UploadCounts {
  /** Uploads chosen to be aborted (in a dry run: that would be aborted). */
  uploadsSelected: number;
  uploadsAborted: number;
  /** Uploads that could not be aborted, in the last pass. */
  uploadsFailed: number;
}

/**
 * Opaque to callers: pass it back as `resumeToken` to continue the run.
 * JSON-serialisable, at most {@link MAX_RESUME_TOKEN_BYTES} bytes.
 *
 * It holds listing positions, one per unfinished stream, never entries: a
 * resumed run lists again from each position (see stream-ledger.ts).
 */
export interface ResumeToken extends RunIdentity {
  readonly v: typeof RESUME_TOKEN_VERSION;
  readonly pass: number;
  /** Milliseconds the run has spent so far, over all its segments. */
  readonly elapsedMs: number;
  /** Totals of everything before the streams' positions. */
  readonly counts: PurgeCounts;
  /** Counts when the current pass started. */
  readonly passStart: { readonly listed: number; readonly deleted: number };
  /** The first failures, as many as fit (`counts.failed` counts them all). */
  readonly errors: DeleteFailure[];
  readonly streams: StreamToken[];
  /** Upload totals so far; absent in tokens written before uploads were swept (zeros). */
  readonly uploads?: UploadCounts;
  /** The first uploads that could not be aborted, as many as fit. */
  readonly uploadErrors?: AbortFailure[];
  /** True when the current pass's upload sweep has not finished: the resumed run sweeps first. */
  readonly sweepPending?: boolean;
}

/**
 * A resume token that cannot be used: malformed, from another version, or
 * written by another run (`field` then names what differs).
 */
export class ResumeTokenError extends PurgeError {
  constructor(
    message: string,
    /** The identity field that differs (`bucket`, `mode`, `dryRun`, `prefixes`, `policy.exclude`, …), if any. */
    public readonly field?: string,
  ) {
    super(message);
    this.name = 'ResumeTokenError';
  }
}

/** Short digest of a list of strings, order and duplicates ignored; `""` for none. */
function listDigest(values: readonly string[] | undefined): string {
  const unique = [...new Set(values ?? [])].sort();
  if (unique.length === 0) return '';
  return createHash('sha256').update(JSON.stringify(unique)).digest('base64url').slice(0, 22);
}

/** The identity of a run, as recorded in its tokens. */
export function runIdentity(run: {
  bucket: string;
  mode: 'purge' | 'retain';
  dryRun: boolean;
  scopes: readonly string[];
  policy?: RetentionPolicy;
}): RunIdentity {
  const p = run.policy;
  return {
    bucket: run.bucket,
    mode: run.mode,
    dryRun: run.dryRun,
    prefixes: listDigest(run.scopes.filter((s) => s !== '')),
    policy: p
      ? {
          noncurrentVersionsOlderThanMs: p.noncurrentVersionsOlderThanMs ?? null,
          keepNoncurrentVersions: p.keepNoncurrentVersions ?? null,
          expiredDeleteMarkers: p.expiredDeleteMarkers === true,
          exclude: listDigest(p.exclude),
          abortIncompleteUploadsOlderThanMs: p.abortIncompleteUploadsOlderThanMs ?? null,
        }
      : null,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

function malformed(reason: string): never {
  throw new ResumeTokenError(`the resume token is not valid: ${reason}. Pass the resumeToken object a previous run printed, unchanged.`);
}

function checkStream(s: unknown, scopes: number): void {
  if (!isObject(s) || !isCount(s.s) || (s.s as number) >= scopes) malformed('a stream has no valid prefix index');
  if (s.n !== undefined && (!isCount(s.n) || (s.n as number) < 1 || (s.s as number) + (s.n as number) > scopes)) malformed('a stream has an invalid prefix count');
  for (const f of ['a', 't', 'k', 'i', 'x'] as const) if (!optionalString(s[f])) malformed(`a stream's "${f}" is not a string`);
  if ((s.k === undefined) !== (s.i === undefined)) malformed('a stream has a key marker without a version id marker');
}

/**
 * Checks that `value` is a well-formed token written by the run `expected`
 * describes, and returns it. `scopes` is the number of prefixes the run lists.
 * @throws ResumeTokenError saying what is wrong or which field differs
 */
export function checkResumeToken(value: unknown, expected: RunIdentity, scopes: number): ResumeToken {
  if (!isObject(value)) malformed('expected a JSON object');
  if (value.v !== RESUME_TOKEN_VERSION) {
    throw new ResumeTokenError(
      `the resume token has format version ${JSON.stringify(value.v ?? null)}; this version of version-purger reads version ${RESUME_TOKEN_VERSION}. ` +
        'Start the run again without the token (nothing already deleted comes back).',
      'v',
    );
  }
  compareField('bucket', value.bucket, expected.bucket);
  compareField('mode', value.mode, expected.mode);
  compareField('dryRun', value.dryRun, expected.dryRun);
  compareField('prefixes', value.prefixes, expected.prefixes);
  if (expected.policy === null) compareField('policy', value.policy, null);
  else {
    if (!isObject(value.policy)) compareField('policy', value.policy ?? null, 'a retention policy');
    const policy = value.policy as Record<string, unknown>;
    // A rule a token predates was not set when it was written.
    for (const [name, want] of Object.entries(expected.policy)) compareField(`policy.${name}`, policy[name] === undefined ? null : policy[name], want);
  }
  if (!isCount(value.pass) || (value.pass as number) < 1) malformed('"pass" is not a positive whole number');
  if (typeof value.elapsedMs !== 'number' || !Number.isFinite(value.elapsedMs) || value.elapsedMs < 0) malformed('"elapsedMs" is not a duration');
  const counts = value.counts;
  if (!isObject(counts) || !['listed', 'selected', 'deleted', 'deleteMarkersDeleted', 'bytesDeleted', 'failed'].every((c) => isCount(counts[c]))) {
    malformed('"counts" are not whole numbers');
  }
  if (!isObject(value.passStart) || !isCount(value.passStart.listed) || !isCount(value.passStart.deleted)) malformed('"passStart" is malformed');
  if (!Array.isArray(value.errors) || !value.errors.every((e) => isObject(e) && typeof e.key === 'string' && typeof e.versionId === 'string')) {
    malformed('"errors" is malformed');
  }
  if (!Array.isArray(value.streams)) malformed('"streams" is not a list');
  for (const s of value.streams) checkStream(s, scopes);
  checkUploadFields(value);
  return value as unknown as ResumeToken;
}

/** The optional upload fields: totals, failures, and the pending-sweep flag. */
function checkUploadFields(value: Record<string, unknown>): void {
  const uploads = value.uploads;
  if (uploads !== undefined && (!isObject(uploads) || !['uploadsSelected', 'uploadsAborted', 'uploadsFailed'].every((c) => isCount(uploads[c])))) {
    malformed('"uploads" are not whole numbers');
  }
  const errors = value.uploadErrors;
  if (errors !== undefined && (!Array.isArray(errors) || !errors.every((e) => isObject(e) && typeof e.key === 'string' && typeof e.uploadId === 'string'))) {
    malformed('"uploadErrors" is malformed');
  }
  if (value.sweepPending !== undefined && typeof value.sweepPending !== 'boolean') malformed('"sweepPending" is not a boolean');
}

function compareField(field: string, found: unknown, wanted: unknown): void {
  if (found === wanted) return;
  throw new ResumeTokenError(
    `the resume token belongs to another run: ${field} differs (token: ${JSON.stringify(found ?? null)}, this run: ${JSON.stringify(wanted)})`,
    field,
  );
}

const size = (token: ResumeToken): number => Buffer.byteLength(JSON.stringify(token), 'utf8');

/** Same prefix, and `b` starts where `a` ends. */
const contiguous = (a: StreamToken, b: StreamToken): boolean => a.n === undefined && b.n === undefined && a.s === b.s && a.t !== undefined && a.t === b.a;
const started = (s: StreamToken): boolean => s.k !== undefined;

/**
 * The streams by prefix, then by where each range starts: the order {@link compact} merges in. A pass that
 * split a running stream (stream-splitter.ts) has its new ranges last, after ranges further on in the key space.
 */
function inKeyOrder(streams: readonly StreamToken[]): StreamToken[] {
  const start = (x: StreamToken, y: StreamToken) => (x.a === undefined ? (y.a === undefined ? 0 : -1) : y.a === undefined ? 1 : compareKeys(x.a, y.a));
  return [...streams].sort((x, y) => x.s - y.s || start(x, y));
}

/**
 * Makes `streams` smaller, one step at a time, from the step that costs
 * nothing to those that repeat work. None ever skips a key: a merged or
 * restarted stream lists again what its parts had left, and more.
 *
 * 1. A range not started yet joins the range before it (less parallelism on resume).
 * 2. The streams of one prefix become one, from the earliest position to the last range's end
 *    (repeats the listing of what lies between).
 * 3. Each prefix is listed again from its start.
 * 4. All prefixes from the first unfinished to the last one are listed again.
 */
function compact(streams: StreamToken[]): StreamToken[] | null {
  for (let j = 1; j < streams.length; j++) {
    if (contiguous(streams[j - 1], streams[j]) && !started(streams[j])) {
      const merged: StreamToken = { ...streams[j - 1], t: streams[j].t };
      if (merged.t === undefined) delete (merged as { t?: string }).t;
      return [...streams.slice(0, j - 1), merged, ...streams.slice(j + 1)];
    }
  }
  const byScope = new Map<number, StreamToken[]>();
  for (const s of streams) byScope.set(s.s, [...(byScope.get(s.s) ?? []), s]);
  if ([...byScope.values()].some((list) => list.length > 1)) {
    return [...byScope.values()].map((list) => {
      if (list.length === 1) return list[0];
      const last = list[list.length - 1];
      const merged: StreamToken = { ...list[0] };
      if (last.t === undefined) delete (merged as { t?: string }).t;
      else (merged as { t?: string }).t = last.t;
      return merged;
    });
  }
  if (streams.some((s) => s.n === undefined && Object.keys(s).length > 1)) return streams.map((s) => (s.n === undefined ? { s: s.s } : s));
  if (streams.length > 1) {
    const first = streams[0].s;
    const last = streams[streams.length - 1];
    return [{ s: first, n: last.s + (last.n ?? 1) - first }];
  }
  return null;
}

/**
 * Returns `token` within {@link MAX_RESUME_TOKEN_BYTES}: streams compacted if
 * they must be (see `compact`), then as many failures as fit, messages cut.
 */
export function boundResumeToken(token: ResumeToken): ResumeToken {
  let bounded: ResumeToken = { ...token, streams: inKeyOrder(token.streams), errors: [], ...(token.uploadErrors !== undefined && { uploadErrors: [] }) };
  while (size(bounded) > MAX_RESUME_TOKEN_BYTES) {
    const smaller = compact(bounded.streams);
    if (!smaller) throw new Error(`a resume token cannot be made smaller than ${size(bounded)} bytes`);
    bounded = { ...bounded, streams: smaller };
  }
  const errors: DeleteFailure[] = [];
  let used = size(bounded);
  for (const e of token.errors) {
    const fitted: DeleteFailure = { ...e, message: e.message.length > MAX_TOKEN_MESSAGE_CHARS ? `${e.message.slice(0, MAX_TOKEN_MESSAGE_CHARS - 1)}…` : e.message };
    const cost = Buffer.byteLength(JSON.stringify(fitted), 'utf8') + 1;
    if (used + cost > MAX_RESUME_TOKEN_BYTES) break;
    errors.push(fitted);
    used += cost;
  }
  const uploadErrors = fitFailures(token.uploadErrors ?? [], used);
  return { ...bounded, errors, ...(token.uploadErrors !== undefined && { uploadErrors: uploadErrors.fitted }) };
}

/** As many upload failures as fit in the bytes a token has left, messages cut. */
function fitFailures(failures: readonly AbortFailure[], used: number): { fitted: AbortFailure[] } {
  const fitted: AbortFailure[] = [];
  let total = used;
  for (const f of failures) {
    const cut: AbortFailure = { ...f, message: f.message.length > MAX_TOKEN_MESSAGE_CHARS ? `${f.message.slice(0, MAX_TOKEN_MESSAGE_CHARS - 1)}…` : f.message };
    const cost = Buffer.byteLength(JSON.stringify(cut), 'utf8') + 1;
    if (total + cost > MAX_RESUME_TOKEN_BYTES) break;
    fitted.push(cut);
    total += cost;
  }
  return { fitted };
}

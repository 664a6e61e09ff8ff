import * as http from 'node:http';
import { compareKeys } from '../../lambda/engine/listing/key-order';
import { decodeXmlText } from '../../lambda/engine/listing/list-versions-scanner';
import { closeServer, listenOnLoopback } from '../../bin/demo/loopback-server';

/** One entry of a ListObjectVersions answer. */
interface Listed {
  readonly key: string;
  readonly versionId: string;
  readonly isDeleteMarker: boolean;
  readonly lastModifiedMs: number;
}

function parseListing(xml: string): { entries: Listed[]; truncated: boolean } {
  const entries: Listed[] = [];
  for (const [, kind, body] of xml.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
    const field = (name: string) => decodeXmlText(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(body)?.[1] ?? '');
    entries.push({ key: field('Key'), versionId: field('VersionId'), isDeleteMarker: kind === 'DeleteMarker', lastModifiedMs: Date.parse(field('LastModified')) });
  }
  return { entries, truncated: /<IsTruncated>true<\/IsTruncated>/.test(xml) };
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * A pass-through proxy to moto that makes one listing behave as on Amazon S3,
 * for tests of resumed runs. A run resumes each listing after the last entry
 * it had settled, which is usually an entry it deleted. S3 carries on from a
 * VersionIdMarker whose version was deleted; moto answers an empty, final page
 * instead (see /work/shared/s3-facts.md), so a resumed retention run would
 * stop early there. The product follows S3; this shim fixes moto in tests.
 *
 * How: every listing answer that passes through is remembered (the order of
 * each key's versions as moto listed them). When moto answers a listing with
 * a marker by an empty final page and the marker's version is gone, the
 * listing is sent again from the nearest entry before the marker that still
 * exists (or from the start), which is where S3 would carry on.
 *
 * Limit: a key's versions and delete markers are ordered by LastModified,
 * which moto gives to the second; a marker cannot be placed between entries
 * of one key written within the same second unless they are of one kind.
 */
export class MotoMarkerShim {
  private readonly server: http.Server;
  private readonly upstream: URL;
  /** Per bucket, per key: version id → where it was first seen, and its order fields. */
  private readonly known = new Map<string, Map<string, Map<string, { seen: number; ms: number; marker: boolean }>>>();
  private seen = 0;
  public endpoint = '';
  /** Listings this shim had to send again from an existing entry. */
  public rewrites = 0;

  constructor(target: string) {
    this.upstream = new URL(target);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req, Buffer.concat(chunks)).then(
          (answer) => {
            res.writeHead(answer.status, answer.headers);
            res.end(answer.body);
          },
          (err) => {
            res.statusCode = 502;
            res.end(String(err));
          },
        );
      });
    });
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private forward(method: string, path: string, headers: http.IncomingHttpHeaders, body?: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const out = http.request({ host: this.upstream.hostname, port: this.upstream.port, method, path, headers }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }));
        up.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }

  private async handle(req: http.IncomingMessage, body: Buffer): Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://shim');
    const answer = await this.forward(req.method ?? 'GET', req.url ?? '/', req.headers, body);
    const bucket = decodeURIComponent(url.pathname.split('/')[1] ?? '');
    if (req.method !== 'GET' || !url.searchParams.has('versions') || answer.status !== 200) return answer;
    const page = parseListing(answer.body.toString('utf8'));
    this.remember(bucket, page.entries);
    const keyMarker = url.searchParams.get('key-marker');
    const versionIdMarker = url.searchParams.get('version-id-marker');
    if (keyMarker === null || !versionIdMarker || page.entries.length > 0 || page.truncated) return answer;
    const from = await this.existingPredecessor(bucket, url.searchParams.get('prefix') ?? '', keyMarker, versionIdMarker, req.headers);
    if (from === 'present') return answer;
    this.rewrites++;
    const params = new URLSearchParams(url.search);
    params.delete('key-marker');
    params.delete('version-id-marker');
    if (from) {
      params.set('key-marker', from.key);
      params.set('version-id-marker', from.versionId);
    }
    const query = [...params.entries()].map(([k, v]) => (v === '' && k === 'versions' ? k : `${k}=${encodeURIComponent(v)}`)).join('&');
    const again = await this.forward('GET', `${url.pathname}?${query}`, req.headers);
    if (again.status === 200) this.remember(bucket, parseListing(again.body.toString('utf8')).entries);
    return again;
  }

  private remember(bucket: string, entries: readonly Listed[]): void {
    const keys = this.known.get(bucket) ?? new Map();
    this.known.set(bucket, keys);
    for (const e of entries) {
      const versions = keys.get(e.key) ?? new Map();
      keys.set(e.key, versions);
      if (!versions.has(e.versionId)) versions.set(e.versionId, { seen: this.seen++, ms: e.lastModifiedMs, marker: e.isDeleteMarker });
    }
  }

  /** Position of a version in its key's listing order (newest first), as remembered; undefined if never seen. */
  private rank(bucket: string, key: string, versionId: string): number | undefined {
    const versions = this.known.get(bucket)?.get(key);
    if (!versions?.has(versionId)) return undefined;
    const ordered = [...versions.entries()].sort(([, a], [, b]) => b.ms - a.ms || Number(a.marker) - Number(b.marker) || a.seen - b.seen);
    return ordered.findIndex(([id]) => id === versionId);
  }

  /**
   * The last entry still in the bucket that S3 would list before (keyMarker,
   * versionIdMarker); `null` when none is, `'present'` when the marker's
   * version still exists (moto's empty page then really is the end).
   */
  private async existingPredecessor(
    bucket: string,
    prefix: string,
    keyMarker: string,
    versionIdMarker: string,
    headers: http.IncomingHttpHeaders,
  ): Promise<Listed | null | 'present'> {
    // moto accepts MaxKeys above 1,000: one request lists everything under the prefix.
    const all = await this.forward('GET', `/${encodeURIComponent(bucket)}?versions&max-keys=1000000&prefix=${encodeURIComponent(prefix)}`, headers);
    const present = parseListing(all.body.toString('utf8')).entries;
    this.remember(bucket, present);
    if (present.some((e) => e.key === keyMarker && e.versionId === versionIdMarker)) return 'present';
    const markerRank = this.rank(bucket, keyMarker, versionIdMarker);
    if (markerRank === undefined) throw new Error(`MotoMarkerShim: version ${versionIdMarker} of ${keyMarker} was never listed, so its position is unknown`);
    const rankOf = (e: Listed) => {
      const r = this.rank(bucket, e.key, e.versionId);
      if (r === undefined) throw new Error(`MotoMarkerShim: version ${e.versionId} of ${e.key} was never listed`);
      return r;
    };
    const before = present.filter((e) => {
      const byKey = compareKeys(e.key, keyMarker);
      return byKey < 0 || (byKey === 0 && rankOf(e) < markerRank);
    });
    if (before.length === 0) return null;
    before.sort((a, b) => compareKeys(a.key, b.key) || rankOf(a) - rankOf(b));
    return before[before.length - 1];
  }
}

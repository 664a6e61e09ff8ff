import * as http from 'node:http';
import { compareKeys } from '../../lambda/engine/listing/key-order';
import { decodeXmlText } from '../../lambda/engine/listing/list-versions-scanner';
import { closeServer, forwardTo, listenOnLoopback } from '../../bin/demo/loopback-server';

/**
 * A pass-through proxy to moto that makes a ListObjectVersions with a bare KeyMarker (no
 * VersionIdMarker) behave as on Amazon S3: the listing starts after every version of that key.
 * moto instead starts at the first key >= the marker and drops that key's first entry
 * (/work/shared/s3-facts.md). The workflow lists each key range from its lower bound with a bare
 * KeyMarker, so on plain moto every range but the first loses one entry, which Confirm's listing
 * from the start then finds for a second pass: a test could not tell that from ranges that miss
 * keys. The product follows S3; this shim fixes moto in tests.
 *
 * How: the entry moto drops (the latest entry of the first key >= the marker) is looked up in a
 * listing of the same prefix from its start (test buckets are small), and put back first among the
 * entries of its kind in moto's answer, which is asked for one entry fewer, so that the page keeps its size and moto's next markers stay right. When the marker is
 * itself a key, that key's remaining entries are left out instead.
 *
 * Limit: when the marker is itself a key, its entries are left out of the first page only; a later
 * page that moto continues inside that key still holds some. Key ranges' lower bounds are folder
 * boundaries (`alpha/`), not keys, in these tests.
 */
export class MotoKeyMarkerShim {
  public endpoint = '';
  /** Listings with a bare KeyMarker that were fixed. */
  public fixed = 0;
  private readonly server: http.Server;
  private readonly upstream: URL;

  constructor(target: string) {
    this.upstream = new URL(target);
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://shim');
      const isBareMarkerListing =
        req.method === 'GET' && url.searchParams.has('versions') && url.searchParams.get('key-marker') && !url.searchParams.get('version-id-marker');
      if (!isBareMarkerListing) {
        this.forward(req, res);
        return;
      }
      req.resume();
      this.fixListing(req, url).then(
        (answer) => {
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        },
        (err: unknown) => {
          res.writeHead(502);
          res.end(String(err));
        },
      );
    });
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    forwardTo(this.upstream, req, res);
  }

  private async fixListing(req: http.IncomingMessage, url: URL): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    const marker = url.searchParams.get('key-marker')!;
    const maxKeys = Math.max(1, Number(url.searchParams.get('max-keys') ?? 1000));
    // The entry moto drops: the first entry (versions before delete markers) of the first key >= marker.
    const dropped = await this.firstEntryFrom(req, url, marker);
    const keepDropped = dropped !== undefined && dropped.key !== marker && maxKeys > 1;
    const asked = new URL(url);
    if (keepDropped) asked.searchParams.set('max-keys', String(maxKeys - 1));
    const answer = await this.get(req, asked);
    if (answer.status !== 200) return answer;
    let body = answer.body;
    // The marker key itself is not part of an S3 listing after it.
    body = body.replace(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g, (block, _kind, inner: string) => (keyOf(inner) === marker ? '' : block));
    if (keepDropped) {
      // Back where moto had it: first of its kind (moto prints every version, then every delete marker).
      const at = body.indexOf(`<${dropped.kind}>`);
      body = at >= 0 ? `${body.slice(0, at)}${dropped.block}${body.slice(at)}` : body.replace(/<\/ListVersionsResult>/, `${dropped.block}</ListVersionsResult>`);
    }
    this.fixed++;
    const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(body, 'utf8')) };
    return { status: 200, headers, body };
  }

  /** The first entry, in moto's order, of the first key >= `marker` under the listing's prefix. */
  private async firstEntryFrom(req: http.IncomingMessage, url: URL, marker: string): Promise<{ key: string; kind: string; block: string } | undefined> {
    const scan = new URL(url);
    scan.searchParams.delete('key-marker');
    scan.searchParams.delete('version-id-marker');
    scan.searchParams.set('max-keys', '1000');
    for (;;) {
      const page = await this.get(req, scan);
      if (page.status !== 200) throw new Error(`moto answered ${page.status} to a listing: ${page.body.slice(0, 200)}`);
      const entries = [...page.body.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)].map(([block, kind, inner]) => ({ key: keyOf(inner), kind, block }));
      const candidates = entries.filter((e) => compareKeys(e.key, marker) >= 0);
      if (candidates.length > 0) {
        const first = candidates.reduce((a, b) => (compareKeys(b.key, a.key) < 0 ? b : a)).key;
        // moto keeps a key's entries newest first (it prints versions, then delete markers): it drops the latest one.
        const ofKey = candidates.filter((e) => e.key === first);
        return ofKey.find((e) => /<IsLatest>true<\/IsLatest>/.test(e.block)) ?? ofKey[0];
      }
      if (!/<IsTruncated>true<\/IsTruncated>/.test(page.body)) return undefined;
      scan.searchParams.set('key-marker', decodeXmlText(/<NextKeyMarker>([\s\S]*?)<\/NextKeyMarker>/.exec(page.body)?.[1] ?? ''));
      scan.searchParams.set('version-id-marker', decodeXmlText(/<NextVersionIdMarker>([\s\S]*?)<\/NextVersionIdMarker>/.exec(page.body)?.[1] ?? ''));
    }
  }

  private get(req: http.IncomingMessage, url: URL): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    const headers = { ...req.headers };
    delete headers['content-length'];
    return new Promise((resolve, reject) => {
      const out = http.request(
        { host: this.upstream.hostname, port: this.upstream.port, method: 'GET', path: `${url.pathname}${url.search}`, headers },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      out.on('error', reject);
      out.end();
    });
  }
}

function keyOf(inner: string): string {
  return decodeXmlText(/<Key>([\s\S]*?)<\/Key>/.exec(inner)?.[1] ?? '');
}


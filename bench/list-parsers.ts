/**
 * Reads the same ListObjectVersions pages with each candidate reader and
 * prints ms per 1,000-entry page (issue 12: choose the list reader by
 * measurement):
 *
 *   node dist/bench/list-parsers.js [--rounds 7] [--pages 40] [--fxp <dir holding node_modules/fast-xml-parser>]
 *
 * - SDK, whole command: the S3 client's deserializer on a canned answer (what
 *   the engine paid before), then the engine's mapping (mergePageEntries).
 * - SDK XML parser only: @aws-sdk/xml-builder's parseXML, without the mapping.
 * - fast-xml-parser: XMLParser, then the same mapping onto VersionEntry.
 * - Scanner: lambda/engine/listing/list-versions-scanner.ts, keys decoded.
 *
 * Pages come from the S3 model's own writer: 10 versions per key, one key in
 * ten ending in a delete marker, url-encoded keys, as the engine asks for.
 */
import { Readable } from 'node:stream';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { parseXML } from '@aws-sdk/xml-builder';
import { scanListVersions } from '../lambda/engine/listing/list-versions-scanner';
import { mergePageEntries } from '../lambda/engine/listing/version-listing';
import type { VersionEntry } from '../lambda/engine/types';
import { listVersionsXml } from './s3-model/response-xml';
import type { ListedEntry } from './s3-model/list-versions';

function option(name: string, fallback: string | undefined): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

/** One page of 1,000 entries starting at key number `first`. */
function page(first: number): Buffer {
  const entries: ListedEntry[] = [];
  for (let k = first; entries.length < 1000; k++) {
    const key = `p${String(k % 16).padStart(2, '0')}/folder name/key-${String(k).padStart(7, '0')}.json`;
    for (let v = 0; v < 10 && entries.length < 1000; v++) {
      const isDeleteMarker = v === 0 && k % 10 === 0;
      entries.push({ version: { key, versionId: `${k.toString(36)}v${v}Xq3mZt9LpR2sW8yBn5cD1fGh4jK7aE0`, isLatest: v === 0, isDeleteMarker, lastModifiedMs: 1.7e12 + k * 1000 - v, etag: '"9b2cf535f27731c974343645a3985328"', size: 1024 } });
    }
  }
  const xml = listVersionsXml('bench', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 }, { entries, isTruncated: true, nextKeyMarker: 'p00/x', nextVersionIdMarker: 'v' }, true);
  return Buffer.from(xml, 'utf8');
}

const decode = (v: string) => (v.indexOf('%') < 0 && v.indexOf('+') < 0 ? v : decodeURIComponent(v.replace(/\+/g, ' ')));

function sdkClient(bodies: Buffer[]): S3Client {
  let n = 0;
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: { handle: async () => ({ response: { statusCode: 200, headers: {}, body: Readable.from([bodies[n++ % bodies.length]]) } }) },
  });
}

type Reader = (body: Buffer) => Promise<VersionEntry[]> | VersionEntry[];

/** fast-xml-parser's tree mapped onto VersionEntry, as the SDK's output is. */
function fxpReader(dir: string): Reader | undefined {
  let XMLParser: new (o: object) => { parse(x: string): any };
  try {
    ({ XMLParser } = require(require.resolve('fast-xml-parser', { paths: [dir] })));
  } catch {
    return undefined;
  }
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, isArray: (name: string) => name === 'Version' || name === 'DeleteMarker' });
  return (body) => {
    const r = parser.parse(body.toString('utf8')).ListVersionsResult;
    const map = (v: any, isDeleteMarker: boolean): VersionEntry => ({
      key: decode(v.Key),
      versionId: v.VersionId,
      isDeleteMarker,
      isLatest: v.IsLatest === 'true',
      lastModified: new Date(v.LastModified),
      size: isDeleteMarker ? 0 : Number(v.Size),
    });
    return [...(r.Version ?? []).map((v: any) => map(v, false)), ...(r.DeleteMarker ?? []).map((v: any) => map(v, true))];
  };
}

function readers(bodies: Buffer[]): Array<[string, Reader]> {
  const client = sdkClient(bodies);
  const list: Array<[string, Reader]> = [
    ['SDK, whole command (before)', async () => mergePageEntries(await client.send(new ListObjectVersionsCommand({ Bucket: 'bench' })))],
    ['SDK XML parser only (@aws-sdk/xml-builder)', (body) => { parseXML(body.toString('utf8')); return []; }],
  ];
  const fxp = fxpReader(option('--fxp', process.cwd())!);
  if (fxp) list.push(['fast-xml-parser 5 + mapping', fxp]);
  else console.error('fast-xml-parser not found (pass --fxp <dir>): its row is skipped');
  list.push(['Scanner (list-versions-scanner.ts) + decoding', (body) => {
    const entries = scanListVersions(body.toString('utf8'))!.entries;
    for (const e of entries) (e as { key: string }).key = decode(e.key);
    return entries;
  }]);
  return list;
}

async function main(): Promise<void> {
  const rounds = Number(option('--rounds', '7'));
  const pages = Number(option('--pages', '40'));
  const bodies = Array.from({ length: pages }, (_, i) => page(i * 100));
  console.log(`${pages} pages of 1,000 entries, ${(bodies[0].length / 1024).toFixed(0)} KiB each; ${rounds} rounds; ms per page (min–max of round means)\n`);
  const results: Array<[string, number[]]> = [];
  for (const [name, read] of readers(bodies)) {
    const means: number[] = [];
    for (let r = 0; r < rounds + 1; r++) {
      const start = process.hrtime.bigint();
      for (const body of bodies) await read(body);
      const ms = Number(process.hrtime.bigint() - start) / 1e6 / bodies.length;
      if (r > 0) means.push(ms); // round 0 warms up
    }
    results.push([name, means.sort((a, b) => a - b)]);
  }
  const scanner = results[results.length - 1][1];
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  console.log('| Reader | ms / page (median) | range | vs scanner |\n| --- | --: | --: | --: |');
  for (const [name, xs] of results) {
    console.log(`| ${name} | ${median(xs).toFixed(2)} | ${xs[0].toFixed(2)}–${xs[xs.length - 1].toFixed(2)} | ${(median(xs) / median(scanner)).toFixed(1)}× |`);
  }
}

void main();

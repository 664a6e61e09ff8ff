/**
 * Resume token size against the entries in flight when a run stops:
 * `npm run build && node dist/bench/token-size.js`.
 *
 * Purges 200,000 versions (20,000 keys in 64 prefixes) on the S3 model with
 * its default latency, once at S3's rate (3,500 keys/s per prefix) and once
 * throttled hard (300 keys/s per prefix), stops each run after 8 s, prints
 * the token's size, then resumes it to the end and prints the totals. The
 * point: the token holds one position per stream, so its size does not grow
 * with what was in flight.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../lambda/engine/purge-engine';
import type { PurgeResult } from '../lambda/engine/purge-types';
import { startModelServer } from './s3-model';

const KEYS = 20_000;
const VERSIONS_PER_KEY = 10;
const PREFIXES = 64;
const STOP_AFTER_MS = 8_000;

interface Row {
  readonly rate: number;
  readonly first: PurgeResult;
  readonly tokenBytes: number;
  readonly last: PurgeResult;
  readonly segments: number;
}

async function measure(rate: number): Promise<Row> {
  const server = await startModelServer({ port: 0, rate });
  try {
    server.seed({ bucket: 'token-size', keys: KEYS, versionsPerKey: VERSIONS_PER_KEY, prefixes: PREFIXES });
    const client = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), STOP_AFTER_MS);
    const first = await purgeBucket({ client, bucket: 'token-size', deadline: Date.now() + STOP_AFTER_MS, signal: stop.signal });
    clearTimeout(timer);
    const tokenBytes = Buffer.byteLength(JSON.stringify(first.resumeToken), 'utf8');
    // The rest at S3's rate, so that the resumed run ends in reasonable time.
    server.configure({ rate: 3500 });
    let last = first;
    let segments = 1;
    while (last.resumeToken) {
      last = await purgeBucket({ client, bucket: 'token-size', resumeToken: JSON.parse(JSON.stringify(last.resumeToken)) });
      segments++;
    }
    return { rate, first, tokenBytes, last, segments };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const rows: Row[] = [];
  for (const rate of [3500, 300]) rows.push(await measure(rate));
  const lines = [
    `${(KEYS * VERSIONS_PER_KEY).toLocaleString('en')} versions in ${PREFIXES} prefixes, stopped after ${STOP_AFTER_MS / 1000} s, then resumed`,
    '',
    '| keys/s per prefix | deleted at stop | chosen, not deleted at stop | 503s | token bytes | streams | totals after resume (listed / deleted) | duration (all segments) |',
    '|---:|---:|---:|---:|---:|---:|---|---:|',
    ...rows.map((r) => {
      const inFlight = r.first.selected - r.first.deleted - r.first.deleteMarkersDeleted - r.first.failed;
      return `| ${r.rate} | ${r.first.deleted} | ${inFlight} | ${r.first.throttled} | ${r.tokenBytes} | ${r.first.resumeToken?.streams.length ?? 0} | ${r.last.listed} / ${r.last.deleted} | ${(r.last.durationMs / 1000).toFixed(1)} s |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

void main();

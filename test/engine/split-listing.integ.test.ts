/**
 * A stream split while it lists (engine/stream-splitter.ts), against moto:
 * the first pass of a purge of a flat prefix probes split points, narrows the
 * running stream and lists the rest in new streams; it deletes every version
 * under the prefix exactly once, nothing outside it, and a run stopped after
 * the split resumes from its token to the same end.
 *
 * The split is forced (splitListing 'always'): moto answers a page in a few
 * ms, faster than the stream would ever be split for. So that the split
 * happens while the stream still lists (on S3 its pages take hundreds of ms),
 * the test holds every page after a stream's first until the probes have
 * answered. New ranges start at a bare KeyMarker, which moto mishandles, and
 * a resumed stream lists from a version it deleted, where moto ends the
 * listing: both shims make moto answer as S3 does (test/support/).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import { MotoKeyMarkerShim } from '../support/moto-key-marker-shim';
import { MotoMarkerShim } from '../support/moto-marker-shim';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

const markerShim = new MotoMarkerShim(testEndpoint());
let keyShim: MotoKeyMarkerShim;
let s3: S3Client;
beforeAll(async () => {
  s3 = testClient();
  await markerShim.start();
  keyShim = new MotoKeyMarkerShim(markerShim.endpoint);
  await keyShim.start();
});
afterAll(async () => {
  await keyShim.stop();
  await markerShim.stop();
});

/** 1,200 keys under flat/ named by 8 hex digits (spread like hashes), one version each. */
const FLAT_KEYS = Array.from({ length: 1_200 }, (_, i) => `flat/${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}`);
const KEPT = ['keep/a', 'keep/b'];

async function seededBucket(): Promise<string> {
  const bucket = await createBucket(s3, uniqueBucketName('split'));
  await fill(s3, bucket, FLAT_KEYS, 1, 16);
  await fill(s3, bucket, KEPT, 2);
  return bucket;
}

/** What the engine's client sent: probes (one-entry listings) and the first pages of split-off ranges. */
interface Traffic {
  probes: number;
  rangeStarts: string[];
}

/**
 * The engine's client, through both shims. With `holdPages`, each stream's
 * pages after its first wait until probes have been answered and none is out
 * (at most 5 s; see the header). `onRangePage` is called when the first page of
 * a split-off range has been answered, before the engine receives it.
 */
function engineClient(options: { holdPages?: boolean; onRangePage?: () => void } = {}): { client: S3Client; traffic: Traffic } {
  const client = createS3Client({ endpoint: keyShim.endpoint });
  const traffic: Traffic = { probes: 0, rangeStarts: [] };
  let probesOut = 0;
  const probesSettled = async () => {
    for (const until = Date.now() + 5_000; Date.now() < until && (traffic.probes === 0 || probesOut > 0); ) await new Promise((r) => setTimeout(r, 5));
  };
  client.middlewareStack.add(
    (next, context) => async (args: any) => {
      const input = args.input ?? {};
      const listing = context.commandName === 'ListObjectVersionsCommand';
      if (listing && input.MaxKeys === 1) {
        traffic.probes++;
        probesOut++;
        try {
          return await next(args);
        } finally {
          probesOut--;
        }
      }
      const rangeStart = listing && input.KeyMarker !== undefined && input.VersionIdMarker === undefined;
      if (rangeStart) traffic.rangeStarts.push(input.KeyMarker);
      if (listing && input.VersionIdMarker !== undefined && options.holdPages) await probesSettled();
      const out = await next(args);
      if (rangeStart) options.onRangePage?.();
      return out;
    },
    { step: 'initialize', name: 'splitListingTraffic' },
  );
  return { client, traffic };
}

/** The versions left under `prefix`, as "key@version". */
async function left(bucket: string, prefix: string): Promise<string[]> {
  return (await listAll(s3, bucket)).filter((e) => e.key.startsWith(prefix)).map((e) => `${e.key}@${e.versionId}`).sort();
}

test('a flat prefix split while it is listed: every version under it deleted once, nothing outside it', async () => {
  // GIVEN 1,200 flat keys under flat/ and two keys with two versions each under keep/
  const bucket = await seededBucket();
  const kept = await left(bucket, 'keep/');

  // WHEN flat/ is purged with its stream split after its first page
  const { client, traffic } = engineClient({ holdPages: true });
  const result = await purgeBucket({ client, bucket, prefixes: ['flat/'], splitListing: 'always', listConcurrency: 8 });

  // THEN split points were probed, and ranges after the first were listed from their own start
  expect(traffic.probes).toBeGreaterThan(0);
  expect(traffic.rangeStarts.length).toBeGreaterThanOrEqual(1);
  for (const start of traffic.rangeStarts) expect(start.startsWith('flat/')).toBe(true);
  // AND the first pass deleted each version once (the second, confirming pass found nothing), with no failure
  expect(result).toMatchObject({ deleted: 1_200, listed: 1_200, failed: 0, passes: 2, resumeToken: null });
  // AND flat/ is empty while keep/ has every version it had
  expect(await left(bucket, 'flat/')).toEqual([]);
  expect(await left(bucket, 'keep/')).toEqual(kept);
});

test('a run stopped after the split resumes from its token and ends as an uninterrupted one', async () => {
  // GIVEN the same bucket, and a run stopped as the first page of a split-off range comes back. (Stopping
  // there, rather than after some count of deletions, is what makes the token hold split-off ranges on any
  // machine: a range is one or two pages here, and on a slow machine every range had ended by the second
  // deletion, leaving a token with none.)
  const bucket = await seededBucket();
  const kept = await left(bucket, 'keep/');
  const stop = new AbortController();
  const { client } = engineClient({ holdPages: true, onRangePage: () => stop.abort() });
  const stopped = await purgeBucket({ client, bucket, prefixes: ['flat/'], splitListing: 'always', listConcurrency: 8, signal: stop.signal });

  // THEN its token holds ranges split off the stream
  expect(stopped.resumeToken).not.toBeNull();
  expect(stopped.resumeToken!.streams.some((s) => s.a !== undefined)).toBe(true);
  expect(stopped.deleted).toBeLessThan(1_200);

  // WHEN the run is resumed
  const resumed = await purgeBucket({ client: engineClient().client, bucket, prefixes: ['flat/'], resumeToken: stopped.resumeToken! });

  // THEN it ends with every flat/ version deleted and counted once, all in the resumed first pass (the
  // confirming pass found nothing: no range of the token was lost), and keep/ untouched
  expect(resumed).toMatchObject({ deleted: 1_200, failed: 0, passes: 2, resumeToken: null });
  expect(await left(bucket, 'flat/')).toEqual([]);
  expect(await left(bucket, 'keep/')).toEqual(kept);
});

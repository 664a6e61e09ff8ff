/**
 * The DeleteObjects body built in one pass is the SDK's own, byte for byte,
 * and still goes through the SDK's checksum (or the MD5 fallback) and signing.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { DeleteBodyPool, leanDeleteObjects } from '../../../lambda/engine/deleting/delete-body';
import { isXmlSafeKey } from '../../../lambda/engine/deleting/xml-safe';
import { addMd5Fallback } from '../../../lambda/engine/s3/md5-fallback';

interface Sent {
  headers: Record<string, string>;
  body: string;
}

/** A client that records each request as it would go on the wire and answers an empty DeleteResult. */
function recordingClient(): { client: S3Client; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body: unknown }) => {
        sent.push({ headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])), body: Buffer.from(request.body as string | Uint8Array).toString('utf8') });
        return { response: { statusCode: 200, headers: {}, body: Buffer.from('<DeleteResult/>') } };
      },
    },
  });
  return { client, sent };
}

const keyArb = fc
  .string({ unit: fc.oneof(fc.constantFrom('&', '<', '>', '"', "'", '\r', '\n', '\t', '\u0085', '\u2028', ' ', 'é', '😀', '/'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 20 })
  .filter(isXmlSafeKey);
const versionArb = fc.oneof(fc.constant('null'), fc.string({ unit: fc.constantFrom(...'aZ09._-&<"'), minLength: 1, maxLength: 32 }));
const entriesArb = fc.array(fc.record({ key: keyArb, versionId: versionArb }), { minLength: 1, maxLength: 30 });

/** Header values that depend on the body (the rest carry a fresh date, invocation id and signature). */
const bodyHeaders = (h: Record<string, string>) => ({ length: h['content-length'], crc32: h['x-amz-checksum-crc32'], md5: h['content-md5'], type: h['content-type'] });

describe('leanDeleteObjects', () => {
  it('writes what the SDK serializer writes, for random keys and version ids', async () => {
    await fc.assert(
      fc.asyncProperty(entriesArb, async (entries) => {
        // GIVEN a batch of XML-safe keys: entities, quotes, CR and LF, NEL, LS, unicode, "null" versions
        const sdk = recordingClient();
        const lean = recordingClient();
        const objects = entries.map((e) => ({ Key: e.key, VersionId: e.versionId }));
        // WHEN the SDK sends it as usual, and the deleter's command sends it
        await sdk.client.send(new DeleteObjectsCommand({ Bucket: 'b', Delete: { Quiet: true, Objects: objects } }));
        await lean.client.send(leanDeleteObjects('b', entries, false));
        // THEN the bodies are equal byte for byte, and so are the headers computed from them (length, CRC32)
        expect(lean.sent[0].body).toBe(sdk.sent[0].body);
        expect(bodyHeaders(lean.sent[0].headers)).toEqual(bodyHeaders(sdk.sent[0].headers));
      }),
      { numRuns: 150 },
    );
  });

  it('writes the same bytes from a reused buffer, batch after batch of any size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entriesArb, { minLength: 2, maxLength: 5 }), async (batches) => {
        // GIVEN one pool whose buffers are given back after each answer, as the deleter does
        const pool = new DeleteBodyPool(2);
        const sdk = recordingClient();
        const lean = recordingClient();
        for (const entries of batches) {
          // WHEN each batch is sent from a leased buffer, and by the SDK
          const lease = pool.lease();
          await lean.client.send(leanDeleteObjects('b', entries, false, lease));
          lease.release();
          await sdk.client.send(new DeleteObjectsCommand({ Bucket: 'b', Delete: { Quiet: true, Objects: entries.map((e) => ({ Key: e.key, VersionId: e.versionId })) } }));
        }
        // THEN every body, longer or shorter than the one before it in the same buffer, is the SDK's
        expect(lean.sent.map((r) => r.body)).toEqual(sdk.sent.map((r) => r.body));
        expect(lean.sent.map((r) => bodyHeaders(r.headers))).toEqual(sdk.sent.map((r) => bodyHeaders(r.headers)));
      }),
      { numRuns: 50 },
    );
  });

  it('reuses a buffer only once it is given back', () => {
    // GIVEN a pool, and a body written in a leased buffer
    const pool = new DeleteBodyPool(4);
    const first = pool.lease();
    const a = first.encode('first body');
    // WHEN a second body is written while the first is not given back
    const second = pool.lease();
    const b = second.encode('second body');
    // THEN it has its own buffer, and the first body is untouched
    expect(b.buffer).not.toBe(a.buffer);
    expect(Buffer.from(a).toString()).toBe('first body');
    // WHEN the first is given back, THEN the next body reuses its buffer
    first.release();
    const third = pool.lease();
    expect(third.encode('third').buffer).toBe(a.buffer);
    // AND a lease that never wrote a body gives nothing back
    const unused = pool.lease();
    unused.release();
    const fresh = pool.lease().encode('x').buffer;
    expect(fresh).not.toBe(a.buffer);
    expect(fresh).not.toBe(b.buffer);
  });

  it('lists every object in the command input, for whoever reads it', () => {
    // GIVEN two entries WHEN the command is built THEN its input lists both (made when read)
    const command = leanDeleteObjects('b', [{ key: 'a', versionId: '1' }, { key: 'b', versionId: 'null' }], true);
    expect(command.input).toEqual({ Bucket: 'b', BypassGovernanceRetention: true, Delete: { Quiet: true, Objects: [{ Key: 'a', VersionId: '1' }, { Key: 'b', VersionId: 'null' }] } });
    expect(JSON.parse(JSON.stringify(command.input.Delete))).toEqual({ Quiet: true, Objects: [{ Key: 'a', VersionId: '1' }, { Key: 'b', VersionId: 'null' }] });
  });

  it('goes through the MD5 fallback: Content-MD5 of the full body, no CRC32 headers', async () => {
    // GIVEN a client with the MD5 fallback
    const { client, sent } = recordingClient();
    addMd5Fallback(client);
    // WHEN a batch is sent
    await client.send(leanDeleteObjects('b', [{ key: 'a&b', versionId: 'v1' }, { key: 'c', versionId: 'null' }], false));
    // THEN the body lists both objects and carries their MD5, and no SDK checksum header is left
    const [request] = sent;
    expect(request.body).toContain('<Object><Key>a&amp;b</Key><VersionId>v1</VersionId></Object><Object><Key>c</Key><VersionId>null</VersionId></Object>');
    expect(request.headers['content-md5']).toBe(createHash('md5').update(request.body).digest('base64'));
    expect(Object.keys(request.headers).filter((h) => h.startsWith('x-amz-checksum-') || h.startsWith('x-amz-sdk-checksum-'))).toEqual([]);
  });
});

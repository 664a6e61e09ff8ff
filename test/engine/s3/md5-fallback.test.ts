import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../lambda/engine/s3/s3-client';

/** A local endpoint that records the headers and body of each request and answers an empty DeleteResult. */
async function recordingEndpoint() {
  const seen: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.setHeader('content-type', 'application/xml');
      res.end('<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
}

async function deleteTwoKeys(client: S3Client): Promise<void> {
  await client.send(new DeleteObjectsCommand({ Bucket: 'bkt', Delete: { Quiet: true, Objects: [{ Key: 'a' }, { Key: 'b', VersionId: 'v1' }] } }));
}

describe('the --md5 fallback for S3-compatible stores', () => {
  test('with md5, DeleteObjects carries a correct Content-MD5 and no SDK checksum headers', async () => {
    const server = await recordingEndpoint();
    try {
      await deleteTwoKeys(createS3Client({ endpoint: server.endpoint, md5: true }));
      const [request] = server.seen;
      expect(request.headers['content-md5']).toBe(createHash('md5').update(request.body).digest('base64'));
      expect(Object.keys(request.headers).filter((h) => h.startsWith('x-amz-checksum-') || h.startsWith('x-amz-sdk-checksum-'))).toEqual([]);
    } finally {
      server.close();
    }
  });

  test('without md5, the SDK default (a CRC32 checksum) is left alone', async () => {
    const server = await recordingEndpoint();
    try {
      await deleteTwoKeys(createS3Client({ endpoint: server.endpoint }));
      const [request] = server.seen;
      expect(request.headers['x-amz-checksum-crc32']).toBeDefined();
      expect(request.headers['content-md5']).toBeUndefined();
    } finally {
      server.close();
    }
  });
});

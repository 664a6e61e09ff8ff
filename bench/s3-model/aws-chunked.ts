import type { IncomingHttpHeaders } from 'node:http';

/**
 * SDKs may stream uploads as `aws-chunked`: `hex-size[;chunk-signature=…]\r\n`
 * data `\r\n` …, a zero-size chunk, then trailers such as
 * `x-amz-checksum-crc32:…`. Signatures and trailers are not checked.
 */
export function isAwsChunked(headers: IncomingHttpHeaders): boolean {
  const encoding = String(headers['content-encoding'] ?? '');
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

export class ChunkedBodyError extends Error {}

export function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) throw new ChunkedBodyError('chunk header without CRLF');
    const sizeField = body.toString('latin1', pos, lineEnd).split(';')[0].trim();
    const size = parseInt(sizeField, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeField) || !Number.isFinite(size)) throw new ChunkedBodyError(`bad chunk size "${sizeField}"`);
    pos = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (pos + size > body.length) throw new ChunkedBodyError('chunk longer than the body');
    parts.push(body.subarray(pos, pos + size));
    pos += size;
    if (body.toString('latin1', pos, pos + 2) === '\r\n') pos += 2;
  }
}

import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

/**
 * Makes DeleteObjects carry `Content-MD5` instead of the SDK's CRC32 checksum.
 * Some S3-compatible stores (older MinIO, Cloudflare R2, OVH) reject the
 * CRC32 headers that @aws-sdk/client-s3 sends since 3.729. This follows
 * AWS's documented fallback (aws-sdk-js-v3 supplemental-docs/MD5_FALLBACK.md),
 * placed after the checksum middleware so its headers are already there to remove.
 */
export function addMd5Fallback(client: S3Client): void {
  client.middlewareStack.addRelativeTo(
    (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
      if (context.commandName !== 'DeleteObjectsCommand') return next(args);
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      for (const name of Object.keys(request.headers)) {
        const lower = name.toLowerCase();
        if (lower.startsWith('x-amz-checksum-') || lower.startsWith('x-amz-sdk-checksum-') || lower === 'x-amz-trailer') {
          delete request.headers[name];
        }
      }
      if (typeof request.body === 'string' || request.body instanceof Uint8Array) {
        request.headers['Content-MD5'] = createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { relation: 'after', toMiddleware: 'flexibleChecksumsMiddleware', name: 'versionPurgerMd5Fallback', override: true },
  );
}

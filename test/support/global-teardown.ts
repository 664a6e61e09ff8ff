import type { LocalS3 } from '../../bin/demo/local-s3';

export default async function globalTeardown(): Promise<void> {
  const s3 = (globalThis as { __localS3?: LocalS3 }).__localS3;
  await s3?.stop();
}

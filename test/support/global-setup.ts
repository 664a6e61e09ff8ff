import { startLocalS3 } from '../../bin/demo/local-s3';

/** Starts one moto_server for the whole run; workers inherit the endpoint through the environment. */
export default async function globalSetup(): Promise<void> {
  const s3 = await startLocalS3();
  process.env.VERSION_PURGER_TEST_ENDPOINT = s3.endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  (globalThis as { __localS3?: unknown }).__localS3 = s3;
}

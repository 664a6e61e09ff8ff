import { INSTANT_CONFIG, startModelServer } from '../../bench/s3-model';
import { type LocalS3, motoAvailable, startLocalS3 } from './local-s3';

/** The S3 endpoint the demo runs on, and one line that says what it is. */
export interface DemoS3 extends LocalS3 {
  readonly description: string;
}

/**
 * The demo's S3, in order of preference: `AWS_ENDPOINT_URL_S3`, then
 * `moto_server` (a third-party emulator, what the tests use), then the
 * project's own S3 model (bench/s3-model), so that a first `npm start` needs
 * nothing but Node. The model passes the same conformance suite as moto
 * (test/bench/conformance.test.ts); it runs here without its modelled
 * latency and throttling, so the demo stays quick. Tests never fall back to
 * it: they need a third-party emulator to prove anything.
 */
export async function startDemoS3(): Promise<DemoS3> {
  if (process.env.AWS_ENDPOINT_URL_S3 || motoAvailable()) {
    const s3 = await startLocalS3();
    const description = s3.owned ? 'moto_server, started for this demo' : 'the server AWS_ENDPOINT_URL_S3 names';
    return { ...s3, stop: () => s3.stop(), description };
  }
  const server = await startModelServer(INSTANT_CONFIG);
  return {
    endpoint: server.endpoint,
    owned: true,
    stop: () => server.stop(),
    description:
      "the project's own S3 model (bench/s3-model, in this process, without latency), because moto_server is not " +
      'installed (pip install "moto[server]" to run on moto)',
  };
}

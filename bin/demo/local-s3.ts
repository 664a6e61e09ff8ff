import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A running local S3-compatible endpoint. */
export interface LocalS3 {
  /** Endpoint URL, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string;
  /** True when this process started the server and `stop()` will end it. */
  readonly owned: boolean;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'moto_server was not found. Install it with: pip install "moto[server]" ' +
  '(or point AWS_ENDPOINT_URL_S3 at another S3-compatible server).';

/** Asks the OS for a free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function motoAvailable(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < until) {
    if (exited) throw new Error(`moto_server exited before it was ready (${url})`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`moto_server did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * Uses `AWS_ENDPOINT_URL_S3` when it is set; otherwise starts `moto_server`
 * on a free loopback port. Throws with an install hint when moto is missing.
 */
export async function startLocalS3(): Promise<LocalS3> {
  const given = process.env.AWS_ENDPOINT_URL_S3;
  if (given) return { endpoint: given, owned: false, stop: async () => undefined };
  if (!motoAvailable()) throw new Error(INSTALL_HINT);
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: false,
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(`${endpoint}/moto-api/`, child, 30_000);
  return {
    endpoint,
    owned: true,
    stop: async () => {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

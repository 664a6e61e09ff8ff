import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_PREFIX, handleAdmin } from './admin';
import { S3Model } from './model';
import type { ModelConfig } from './model-config';
import type { S3Response } from './operations';
import type { SeedResult, SeedSpec } from './seed';
import type { StatsSnapshot } from './stats';

export interface ModelServerOptions extends Partial<ModelConfig> {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
}

export interface ModelServer {
  /** e.g. `http://127.0.0.1:40123` */
  readonly endpoint: string;
  readonly port: number;
  /** The model behind the endpoint, for direct in-process access. */
  readonly model: S3Model;
  seed(spec: SeedSpec): SeedResult;
  stats(): StatsSnapshot;
  configure(patch: Partial<ModelConfig>): ModelConfig;
  reset(): void;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, response: S3Response, method: string): void {
  const body = response.body === undefined || method === 'HEAD' ? undefined : Buffer.from(response.body, 'utf8');
  const headers: Record<string, string> = {
    server: 'AmazonS3',
    'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
    'x-amz-id-2': 'model',
    ...response.headers,
  };
  if (body) headers['content-length'] = String(body.length);
  else if (!('content-length' in headers) && response.status !== 204) headers['content-length'] = '0';
  res.writeHead(response.status, headers);
  res.end(body);
}

async function route(model: S3Model, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const path = url.split('?')[0];
  const response = path.startsWith(ADMIN_PREFIX)
    ? handleAdmin(model, method, path, body)
    : await model.handle({ method, url, headers: req.headers, body });
  if (response.resetConnection) {
    // An injected fault: the client sees the connection reset (ECONNRESET, "socket hang up").
    req.socket.destroy();
    return;
  }
  send(res, response, method);
}

/** Starts an S3 model server on 127.0.0.1. */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const { port = 0, ...config } = options;
  const model = new S3Model(config);
  const server = createServer((req, res) => {
    route(model, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  // SDK clients keep connections alive for long; a shorter server timeout would reset reused sockets.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    model,
    seed: (spec) => model.seed(spec),
    stats: () => model.statistics(),
    configure: (patch) => model.configure(patch),
    reset: () => model.reset(),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

/**
 * A pass-through proxy to an S3 endpoint that can answer DeleteObjects with
 * 503 SlowDown, as S3 does under a request-rate storm, and records which
 * batches it refused. Light (no CDK imports), for CLI and engine tests.
 */
export class ThrottlingProxy {
  private readonly server: http.Server;
  private readonly upstream: URL;
  public endpoint = '';
  /** Answer DeleteObjects requests after the first N with SlowDown; undefined: never. */
  public throttleDeletesAfter: number | undefined;
  /** Distinct DeleteObjects bodies answered with SlowDown: each is one batch the run had in flight. */
  public readonly throttledBatches = new Set<string>();
  private deletes = 0;

  constructor(target: string) {
    this.upstream = new URL(target);
    this.server = http.createServer((req, res) => {
      const isDeleteObjects = req.method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? '');
      if (isDeleteObjects && this.throttleDeletesAfter !== undefined && ++this.deletes > this.throttleDeletesAfter) {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          this.throttledBatches.add(Buffer.concat(chunks).toString('utf8'));
          res.writeHead(503, { 'content-type': 'application/xml' });
          res.end(SLOW_DOWN);
        });
        return;
      }
      const out = http.request(
        { host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', (err) => {
        res.statusCode = 502;
        res.end(String(err));
      });
      req.pipe(out);
    });
  }

  /** Back to a plain pass-through. */
  reset(): void {
    this.throttleDeletesAfter = undefined;
    this.deletes = 0;
    this.throttledBatches.clear();
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

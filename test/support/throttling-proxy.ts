import * as http from 'node:http';
import { closeServer, forwardTo, listenOnLoopback } from '../../bin/demo/loopback-server';

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
      forwardTo(this.upstream, req, res);
    });
  }

  /** Back to a plain pass-through. */
  reset(): void {
    this.throttleDeletesAfter = undefined;
    this.deletes = 0;
    this.throttledBatches.clear();
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

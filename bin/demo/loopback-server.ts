import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The plumbing every local stand-in shares (the local CloudFormation and
 * Step Functions, and the tests' S3 proxies): a server on a free loopback
 * port, stopped without waiting for keep-alive sockets, and a plain
 * pass-through to an upstream endpoint.
 */

/** Starts `server` on a free loopback port; resolves with its endpoint, `http://127.0.0.1:<port>`. */
export async function listenOnLoopback(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops `server`. Its open connections are closed first: an SDK client's keep-alive sockets would hold `close()` open. */
export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Passes `req` on to `upstream` unchanged and pipes the answer back; a 502 when the upstream cannot be reached. */
export function forwardTo(upstream: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
  const out = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
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
}

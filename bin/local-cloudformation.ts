import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local stand-in for CloudFormation's pre-signed ResponseURL that captures one answer. */
export interface ResponseCapture {
  readonly url: string;
  /** The JSON body the handler PUT, once it arrives. */
  readonly answer: Promise<Record<string, unknown>>;
  close(): void;
}

export async function captureCloudFormationResponse(): Promise<ResponseCapture> {
  let deliver: (body: Record<string, unknown>) => void = () => undefined;
  const answer = new Promise<Record<string, unknown>>((resolve) => (deliver = resolve));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.end();
      deliver(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/cloudformation-response?X-Amz-Signature=local`,
    answer,
    close: () => server.close(),
  };
}

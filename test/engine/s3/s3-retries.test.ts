/**
 * The retry policy as installed on the project's S3 client (createS3Client):
 * a loopback HTTP server answers each request from a script (500s, SlowDown,
 * dropped connections, final errors), so the real SDK parses every answer.
 */
import {
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_TRANSIENT_ATTEMPTS } from '../../../lambda/engine/constants';
import { createS3Client } from '../../../lambda/engine/s3/s3-client';
import { retriedByCaller } from '../../../lambda/engine/s3/s3-retries';

/** One scripted answer: an S3 error, a success body, or a connection dropped without an answer. */
type Answer = { error: string; status: number } | { ok: string } | 'reset';

const errorBody = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code} (scripted)</Message></Error>`;

/** A server that answers requests from `script` in order, then with `fallback`. */
class ScriptedS3 {
  readonly requests: string[] = [];
  private script: Answer[] = [];
  private fallback: Answer = { ok: '' };
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => this.answer(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  play(script: Answer[], fallback: Answer = { ok: '' }): void {
    this.requests.length = 0;
    this.script = [...script];
    this.fallback = fallback;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      this.requests.push(`${req.method} ${req.url}`);
      const answer = this.script.shift() ?? this.fallback;
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      if ('error' in answer) {
        res.writeHead(answer.status, { 'content-type': 'application/xml' }).end(errorBody(answer.error));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/xml' }).end(answer.ok);
    });
  }
}

const TAGGED = '<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>';
const EMPTY_LISTING = '<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult><Name>b</Name><IsTruncated>false</IsTruncated></ListVersionsResult>';

const server = new ScriptedS3();
let client: S3Client;

beforeAll(async () => {
  client = createS3Client({ endpoint: await server.start(), region: 'us-east-1' });
});

afterAll(async () => {
  client.destroy();
  await server.stop();
});

beforeEach(() => {
  // Full-jitter backoff becomes 0 ms: retries are immediate.
  jest.spyOn(Math, 'random').mockReturnValue(0);
});

afterEach(() => jest.restoreAllMocks());

describe('createS3Client: every call retries by the one policy', () => {
  it('gets through a 500, a 503 SlowDown, a dropped connection and a 502, on the fifth attempt', async () => {
    // GIVEN GetBucketTagging answers 500, 503 SlowDown, a reset and a 502 before the tags
    server.play([{ error: 'InternalError', status: 500 }, { error: 'SlowDown', status: 503 }, 'reset', { error: 'BadGateway', status: 502 }, { ok: TAGGED }]);

    // WHEN the handler's ownership check reads the tags
    const out = await client.send(new GetBucketTaggingCommand({ Bucket: 'b' }));

    // THEN it got them, after five requests
    expect(out.TagSet).toEqual([{ Key: 'k', Value: 'v' }]);
    expect(server.requests).toHaveLength(5);
  });

  it(`gives up after ${MAX_TRANSIENT_ATTEMPTS} attempts of a lasting 500, with the S3 error`, async () => {
    // GIVEN PutObject (a retention report write) always answers 500
    server.play([], { error: 'InternalError', status: 500 });

    // WHEN a report is written
    const write = client.send(new PutObjectCommand({ Bucket: 'b', Key: 'report.json', Body: '{}' }));

    // THEN it fails with InternalError after the bounded number of attempts
    await expect(write).rejects.toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    expect(server.requests).toHaveLength(MAX_TRANSIENT_ATTEMPTS);
  });

  it.each<[string, number]>([
    ['NoSuchBucketPolicy', 404],
    ['AccessDenied', 403],
    ['NoSuchBucket', 404],
  ])('sends a call answered %s once', async (code, status) => {
    // GIVEN GetBucketPolicy answers a final error
    server.play([], { error: code, status });

    // WHEN the write fence reads the policy
    const read = client.send(new GetBucketPolicyCommand({ Bucket: 'b' }));

    // THEN the error comes back after one request
    await expect(read).rejects.toMatchObject({ name: code });
    expect(server.requests).toHaveLength(1);
  });

  it('retries ListObjectVersions sent plainly (the teardown estimate), but not when its caller retries it (the engine)', async () => {
    // GIVEN one 500 before each listing
    server.play([{ error: 'InternalError', status: 500 }, { ok: EMPTY_LISTING }]);

    // WHEN a plain listing is sent
    await client.send(new ListObjectVersionsCommand({ Bucket: 'b' }));

    // THEN the client retried it
    expect(server.requests).toHaveLength(2);

    // WHEN the engine sends it, marked as retried by the caller
    server.play([{ error: 'InternalError', status: 500 }, { ok: EMPTY_LISTING }]);
    const engine = client.send(retriedByCaller(new ListObjectVersionsCommand({ Bucket: 'b' })));

    // THEN the 500 reaches the engine after a single request
    await expect(engine).rejects.toMatchObject({ name: 'InternalError' });
    expect(server.requests).toHaveLength(1);
  });

  it("passes the engine's DeleteObjects SlowDown straight back, so its rate controller sees every throttle", async () => {
    // GIVEN DeleteObjects is throttled
    server.play([{ error: 'SlowDown', status: 503 }]);

    // WHEN the engine sends a batch
    const batch = client.send(retriedByCaller(new DeleteObjectsCommand({ Bucket: 'b', Delete: { Objects: [{ Key: 'k', VersionId: 'v' }] } })));

    // THEN the SlowDown comes back after one request
    await expect(batch).rejects.toMatchObject({ name: 'SlowDown' });
    expect(server.requests).toHaveLength(1);
  });
});

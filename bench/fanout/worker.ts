/**
 * One fan-out worker: a process that plays a warm Lambda container serving
 * Distributed Map children. It loads the engine once, then runs slices sent
 * by the harness (protocol.ts) one at a time, each on one key range with
 * that range's resume token, until the harness disconnects.
 *
 * Started by worker-pool.ts as `node dist/bench/fanout/worker.js ENDPOINT` with
 * an IPC channel; it only talks to the S3 endpoint it is given (loopback).
 * Before it says it is ready it sends one ListBuckets there, so that the
 * SDK's lazily loaded parts (credentials, signing, HTTP) are loaded too.
 */
import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import { purgeBucket } from '../../lambda/engine/purge-engine';
import { createS3Client } from '../../lambda/engine/s3/s3-client';
import type { SliceReply, SliceRequest } from './protocol';

const clients = new Map<string, S3Client>();

function clientFor(endpoint: string): S3Client {
  let client = clients.get(endpoint);
  if (!client) {
    client = createS3Client({ endpoint, region: 'us-east-1' });
    clients.set(endpoint, client);
  }
  return client;
}

async function runSlice(request: SliceRequest): Promise<SliceReply> {
  const started = Date.now();
  const deadline = started + request.sliceMs;
  // As the workflow's Slice step (lambda/teardown/steps/slice-step.ts) calls the engine: a deadline, a
  // signal that wakes it from back-off sleeps at the deadline, and a progress callback (it logs every 15 s).
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), request.sliceMs);
  try {
    const result = await purgeBucket({
      client: clientFor(request.endpoint),
      bucket: request.bucket,
      range: request.range.keys,
      deadline,
      signal: stop.signal,
      resumeToken: request.resumeToken,
      onProgress: () => undefined,
    });
    const { listed, selected, deleted, deleteMarkersDeleted, bytesDeleted, failed } = result;
    return {
      kind: 'slice-done',
      range: request.range,
      done: result.resumeToken === null,
      resumeToken: result.resumeToken,
      counts: { listed, selected, deleted, deleteMarkersDeleted, bytesDeleted, failed },
      throttled: result.throttled,
      failed,
      ms: Date.now() - started,
    };
  } catch (error) {
    return {
      kind: 'slice-done',
      range: request.range,
      done: false,
      resumeToken: null,
      counts: { listed: 0, selected: 0, deleted: 0, deleteMarkersDeleted: 0, bytesDeleted: 0, failed: 0 },
      throttled: 0,
      failed: 0,
      error: error instanceof Error ? error.message : String(error),
      ms: Date.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const endpoint = process.argv[2];
  if (!process.send || !endpoint) {
    process.stderr.write('worker.js runs under the fan-out harness (bench/fanout/run.ts), which talks to it over IPC\n');
    process.exit(2);
  }
  const send = process.send.bind(process);
  process.on('message', (message: SliceRequest) => {
    if (message.kind !== 'slice') return;
    void runSlice(message).then((reply) => send(reply));
  });
  process.on('disconnect', () => process.exit(0));
  await clientFor(endpoint).send(new ListBucketsCommand({}));
  send({ kind: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

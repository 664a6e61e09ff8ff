import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ExampleStack } from '../../bin/example-stack';
import type { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { type LambdaHandler, LocalStepFunctions, stateMachineFromTemplate, type TemplateJson } from '../../bin/demo/local-step-functions';
import { closeServer, forwardTo, listenOnLoopback } from '../../bin/demo/loopback-server';

/** What the synthesized example stack ships: the handler asset and the custom resource's properties. */
export interface SynthesizedHandler {
  /** Directory CDK staged as the function's code asset. */
  readonly assetDir: string;
  /** `Properties` of the Custom::VersionPurger resource, as in the template. */
  readonly resourceProperties: Record<string, unknown>;
  /** Logical id of the custom resource. */
  readonly logicalId: string;
  /** The synthesized template (the workflow's definition is in it). */
  readonly template: TemplateJson;
  /** Logical id of the provider function. */
  readonly functionLogicalId: string;
}

/**
 * Synthesizes the example app into a temporary directory and locates the
 * handler asset from the template's Code asset metadata: the file CDK ships.
 */
export function synthesizeExample(): SynthesizedHandler {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-synth-'));
  // The CLI turns asset metadata on; an in-process App needs it asked for.
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new ExampleStack(app, 'Example');
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }>;
  };
  const resources = Object.entries(template.Resources);
  const fn = resources.find(([, r]) => r.Type === 'AWS::Lambda::Function');
  const custom = resources.find(([, r]) => r.Type === 'Custom::VersionPurger');
  if (!fn || !custom) throw new Error('the example template has no handler function or no Custom::VersionPurger');
  const assetPath = fn[1].Metadata?.['aws:asset:path'];
  if (!assetPath || fn[1].Metadata?.['aws:asset:property'] !== 'Code') throw new Error('the function has no Code asset metadata');
  return {
    assetDir: path.join(outdir, assetPath),
    resourceProperties: custom[1].Properties,
    logicalId: custom[0],
    template: template as unknown as TemplateJson,
    functionLogicalId: fn[0],
  };
}

/** Lambda's context object, with a chosen time budget. */
export interface FakeContext {
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  getRemainingTimeInMillis(): number;
}

export const FUNCTION_NAME = 'version-purger-test';

/** A context whose invocation ends `remainingMs` from now. */
export function fakeContext(remainingMs: number): FakeContext {
  const end = Date.now() + remainingMs;
  return {
    functionName: FUNCTION_NAME,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/version-purger-test',
    logStreamName: '2025/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
  };
}

/** One PUT received on a ResponseURL. */
export interface ReceivedResponse {
  readonly body: string;
  readonly bytes: number;
  readonly json: {
    Status: 'SUCCESS' | 'FAILED';
    Reason?: string;
    PhysicalResourceId: string;
    StackId: string;
    RequestId: string;
    LogicalResourceId: string;
    Data?: unknown;
  };
  readonly contentType: string | undefined;
  readonly receivedAt: number;
}

/** Plays CloudFormation's pre-signed ResponseURL: records every PUT, per request id. */
export class ResponseServer {
  private readonly server: http.Server;
  private readonly received = new Map<string, ReceivedResponse[]>();
  private readonly waiters = new Map<string, Array<(r: ReceivedResponse) => void>>();
  private url = '';
  /** Answer this many PUTs with HTTP 500 before accepting (retry tests). */
  public failNext = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.failNext > 0) {
          this.failNext--;
          res.statusCode = 500;
          res.end();
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        const id = decodeURIComponent((req.url ?? '').split('?')[0].split('/').pop() ?? '');
        const response: ReceivedResponse = {
          body,
          bytes: Buffer.byteLength(body, 'utf8'),
          json: JSON.parse(body),
          contentType: req.headers['content-type'],
          receivedAt: Date.now(),
        };
        this.received.set(id, [...(this.received.get(id) ?? []), response]);
        for (const w of this.waiters.get(id) ?? []) w(response);
        this.waiters.delete(id);
        res.statusCode = 200;
        res.end();
      });
    });
  }

  async start(): Promise<void> {
    this.url = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A pre-signed-looking URL for a request id. */
  urlFor(requestId: string): string {
    return `${this.url}/cloudformation-custom-resource-response/${encodeURIComponent(requestId)}?X-Amz-Signature=test`;
  }

  /** Every answer received for the request. */
  answers(requestId: string): ReceivedResponse[] {
    return this.received.get(requestId) ?? [];
  }

  /** Resolves with the first answer for the request; rejects after `timeoutMs`. */
  waitFor(requestId: string, timeoutMs = 60_000): Promise<ReceivedResponse> {
    const first = this.received.get(requestId)?.[0];
    if (first) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${requestId} within ${timeoutMs} ms`)), timeoutMs);
      const waiter = (r: ReceivedResponse) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.set(requestId, [...(this.waiters.get(requestId) ?? []), waiter]);
    });
  }
}

/** Handler signature of the bundle. */
export type BundledHandler = (event: unknown, context: FakeContext) => Promise<unknown>;

/** The function's own stack id in lifecycle tests: the workflow's name follows from it. */
export const FUNCTION_STACK_ID = `arn:aws:cloudformation:us-east-1:123456789012:stack/Example/${randomUUID()}`;

/**
 * The synthesized workflow on the local Step Functions (local-step-functions.ts), every Lambda
 * task bound to a fresh instance of the bundle, reached by the handler through
 * `AWS_ENDPOINT_URL_SFN`, as it finds its state machine in production: from
 * `VERSION_PURGER_STACK_ID`. Sets both variables; stop it with `stop()`.
 */
export async function startLocalWorkflow(
  synth: Pick<SynthesizedHandler, 'assetDir' | 'template' | 'functionLogicalId'>,
  stackId = FUNCTION_STACK_ID,
): Promise<LocalStepFunctions> {
  const bundle = path.join(synth.assetDir, 'index.js');
  const sfn = new LocalStepFunctions({
    loadHandler: () => {
      let handler: LambdaHandler | undefined;
      jest.isolateModules(() => {
        handler = require(bundle).handler as LambdaHandler;
      });
      return handler!;
    },
  });
  await sfn.start();
  process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
  process.env.VERSION_PURGER_STACK_ID = stackId;
  sfn.createStateMachine(stateMachineFromTemplate(synth.template, { stackId, physicalIds: { [synth.functionLogicalId]: FUNCTION_NAME } }));
  return sfn;
}

/**
 * A pass-through proxy to the S3 endpoint that can add latency to every
 * request, to make purges take measurable time.
 */
export class SlowS3Proxy {
  private readonly server: http.Server;
  public endpoint = '';
  /** Added to every request (ms). */
  public latencyMs = 0;
  /** Requests forwarded. */
  public requests = 0;
  /**
   * When set, DeleteObjects requests after the first N are answered with
   * 503 SlowDown, as S3 does under a request-rate storm.
   */
  public throttleDeletesAfter: number | undefined;
  private deletes = 0;

  constructor(private readonly target: string) {
    const upstream = new URL(target);
    this.server = http.createServer((req, res) => {
      this.requests++;
      const isDeleteObjects = req.method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? '');
      if (isDeleteObjects && this.throttleDeletesAfter !== undefined && ++this.deletes > this.throttleDeletesAfter) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      const forward = () => {
        forwardTo(upstream, req, res);
      };
      if (this.latencyMs > 0) setTimeout(forward, this.latencyMs);
      else forward();
    });
  }

  /** Back to a plain pass-through. */
  reset(): void {
    this.latencyMs = 0;
    this.throttleDeletesAfter = undefined;
    this.deletes = 0;
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

/**
 * CloudFormation-shaped custom resource events for one resource. With a
 * local CloudFormation API, each Delete comes from a stack of its own that
 * the API reports as being deleted, this resource with it.
 */
export class EventFactory {
  private readonly stackId = `arn:aws:cloudformation:us-east-1:123456789012:stack/Example/${randomUUID()}`;

  constructor(
    private readonly synth: SynthesizedHandler,
    private readonly responses: ResponseServer,
    private readonly cloudFormation?: LocalCloudFormationApi,
  ) {}

  /** The physical id the handler gives the resource for `bucket`: `version-purger:<bucket>:<owner id>`. */
  physicalId(bucket: string): string {
    return `version-purger:${bucket}:${this.ownerId}`;
  }

  /** The owner id the template gives the resource (and the bucket's tag). */
  get ownerId(): string {
    return this.synth.resourceProperties.OwnerId as string;
  }

  /** The template's properties with intrinsics resolved for `bucket`, plus overrides (strings, as CloudFormation sends). */
  properties(bucket: string, overrides: Record<string, string> = {}): Record<string, unknown> {
    const props: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(this.synth.resourceProperties)) {
      props[name] = typeof value === 'string' ? value : undefined;
    }
    props.ServiceToken = `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`;
    props.BucketName = bucket;
    return { ...props, ...overrides };
  }

  private base(bucket: string, overrides: Record<string, string>, stackId = this.stackId) {
    const requestId = randomUUID();
    return {
      ServiceToken: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
      ResponseURL: this.responses.urlFor(requestId),
      StackId: stackId,
      RequestId: requestId,
      LogicalResourceId: this.synth.logicalId,
      ResourceType: 'Custom::VersionPurger',
      ResourceProperties: this.properties(bucket, overrides),
    };
  }

  create(bucket: string, overrides: Record<string, string> = {}) {
    return { RequestType: 'Create' as const, ...this.base(bucket, overrides) };
  }

  update(bucket: string, physicalId: string, overrides: Record<string, string> = {}) {
    return {
      RequestType: 'Update' as const,
      ...this.base(bucket, overrides),
      PhysicalResourceId: physicalId,
      OldResourceProperties: this.properties(bucket),
    };
  }

  /** A Delete during the deletion of a stack of its own (registered with the local CloudFormation API, if any). */
  delete(bucket: string, physicalId: string, overrides: Record<string, string> = {}) {
    const stackId = `arn:aws:cloudformation:us-east-1:123456789012:stack/Example/${randomUUID()}`;
    this.cloudFormation?.stacks.set(stackId, {
      status: 'DELETE_IN_PROGRESS',
      resources: new Map([
        [this.synth.logicalId, { physicalResourceId: physicalId, resourceType: 'Custom::VersionPurger', resourceStatus: 'DELETE_IN_PROGRESS' }],
      ]),
    });
    return { RequestType: 'Delete' as const, ...this.base(bucket, overrides, stackId), PhysicalResourceId: physicalId };
  }
}

/**
 * Captures the EMF lines (CloudWatch metrics) the handler writes to stdout
 * into `into`, and keeps them out of the test output; everything else passes
 * through. Restore the returned spy when done.
 */
export function captureEmfLines(into: Array<Record<string, any>>): jest.SpyInstance {
  const write = process.stdout.write.bind(process.stdout);
  return jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const lines = String(chunk).split('\n').filter((l) => l.includes('"_aws"'));
    if (lines.length === 0) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    for (const line of lines) into.push(JSON.parse(line));
    return true;
  }) as typeof process.stdout.write);
}

/**
 * Everything a workflow end-to-end test runs against, started once per test file:
 *
 * - a stack synthesized with aws-cdk-lib around the real construct (its template gives the
 *   state machine definition, the function's timeout, the purgers' properties and metadata, and
 *   the handler asset CDK staged: the BUNDLED handler);
 * - the local Step Functions (bin/demo/local-step-functions.ts) running that definition, every
 *   Lambda task bound to the bundle, reached by the handler through `AWS_ENDPOINT_URL_SFN`;
 * - moto (jest global setup) behind a pass-through proxy that can slow S3 down, a shim that makes its
 *   bare-KeyMarker listings behave as S3's (test/support/moto-key-marker-shim.ts), and a proxy that can
 *   make its listings fail;
 * - the local CloudFormation read API, and a server playing the pre-signed ResponseURL.
 *
 * The handler finds its state machine from `VERSION_PURGER_STACK_ID` (the construct sets it to
 * AWS::StackId), so the stack id here is the one the definition's name is resolved with.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutBucketTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { VersionPurger } from '../../lib';
import { captureEmfLines, FUNCTION_NAME, ResponseServer, SlowS3Proxy } from './lifecycle';
import { MotoKeyMarkerShim } from './moto-key-marker-shim';
import { type LambdaHandler, LocalStepFunctions, resolveIntrinsics, stateMachineFromTemplate, type TemplateJson } from '../../bin/demo/local-step-functions';
import { createBucket, testClient, testEndpoint, uniqueBucketName } from './s3';
import { resolveDeep } from './template';
import { closeServer, forwardTo, listenOnLoopback } from '../../bin/demo/loopback-server';

/** A stack synthesized for a workflow test. */
export interface WorkflowStack {
  readonly template: TemplateJson;
  /** The handler asset CDK staged (index.js is the bundle). */
  readonly assetDir: string;
  /** The provider function's logical id. */
  readonly functionLogicalId: string;
  /** The stack id it is "deployed" with. */
  readonly stackId: string;
}

/** Synthesizes a stack named `Workflow` built by `build`, with asset metadata so that the staged bundle can be found. */
export function synthesizeWorkflowStack(build: (stack: Stack) => void): WorkflowStack {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'vp-workflow-synth-'));
  // The CLI turns asset metadata on; an in-process App needs it asked for.
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Workflow');
  build(stack);
  const template = app.synth().getStackByName(stack.stackName).template as TemplateJson;
  const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const withAsset = functions.filter(([, r]) => r.Metadata?.['aws:asset:property'] === 'Code');
  if (withAsset.length !== 1) throw new Error(`expected one function with a Code asset, found ${withAsset.length}`);
  const [functionLogicalId, fn] = withAsset[0];
  return {
    template,
    assetDir: path.join(outdir, fn.Metadata!['aws:asset:path']),
    functionLogicalId,
    stackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${stack.stackName}/${randomUUID()}`,
  };
}

/** The logical id of the one resource of `type` whose logical id starts with `prefix`. */
export function logicalIdOf(template: TemplateJson, type: string, prefix = ''): string {
  const ids = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}…, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** The servers and clients of a workflow test file. */
export class WorkflowWorld {
  public readonly responses = new ResponseServer();
  public readonly cloudFormation = new LocalCloudFormationApi();
  public readonly proxy = new SlowS3Proxy(testEndpoint());
  /** Between {@link faults} and {@link proxy}: moto's bare-KeyMarker listings as S3's (each key range starts with one). */
  public keyMarkerShim!: MotoKeyMarkerShim;
  /** The handler's S3 endpoint, in front of {@link keyMarkerShim}. */
  public faults!: FaultyS3Proxy;
  public readonly sfn: LocalStepFunctions;
  public readonly s3: S3Client = testClient();
  /** EMF lines the handler wrote to stdout. */
  public readonly emf: Array<Record<string, any>> = [];
  public stateMachineArn = '';
  /** One instance of the bundle, for the invocations CloudFormation or EventBridge make directly. */
  public handler!: LambdaHandler;
  private readonly savedEnv = { ...process.env };
  private stdoutSpy: jest.SpyInstance | undefined;

  constructor(public readonly stack: WorkflowStack) {
    const bundle = path.join(stack.assetDir, 'index.js');
    this.sfn = new LocalStepFunctions({ loadHandler: () => loadIsolated(bundle) });
  }

  async start(): Promise<void> {
    await Promise.all([this.responses.start(), this.cloudFormation.start(), this.proxy.start(), this.sfn.start()]);
    this.keyMarkerShim = new MotoKeyMarkerShim(this.proxy.endpoint);
    await this.keyMarkerShim.start();
    this.faults = new FaultyS3Proxy(this.keyMarkerShim.endpoint);
    await this.faults.start();
    // The bundle reads these when it first builds its clients.
    process.env.AWS_ENDPOINT_URL_S3 = this.faults.endpoint;
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = this.cloudFormation.endpoint;
    process.env.AWS_ENDPOINT_URL_SFN = this.sfn.endpoint;
    process.env.AWS_LAMBDA_FUNCTION_NAME = FUNCTION_NAME;
    // The construct sets this to AWS::StackId.
    process.env.VERSION_PURGER_STACK_ID = this.stack.stackId;
    process.env.POWERTOOLS_LOG_LEVEL = process.env.VP_TEST_LOGS ? 'DEBUG' : 'SILENT';
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    this.stdoutSpy = captureEmfLines(this.emf);
    this.cloudFormation.stacks.set(this.stack.stackId, { status: 'CREATE_COMPLETE', resources: new Map(), events: [] });
    const machine = stateMachineFromTemplate(this.stack.template, {
      stackId: this.stack.stackId,
      physicalIds: { [this.stack.functionLogicalId]: FUNCTION_NAME },
    });
    this.stateMachineArn = this.sfn.createStateMachine(machine);
    this.handler = loadIsolated(path.join(this.stack.assetDir, 'index.js'));
  }

  async stop(): Promise<void> {
    this.stdoutSpy?.mockRestore();
    await Promise.all([
      this.sfn.stop(),
      this.responses.stop(),
      this.cloudFormation.stop(),
      this.faults?.stop(),
      this.keyMarkerShim?.stop(),
      this.proxy.stop(),
    ]);
    process.env = this.savedEnv;
  }

  /** Properties of a Custom::VersionPurger as CloudFormation sends them: scalars as strings, the bucket resolved. */
  purgerProperties(purgerLogicalId: string, bucket: string, overrides: Record<string, string> = {}): Record<string, string> {
    const resource = this.stack.template.Resources[purgerLogicalId];
    const properties: Record<string, string> = {};
    for (const [name, value] of Object.entries(resource.Properties ?? {})) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') properties[name] = String(value);
    }
    properties.ServiceToken = `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`;
    properties.BucketName = bucket;
    return { ...properties, ...overrides };
  }

  /** The physical id the handler gives a purger for `bucket`: `version-purger:<bucket>:<owner id>`. */
  physicalId(purgerLogicalId: string, bucket: string): string {
    return `version-purger:${bucket}:${this.ownerId(purgerLogicalId)}`;
  }

  /** The owner id the template gives the purger (and its bucket's tag). */
  ownerId(purgerLogicalId: string): string {
    return String(this.stack.template.Resources[purgerLogicalId].Properties?.OwnerId);
  }

  /** A versioned bucket tagged for the purger, as the construct leaves it. */
  async taggedBucket(purgerLogicalId: string, label: string, options: { objectLock?: boolean } = {}): Promise<string> {
    const bucket = await createBucket(this.s3, uniqueBucketName(label), options);
    await this.s3.send(
      new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: VersionPurger.PURGE_TAG_KEY, Value: this.ownerId(purgerLogicalId) }] } }),
    );
    return bucket;
  }

  /**
   * The Delete CloudFormation sends while deleting the stack; the local CloudFormation API reports the
   * stack DELETE_IN_PROGRESS with this purger in it.
   */
  deleteEvent(purgerLogicalId: string, bucket: string, overrides: Record<string, string> = {}): Record<string, any> & { RequestId: string } {
    const physicalId = this.physicalId(purgerLogicalId, bucket);
    const stack = this.cloudFormation.stacks.get(this.stack.stackId)!;
    stack.status = 'DELETE_IN_PROGRESS';
    stack.resources.set(purgerLogicalId, { physicalResourceId: physicalId, resourceType: 'Custom::VersionPurger', resourceStatus: 'DELETE_IN_PROGRESS' });
    const requestId = randomUUID();
    return {
      RequestType: 'Delete',
      ServiceToken: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
      ResponseURL: this.responses.urlFor(requestId),
      StackId: this.stack.stackId,
      RequestId: requestId,
      LogicalResourceId: purgerLogicalId,
      ResourceType: 'Custom::VersionPurger',
      PhysicalResourceId: physicalId,
      ResourceProperties: this.purgerProperties(purgerLogicalId, bucket, overrides),
    };
  }

  /**
   * The input the purger's EventBridge rule sends (read from the template: the rule targeting the
   * state machine, with the purger's logical id in its input); registers the purger's resource and
   * metadata (references resolved to `bucket`) with the local CloudFormation API, the stack in service.
   */
  retentionInput(purgerLogicalId: string, bucket: string, refs: Record<string, string> = {}): Record<string, any> {
    const rules = Object.values(this.stack.template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const targets = rules.map((r) => r.Properties?.Targets?.[0] ?? {});
    const target = targets.find((t) => JSON.parse(t.Input ?? '{}').purger === purgerLogicalId);
    if (!target) throw new Error(`no rule sends a retention run for ${purgerLogicalId}`);
    // EventBridge starts the workflow: the rule's target is this state machine.
    const targetArn = resolveIntrinsics(target.Arn, this.stack.template, { stackId: this.stack.stackId });
    if (targetArn !== this.stateMachineArn) throw new Error(`the rule for ${purgerLogicalId} targets ${targetArn}, not the state machine`);
    const input = JSON.parse(target.Input) as Record<string, any>;
    const resource = this.stack.template.Resources[purgerLogicalId];
    const bucketRef = (resource.Properties?.BucketName as { Ref?: string } | undefined)?.Ref;
    const stack = this.cloudFormation.stacks.get(this.stack.stackId)!;
    stack.status = 'UPDATE_COMPLETE';
    stack.resources.set(purgerLogicalId, {
      physicalResourceId: this.physicalId(purgerLogicalId, bucket),
      resourceType: resource.Type,
      resourceStatus: 'CREATE_COMPLETE',
      metadata: JSON.stringify(resolveDeep(resource.Metadata, { ...(bucketRef && { [bucketRef]: bucket }), ...refs })),
    });
    return input;
  }

  /** EMF lines emitted for a bucket. */
  metricsFor(bucket: string): Array<Record<string, any>> {
    return this.emf.filter((line) => line.BucketName === bucket);
  }
}

/**
 * A fresh instance of the bundle (its own module state: SDK clients, caches, metrics), as a new
 * Lambda sandbox would load it. jest's isolateModules gives the bundle a registry of its own.
 */
export function loadIsolated(bundle: string): LambdaHandler {
  let handler: LambdaHandler | undefined;
  jest.isolateModules(() => {
    handler = require(bundle).handler as LambdaHandler;
  });
  if (!handler) throw new Error(`${bundle} exports no handler`);
  return handler;
}

/**
 * A pass-through proxy to S3 that, when asked, answers every ListObjectVersions with
 * 500 InternalError, as a failing S3 would: makes a workflow step fail with an error of ours.
 */
export class FaultyS3Proxy {
  public endpoint = '';
  /** Answer ListObjectVersions with 500 InternalError. */
  public failListings = false;
  /** ListObjectVersions requests answered with an error. */
  public failed = 0;
  private readonly server: http.Server;

  constructor(target: string) {
    const upstream = new URL(target);
    this.server = http.createServer((req, res) => {
      if (this.failListings && req.method === 'GET' && /[?&]versions(=|&|$)/.test(req.url ?? '')) {
        this.failed++;
        req.resume();
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>');
        return;
      }
      forwardTo(upstream, req, res);
    });
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}

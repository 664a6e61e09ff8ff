import { randomBytes } from 'node:crypto';
import { internalError, S3Error, slowDown } from './errors';
import { FaultInjector } from './fault-injector';
import { serviceDelay, type LatencyClass } from './latency';
import { DEFAULT_CONFIG, faultSettings, latencySettings, throttleSettings, updateConfig, type ModelConfig } from './model-config';
import { executeS3, type S3Response } from './operations';
import { errorXml } from './response-xml';
import { parseS3Request, type HttpInput, type S3Request } from './s3-request';
import { seedBucket, type SeedResult, type SeedSpec } from './seed';
import { RequestStats, type StatsSnapshot } from './stats';
import { ModelStore } from './store';
import { costByPartition, PartitionThrottle } from './token-bucket';

function latencyClassOf(request: S3Request | undefined): LatencyClass {
  switch (request?.op) {
    case 'ListObjectVersions':
    case 'ListObjectsV2':
    case 'ListObjects':
      return { kind: 'list' };
    case 'DeleteObjects':
      return { kind: 'deleteObjects', keys: request.objects.length };
    default:
      return { kind: 'other' };
  }
}

/** Tokens a request must pay, by partition; undefined for requests S3 does not throttle here. */
function throttleCost(request: S3Request): Map<string, number> | undefined {
  switch (request.op) {
    case 'DeleteObjects':
      return costByPartition(request.bucket, request.objects.map((o) => o.key));
    case 'DeleteObject':
    case 'PutObject':
      return costByPartition(request.bucket, [request.key]);
    default:
      return undefined;
  }
}

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/**
 * The S3 model without HTTP plumbing: decodes a request, charges the
 * throttle, waits out the service time, then applies it to the store.
 */
export class S3Model {
  readonly store = new ModelStore();
  private readonly stats = new RequestStats();
  private currentConfig: ModelConfig;
  private readonly throttle: PartitionThrottle;
  private readonly faults: FaultInjector;

  constructor(config: Partial<ModelConfig> = {}) {
    this.currentConfig = updateConfig(DEFAULT_CONFIG, config);
    this.throttle = new PartitionThrottle(throttleSettings(this.currentConfig));
    this.faults = new FaultInjector(faultSettings(this.currentConfig));
  }

  get config(): ModelConfig {
    return this.currentConfig;
  }

  configure(patch: unknown): ModelConfig {
    this.currentConfig = updateConfig(this.currentConfig, patch);
    this.throttle.configure(throttleSettings(this.currentConfig));
    this.faults.configure(faultSettings(this.currentConfig));
    return this.currentConfig;
  }

  seed(spec: SeedSpec): SeedResult {
    return seedBucket(this.store, spec);
  }

  statistics(): StatsSnapshot {
    return { ...this.stats.snapshot(this.store), faultsInjected: this.faults.injected };
  }

  /** Drops all buckets, counters and throttle state, and restarts the fault sequence; keeps the configuration. */
  reset(): void {
    this.store.reset();
    this.stats.reset();
    this.throttle.reset();
    this.faults.reset();
  }

  async handle(input: HttpInput): Promise<S3Response> {
    this.stats.requestStarted();
    let servedTime = false;
    let parsed = false;
    try {
      const request = parseS3Request(input);
      parsed = true;
      this.stats.operation(request.op);
      const fault = this.faults.forRequest();
      if (fault === 'internal-error') throw internalError();
      if (fault === 'reset-before') return { status: 0, headers: {}, resetConnection: true };
      const cost = throttleCost(request);
      if (cost && !this.throttle.tryTake(cost)) throw slowDown();
      if (request.op === 'DeleteObjects') this.stats.deleteObjectsAdmitted(request.objects.length);
      await serviceDelay(latencySettings(this.currentConfig), latencyClassOf(request));
      servedTime = true;
      const response = executeS3(this.store, request, () => this.faults.failKey());
      return fault === 'reset-after' ? { ...response, resetConnection: true } : response;
    } catch (error) {
      if (!parsed) this.stats.operation('Unparsed');
      // Rejections (bad requests, 503s) still cost S3 a round trip.
      if (!servedTime) await serviceDelay(latencySettings(this.currentConfig), { kind: 'other' });
      return this.errorResponse(input, error);
    } finally {
      this.stats.requestFinished();
    }
  }

  private errorResponse(input: HttpInput, error: unknown): S3Response {
    const s3Error = error instanceof S3Error ? error : new S3Error(500, 'InternalError', `We encountered an internal error: ${String(error)}`);
    this.stats.error(s3Error.code);
    const id = requestId();
    const headers = { 'x-amz-request-id': id, ...s3Error.headers };
    if (input.method === 'HEAD') return { status: s3Error.status, headers };
    const resource = input.url.split('?')[0];
    return { status: s3Error.status, headers: { ...headers, 'content-type': 'application/xml' }, body: errorXml(s3Error, resource, id) };
  }
}

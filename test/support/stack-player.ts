import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketTaggingCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import type { LocalCloudFormationApi } from '../../bin/demo/local-cloudformation';
import { type BundledHandler, fakeContext, FUNCTION_NAME, type ReceivedResponse, type ResponseServer } from './lifecycle';

/** A synthesized template, as far as the player reads it. */
export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }>;
}

/** Synthesizes one version of a stack named `Lifecycle` (no assets: the handler comes from the shipped bundle). */
export function synthTemplate(build: (stack: Stack) => void): TemplateJson {
  const app = new App();
  const stack = new Stack(app, 'Lifecycle');
  build(stack);
  return app.synth().getStackByName(stack.stackName).template as TemplateJson;
}

/** One request CloudFormation sent to the handler, and the answer it got. */
export interface PlayedRequest {
  readonly stackStatus: string;
  readonly event: Record<string, any>;
  readonly answer: ReceivedResponse['json'];
}

/** One DeleteBucket CloudFormation attempted. */
export interface BucketDeletion {
  readonly bucket: string;
  /** `deleted`, or the error code (`BucketNotEmpty`). */
  readonly outcome: string;
}

interface BucketState {
  readonly name: string;
  readonly tags: ReadonlyArray<{ Key: string; Value: string }>;
}

interface PurgerState {
  readonly physicalId: string;
  readonly properties: Record<string, string>;
}

/** Options of one deployment. */
export interface DeployOptions {
  /** A later resource fails, so that CloudFormation rolls the update back. */
  readonly failAfterUpdates?: boolean;
  /** Runs after the update phase, before cleanup or rollback (look at the buckets here). */
  readonly afterUpdates?: () => Promise<void>;
  /** Runs while the stack is in its cleanup phase, before CloudFormation's own deletions. */
  readonly duringCleanup?: () => Promise<void>;
}

/**
 * Plays CloudFormation against the bundled handler and moto, in CloudFormation's
 * real order of events, for templates synthesized from the construct:
 *
 * - update phase: creates and replaces buckets (with the template's tags),
 *   retags kept ones, then sends Create to new purgers and Update to changed ones;
 * - cleanup phase (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS): Delete to removed
 *   purgers and to replaced physical ids, with their old properties, then
 *   deletes removed and replaced buckets;
 * - a failed update instead rolls back (UPDATE_ROLLBACK_IN_PROGRESS): Update
 *   back to the old properties and tags, then, in
 *   UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, Delete to what the failed
 *   update created;
 * - stack deletion (DELETE_IN_PROGRESS): Delete to every purger, then
 *   DeleteBucket for every bucket.
 *
 * It keeps the local CloudFormation API's view of the stack (its status, and
 * each purger's physical id and status) in step, as CloudFormation would.
 */
export class StackPlayer {
  public readonly stackId = `arn:aws:cloudformation:us-east-1:123456789012:stack/Lifecycle/${randomUUID()}`;
  /** Every request sent to the handler, in order. */
  public readonly requests: PlayedRequest[] = [];
  /** Every DeleteBucket attempted, in order. */
  public readonly bucketDeletions: BucketDeletion[] = [];
  private readonly buckets = new Map<string, BucketState>();
  private readonly purgers = new Map<string, PurgerState>();
  private readonly suffix = randomBytes(3).toString('hex');
  private deployed = false;

  constructor(
    private readonly handler: BundledHandler,
    private readonly responses: ResponseServer,
    private readonly cloudFormation: LocalCloudFormationApi,
    private readonly s3: S3Client,
  ) {
    cloudFormation.stacks.set(this.stackId, { status: 'CREATE_IN_PROGRESS', resources: new Map(), events: [] });
  }

  /** Physical name of the bucket with this logical id (as deployed now). */
  bucketName(logicalId: string): string {
    const bucket = this.buckets.get(logicalId);
    if (!bucket) throw new Error(`no bucket ${logicalId} is deployed`);
    return bucket.name;
  }

  /** Physical id and properties of the purger with this logical id (as deployed now). */
  purger(logicalId: string): PurgerState {
    const purger = this.purgers.get(logicalId);
    if (!purger) throw new Error(`no purger ${logicalId} is deployed`);
    return purger;
  }

  /** Deploys a template version: a creation first, an update after. */
  async deploy(template: TemplateJson, options: DeployOptions = {}): Promise<void> {
    const creating = !this.deployed;
    this.setStatus(creating ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS');
    const before = { buckets: new Map(this.buckets), purgers: new Map(this.purgers) };
    const createdBuckets: string[] = [];
    const replacedBuckets: Array<{ id: string; old: BucketState }> = [];
    const retagged: Array<{ id: string; old: BucketState }> = [];
    for (const [id, resource] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket')) {
      const old = this.buckets.get(id);
      const tags = (resource.Properties?.Tags ?? []) as BucketState['tags'];
      const name = (resource.Properties?.BucketName as string | undefined) ?? old?.name ?? this.generatedName(id);
      if (!old || old.name !== name) {
        await this.createBucket(name, tags);
        this.buckets.set(id, { name, tags });
        if (old) replacedBuckets.push({ id, old });
        else createdBuckets.push(id);
      } else if (JSON.stringify(old.tags) !== JSON.stringify(tags)) {
        await this.putTags(name, tags);
        this.buckets.set(id, { name, tags });
        retagged.push({ id, old });
      }
    }
    const createdPurgers: string[] = [];
    const updatedPurgers: Array<{ id: string; old: PurgerState }> = [];
    for (const [id, resource] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'Custom::VersionPurger')) {
      const properties = this.resolveProperties(resource.Properties ?? {});
      const old = this.purgers.get(id);
      if (!old) {
        this.setResource(id, 'pending', 'CREATE_IN_PROGRESS');
        const answer = await this.send({ RequestType: 'Create', LogicalResourceId: id, ResourceProperties: properties });
        this.purgers.set(id, { physicalId: answer.PhysicalResourceId, properties });
        this.setResource(id, answer.PhysicalResourceId, 'CREATE_COMPLETE');
        createdPurgers.push(id);
      } else if (JSON.stringify(old.properties) !== JSON.stringify(properties)) {
        this.setResource(id, old.physicalId, 'UPDATE_IN_PROGRESS');
        const answer = await this.send({
          RequestType: 'Update',
          LogicalResourceId: id,
          PhysicalResourceId: old.physicalId,
          ResourceProperties: properties,
          OldResourceProperties: old.properties,
        });
        this.purgers.set(id, { physicalId: answer.PhysicalResourceId, properties });
        this.setResource(id, answer.PhysicalResourceId, 'UPDATE_COMPLETE');
        updatedPurgers.push({ id, old });
      }
    }
    await options.afterUpdates?.();

    if (options.failAfterUpdates) {
      this.setStatus(creating ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_IN_PROGRESS');
      const abandoned: Array<{ id: string; state: PurgerState }> = [];
      for (const { id, old } of updatedPurgers) {
        const now = this.purger(id);
        this.setResource(id, now.physicalId, 'UPDATE_IN_PROGRESS');
        const answer = await this.send({
          RequestType: 'Update',
          LogicalResourceId: id,
          PhysicalResourceId: now.physicalId,
          ResourceProperties: old.properties,
          OldResourceProperties: now.properties,
        });
        this.purgers.set(id, { physicalId: answer.PhysicalResourceId, properties: old.properties });
        this.setResource(id, answer.PhysicalResourceId, 'UPDATE_COMPLETE');
        if (answer.PhysicalResourceId !== now.physicalId) abandoned.push({ id, state: now });
      }
      for (const { id, old } of retagged) {
        await this.putTags(old.name, old.tags);
        this.buckets.set(id, old);
      }
      const newBuckets = [...createdBuckets.map((id) => this.bucketName(id)), ...replacedBuckets.map(({ id }) => this.bucketName(id))];
      for (const { id, old } of replacedBuckets) this.buckets.set(id, old);
      this.setStatus(creating ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
      for (const id of createdPurgers) await this.deletePurger(id, this.purger(id));
      for (const { id, state } of abandoned) await this.deleteReplaced(id, state);
      for (const name of newBuckets) await this.deleteBucket(name);
      for (const id of createdBuckets) this.buckets.delete(id);
      this.setStatus(creating ? 'ROLLBACK_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE');
      return;
    }

    if (!creating) {
      this.setStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      await options.duringCleanup?.();
      for (const [id, old] of before.purgers) {
        if (!(id in template.Resources)) await this.deletePurger(id, old);
      }
      for (const { id, old } of updatedPurgers) {
        if (this.purger(id).physicalId !== old.physicalId) await this.deleteReplaced(id, old);
      }
      for (const [id, old] of before.buckets) {
        if (!(id in template.Resources)) {
          await this.deleteBucket(old.name);
          this.buckets.delete(id);
        }
      }
      for (const { old } of replacedBuckets) await this.deleteBucket(old.name);
    }
    this.setStatus(creating ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE');
    this.deployed = true;
  }

  /** Deletes the stack: Delete to every purger, then DeleteBucket for every bucket. */
  async destroy(): Promise<void> {
    this.setStatus('DELETE_IN_PROGRESS');
    for (const [id, state] of [...this.purgers]) await this.deletePurger(id, state);
    for (const [id, bucket] of [...this.buckets]) {
      await this.deleteBucket(bucket.name);
      this.buckets.delete(id);
    }
    this.setStatus('DELETE_COMPLETE');
  }

  /** A Delete event as CloudFormation would send it for this purger's physical id. */
  deleteEvent(logicalId: string, state: PurgerState): Record<string, any> {
    return {
      RequestType: 'Delete',
      LogicalResourceId: logicalId,
      PhysicalResourceId: state.physicalId,
      ResourceProperties: state.properties,
    };
  }

  /** Sends one request, filled in as CloudFormation does, and waits for the handler's answer. */
  async send(partial: Record<string, any>): Promise<ReceivedResponse['json']> {
    const requestId = randomUUID();
    const event = {
      ServiceToken: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
      ResponseURL: this.responses.urlFor(requestId),
      StackId: this.stackId,
      RequestId: requestId,
      ResourceType: 'Custom::VersionPurger',
      ...partial,
    };
    await this.handler(event, fakeContext(60_000));
    const answer = (await this.responses.waitFor(requestId, 120_000)).json;
    this.requests.push({ stackStatus: this.status(), event, answer });
    return answer;
  }

  private async deletePurger(id: string, state: PurgerState): Promise<void> {
    this.setResource(id, state.physicalId, 'DELETE_IN_PROGRESS');
    await this.send(this.deleteEvent(id, state));
    this.purgers.delete(id);
    this.cloudFormation.stacks.get(this.stackId)!.resources.delete(id);
  }

  private status(): string {
    return this.cloudFormation.stacks.get(this.stackId)?.status ?? 'UNKNOWN_TO_CLOUDFORMATION';
  }

  private setStatus(status: string): void {
    const stack = this.cloudFormation.stacks.get(this.stackId)!;
    stack.status = status;
    stack.events?.push({ logicalResourceId: 'Lifecycle', physicalResourceId: this.stackId, resourceType: 'AWS::CloudFormation::Stack', resourceStatus: status });
  }

  private setResource(id: string, physicalResourceId: string, resourceStatus: string): void {
    const stack = this.cloudFormation.stacks.get(this.stackId)!;
    stack.resources.set(id, { physicalResourceId, resourceType: 'Custom::VersionPurger', resourceStatus });
    this.recordEvent(id, physicalResourceId, resourceStatus);
  }

  private recordEvent(id: string, physicalResourceId: string, resourceStatus: string): void {
    this.cloudFormation.stacks
      .get(this.stackId)
      ?.events?.push({ logicalResourceId: id, physicalResourceId, resourceType: 'Custom::VersionPurger', resourceStatus });
  }

  /** Deletes a physical id an update or a rollback replaced: CloudFormation records its deletion in the stack's events. */
  private async deleteReplaced(id: string, state: PurgerState): Promise<void> {
    this.recordEvent(id, state.physicalId, 'DELETE_IN_PROGRESS');
    await this.send(this.deleteEvent(id, state));
    this.recordEvent(id, state.physicalId, 'DELETE_COMPLETE');
  }

  /** CloudFormation's resolution of the properties: references to buckets and the function, scalars as strings. */
  private resolveProperties(properties: Record<string, any>): Record<string, string> {
    const resolve = (value: any): string => {
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      if (value?.Ref !== undefined) return this.bucketName(value.Ref);
      if (value?.['Fn::GetAtt']) return `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`;
      throw new Error(`the player cannot resolve ${JSON.stringify(value)}`);
    };
    return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, resolve(v)]));
  }

  private generatedName(logicalId: string): string {
    return `lifecycle-${logicalId.slice(0, 20).toLowerCase()}-${this.suffix}-${randomBytes(2).toString('hex')}`;
  }

  private async createBucket(name: string, tags: BucketState['tags']): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: name }));
    await this.s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
    await this.putTags(name, tags);
  }

  private async putTags(name: string, tags: BucketState['tags']): Promise<void> {
    if (tags.length === 0) await this.s3.send(new DeleteBucketTaggingCommand({ Bucket: name }));
    else await this.s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: [...tags] } }));
  }

  private async deleteBucket(name: string): Promise<void> {
    try {
      await this.s3.send(new DeleteBucketCommand({ Bucket: name }));
      this.bucketDeletions.push({ bucket: name, outcome: 'deleted' });
    } catch (err) {
      this.bucketDeletions.push({ bucket: name, outcome: (err as { name?: string }).name ?? String(err) });
    }
  }
}

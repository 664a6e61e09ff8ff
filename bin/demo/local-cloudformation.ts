import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from './loopback-server';

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
  const endpoint = await listenOnLoopback(server);
  return {
    url: `${endpoint}/cloudformation-response?X-Amz-Signature=local`,
    answer,
    close: () => server.close(),
  };
}

/** A resource as the local CloudFormation API reports it. */
export interface LocalStackResource {
  physicalResourceId: string;
  resourceType: string;
  /** For example `CREATE_COMPLETE`, `UPDATE_COMPLETE`, `DELETE_IN_PROGRESS`. */
  resourceStatus: string;
  /** The resource's `Metadata`, with references resolved, as JSON. */
  metadata?: string;
}

/** One stack event, as `DescribeStackEvents` reports it. */
export interface LocalStackEvent {
  readonly logicalResourceId: string;
  readonly physicalResourceId: string;
  readonly resourceType: string;
  readonly resourceStatus: string;
}

/** A stack as the local CloudFormation API reports it. */
export interface LocalStack {
  /** For example `UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`, `DELETE_IN_PROGRESS`. */
  status: string;
  /** By logical id. */
  readonly resources: Map<string, LocalStackResource>;
  /** Oldest first (served newest first, as CloudFormation does). */
  readonly events?: LocalStackEvent[];
}

/** One call the local CloudFormation API received. */
export interface LocalCloudFormationCall {
  readonly action: string;
  readonly params: Record<string, string>;
}

const CFN_XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** Escapes text for an XML element. */
function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A local stand-in for CloudFormation's read API, as far as the handler uses
 * it: `DescribeStacks`, `DescribeStackResource` and `DescribeStackEvents` (AWS query protocol), for
 * the stacks registered in {@link stacks} by their stack ARN. Any other stack
 * "does not exist", as CloudFormation answers for an unknown stack id. Point
 * the SDK at it with `AWS_ENDPOINT_URL_CLOUDFORMATION`.
 */
export class LocalCloudFormationApi {
  /** The stacks it knows, by stack id (ARN). */
  public readonly stacks = new Map<string, LocalStack>();
  /** Every call received, in order. */
  public readonly calls: LocalCloudFormationCall[] = [];
  public endpoint = '';
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const action = params.Action ?? '';
      this.calls.push({ action, params });
      const { status, body } = this.answer(action, params);
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(body);
    });
  });

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private answer(action: string, params: Record<string, string>): { status: number; body: string } {
    const stackId = params.StackName ?? '';
    const stack = this.stacks.get(stackId);
    const stackName = stackId.split('/')[1] ?? stackId;
    if (action === 'DescribeStacks') {
      if (!stack) return this.error('ValidationError', `Stack with id ${stackId} does not exist`);
      return this.ok(
        action,
        `<Stacks><member><StackId>${xmlText(stackId)}</StackId><StackName>${xmlText(stackName)}</StackName>` +
          `<CreationTime>2026-01-01T00:00:00.000Z</CreationTime><StackStatus>${stack.status}</StackStatus></member></Stacks>`,
      );
    }
    if (action === 'DescribeStackResource') {
      if (!stack) return this.error('ValidationError', `Stack '${stackId}' does not exist`);
      const logicalId = params.LogicalResourceId ?? '';
      const resource = stack.resources.get(logicalId);
      if (!resource) return this.error('ValidationError', `Resource ${logicalId} does not exist for stack ${stackName}`);
      return this.ok(
        action,
        `<StackResourceDetail><StackId>${xmlText(stackId)}</StackId><StackName>${xmlText(stackName)}</StackName>` +
          `<LogicalResourceId>${xmlText(logicalId)}</LogicalResourceId>` +
          `<PhysicalResourceId>${xmlText(resource.physicalResourceId)}</PhysicalResourceId>` +
          `<ResourceType>${xmlText(resource.resourceType)}</ResourceType>` +
          `<LastUpdatedTimestamp>2026-01-01T00:00:00.000Z</LastUpdatedTimestamp>` +
          `<ResourceStatus>${resource.resourceStatus}</ResourceStatus>` +
          (resource.metadata !== undefined ? `<Metadata>${xmlText(resource.metadata)}</Metadata>` : '') +
          '</StackResourceDetail>',
      );
    }
    if (action === 'DescribeStackEvents') {
      if (!stack) return this.error('ValidationError', `Stack [${stackId}] does not exist`);
      const members = [...(stack.events ?? [])]
        .reverse()
        .map(
          (e, i) =>
            `<member><StackId>${xmlText(stackId)}</StackId><EventId>e${i}</EventId><StackName>${xmlText(stackName)}</StackName>` +
            `<LogicalResourceId>${xmlText(e.logicalResourceId)}</LogicalResourceId>` +
            `<PhysicalResourceId>${xmlText(e.physicalResourceId)}</PhysicalResourceId>` +
            `<ResourceType>${xmlText(e.resourceType)}</ResourceType><Timestamp>2026-01-01T00:00:00.000Z</Timestamp>` +
            `<ResourceStatus>${e.resourceStatus}</ResourceStatus></member>`,
        )
        .join('');
      return this.ok(action, `<StackEvents>${members}</StackEvents>`);
    }
    return this.error('InvalidAction', `the local CloudFormation API does not implement ${action}`);
  }

  private ok(action: string, inner: string): { status: number; body: string } {
    return {
      status: 200,
      body:
        `<${action}Response xmlns="${CFN_XMLNS}"><${action}Result>${inner}</${action}Result>` +
        `<ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></${action}Response>`,
    };
  }

  private error(code: string, message: string): { status: number; body: string } {
    return {
      status: 400,
      body:
        `<ErrorResponse xmlns="${CFN_XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
        `<Message>${xmlText(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`,
    };
  }
}

/**
 * A local stand-in for the stack's Step Functions workflow, as far as the
 * demo needs it: the Step Functions JSON API's `StartExecution` (point the
 * SDK at it with `AWS_ENDPOINT_URL_SFN`), which runs a teardown's steps with
 * the bundled handler in the order the state machine runs them
 * (lib/private/purge-workflow.ts): Plan, each key range's slices until done,
 * Confirm (another pass when it says so), Answer. One range after another,
 * in this process; the tests run the synthesized definition itself on an ASL
 * interpreter.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The bundled handler's signature. */
export type WorkflowHandler = (event: unknown, context: unknown) => Promise<unknown>;

export class LocalWorkflow {
  private readonly server: http.Server;
  private readonly running = new Set<Promise<void>>();
  public endpoint = '';
  /** Errors of executions that failed (a step threw). */
  public readonly failures: string[] = [];

  constructor(private readonly handler: WorkflowHandler) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        if (target !== 'AWSStepFunctions.StartExecution') {
          res.statusCode = 400;
          res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `${target} is not played here` }));
          return;
        }
        const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stateMachineArn: string; name?: string; input?: string };
        res.end(JSON.stringify({ executionArn: `${request.stateMachineArn.replace(':stateMachine:', ':execution:')}:${request.name ?? 'demo'}`, startDate: Date.now() / 1000 }));
        const run = this.execute(JSON.parse(request.input ?? '{}')).catch((err) => {
          this.failures.push(err instanceof Error ? err.message : String(err));
        });
        this.running.add(run);
        void run.finally(() => this.running.delete(run));
      });
    });
  }

  private step(step: string, run: unknown, state: unknown): Promise<any> {
    const deadline = Date.now() + 15 * 60_000;
    const context = {
      functionName: 'demo-version-purger',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:demo-version-purger',
      awsRequestId: `${step}-${Date.now()}`,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    return this.handler({ kind: 'workflow', v: 1, step, run, state }, context);
  }

  private async execute(run: unknown): Promise<void> {
    let state: any = { pass: 1 };
    for (let pass = 0; pass < 10; pass++) {
      state = await this.step('teardown-plan', run, state);
      if (state.next !== 'ranges') break;
      const results = [];
      for (const item of state.ranges) {
        let slice = item;
        while (!slice.done) slice = await this.step('teardown-slice', run, slice);
        results.push(slice.result);
      }
      state = await this.step('teardown-confirm', run, { ...state, results });
      if (state.next !== 'plan') break;
    }
    await this.step('teardown-answer', run, state);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Waits for the executions it started, then stops. */
  async stop(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

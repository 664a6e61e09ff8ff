import { DescribeExecutionCommand, ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DescribedExecution } from '../teardown/workflow-closed';

/**
 * Starts an execution of the stack's workflow. `'running'`: an execution of
 * that name exists already (a second delivery of the same request), so no
 * second run starts.
 */
export type StartExecution = (name: string, input: unknown) => Promise<'started' | 'running'>;

/**
 * Returns a {@link StartExecution} for the state machine `stateMachineArn`.
 * The client honours `AWS_ENDPOINT_URL_SFN` (tests point it at a local Step
 * Functions).
 */
export function createExecutionStarter(stateMachineArn: string, client: SFNClient = new SFNClient({ maxAttempts: 5 })): StartExecution {
  return async (name, input) => {
    try {
      await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return 'started';
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists || (err as { name?: string }).name === 'ExecutionAlreadyExists') return 'running';
      throw err;
    }
  };
}

/**
 * Step Functions' DescribeExecution for the executions of the stack's
 * workflow (the backstop answer, lambda/teardown/workflow-closed.ts).
 */
export function createExecutionDescriber(client: SFNClient = new SFNClient({ maxAttempts: 5 })): (executionArn: string) => Promise<DescribedExecution> {
  return async (executionArn) => {
    const out = await client.send(new DescribeExecutionCommand({ executionArn }));
    return {
      stateMachineArn: out.stateMachineArn ?? '',
      name: out.name ?? '',
      status: out.status ?? '',
      input: out.input ?? '',
      error: out.error,
      cause: out.cause,
    };
  };
}

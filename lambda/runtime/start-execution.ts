import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

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

/**
 * A local AWS Step Functions for the workflow tests: an HTTP server speaking the
 * Step Functions JSON API (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Operation>`:
 * StartExecution, DescribeExecution, StopExecution) that runs state machine
 * definitions with the npm package aws-local-stepfunctions (a real ASL interpreter),
 * every Lambda Task state bound to the BUNDLED handler, in-process.
 *
 * The handler reaches it through `AWS_ENDPOINT_URL_SFN`; tests reach it directly too.
 *
 * How it maps to AWS (and where it does not):
 *
 * - Lambda tasks. aws-local-stepfunctions calls a local handler (overrides.taskResourceLocalHandlers,
 *   keyed by state name, nested Map states included) with the state's effective input: the state
 *   input after InputPath and Parameters, and uses what it returns as the task result, before
 *   ResultSelector/ResultPath/OutputPath. It does not know the integration the Resource names:
 *   - `Resource: <function ARN>` (what CDK's LambdaInvoke renders with `payloadResponseOnly: true`;
 *     Parameters is then the payload itself): that input IS the Lambda payload and the handler's
 *     return value IS the task result, exactly as in AWS. Bound as is.
 *   - `Resource: arn:aws:states:::lambda:invoke` (the optimised integration; CDK renders
 *     `Parameters: { FunctionName, "Payload.$": "$" }`): the local handler would get
 *     `{ FunctionName, Payload }` and its return value would replace AWS's
 *     `{ ExecutedVersion, Payload, StatusCode, SdkHttpMetadata, SdkResponseMetadata }`. The harness
 *     unwraps `Payload` for the function and wraps the result back as AWS does.
 *   - `.waitForTaskToken`, `.sync` and non-Lambda resources are refused when the machine is created.
 *   The payload crosses a JSON round trip each way, as it does in AWS (no shared objects, `undefined`
 *   dropped, a handler returning nothing gives `null`).
 * - Function errors. A handler that throws fails the task with `Error` = the error's name (Lambda's
 *   `errorType`) and `Cause` = the JSON `{ errorType, errorMessage, trace }`, as Lambda reports an
 *   unhandled error to Step Functions. A handler still running when its Lambda time is up fails the
 *   task with `Sandbox.Timedout` (recorded in {@link LocalStepFunctions.overruns}); the orphaned
 *   run goes on in the background, as a sandbox being torn down would not, so {@link idle} waits for it.
 * - Lambda sandboxes. Each concurrent invocation gets a sandbox of its own (a fresh module instance
 *   of the bundle, from `loadHandler`), reused warm for later invocations, as Lambda does; module
 *   state is never shared between invocations running at the same time. Loading a sandbox does not
 *   count against the invocation's time (Lambda's init phase is outside the invoke timeout too).
 *   The tasks' Retry on `Lambda.*` service errors never fires: there are no such errors locally.
 * - `ResultPath: "$"`. aws-local-stepfunctions 3.0.0 stores the result in a field named "$" instead of
 *   replacing the state with it; the harness removes `ResultPath: "$"` (the default, same meaning).
 * - Task timeout. aws-local-stepfunctions gives a Task without `TimeoutSeconds` 60 s; Step Functions
 *   gives it 99,999,999 s. The harness sets 3,600 s on such Tasks (a Lambda runs 900 s at most),
 *   so only the Lambda time budget limits a slice, as in AWS.
 * - Distributed Map. aws-local-stepfunctions runs `ProcessorConfig.Mode: DISTRIBUTED` like an inline
 *   Map (children share the parent's `$$.Execution`; MaxConcurrency 0 means 40, not 10,000). When a
 *   child fails, AWS fails the Map Run with `States.ExceedToleratedFailureThreshold` (tolerance 0 by
 *   default), not with the child's own error, which only the child's history shows; the harness
 *   translates the error so (the child's error stays in the MapIterationFailed event). ItemReader,
 *   ItemBatcher, ResultWriter and non-zero tolerated failures are not implemented by the library,
 *   and a definition using them is refused.
 * - Payload limit. A task input or result, the execution input, or any state's output over 256 KiB
 *   fails the execution with `States.DataLimitExceeded`, as in AWS (which checks it on every
 *   transition). A state output is checked from the event log, so the next state may already have
 *   started when the execution fails.
 * - StartExecution is idempotent as in AWS: the same name and the same input as a RUNNING execution
 *   returns that execution; a closed execution or a different input gives ExecutionAlreadyExists.
 *   Names are checked against AWS's rules (1-80 characters, no whitespace, brackets, wildcards,
 *   `"#%\^|~`$&,;:/` or control characters): InvalidName otherwise.
 * - Execution timeout (`TimeoutSeconds`): TIMED_OUT with error `States.Timeout`; a running Lambda
 *   task is not interrupted (nor is it in AWS), its result is discarded.
 * - History. Tests read the interpreter's event log ({@link LocalExecution.events}), Map iterations
 *   per Map run ({@link mapRuns}: each child's input and final output, i.e. the per-range counts), and
 *   every Lambda invocation ({@link LocalExecution.invocations}). GetExecutionHistory is not served.
 * - Not modelled: JSONata states, Express workflows, redrive, the state transition quota, and the
 *   exact text of AWS's error causes for States.* errors.
 */
import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { LambdaContext } from '../../lambda/handler';
import { closeServer, listenOnLoopback } from './loopback-server';

/** An ASL definition, as parsed JSON. */
export type AslDefinition = { StartAt: string; States: Record<string, AslState>; TimeoutSeconds?: number; [field: string]: unknown };
/** One ASL state, as parsed JSON. */
export type AslState = { Type: string; [field: string]: any };


/** A Lambda handler as the bundle exports it. */
export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

/** Step Functions limits a state's input and output to 256 KiB. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** The harness's stand-in for Step Functions' default Task timeout (see the file comment). */
const DEFAULT_TASK_TIMEOUT_SECONDS = 3_600;
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

// ---------------------------------------------------------------------------------------------
// From a synthesized template to a definition
// ---------------------------------------------------------------------------------------------

/** A synthesized CloudFormation template, as far as the harness reads it. */
export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }>;
}

/** Where the template is deployed: what its intrinsics resolve to. */
export interface TemplateDeployment {
  /** `AWS::StackId`, e.g. `arn:aws:cloudformation:us-east-1:123456789012:stack/Name/<uuid>`. */
  readonly stackId: string;
  /** Physical names by logical id (function names, bucket names...). Default: the logical id. */
  readonly physicalIds?: Record<string, string>;
}

/** A state machine taken from a template, its intrinsics resolved. */
export interface TemplateStateMachine {
  readonly logicalId: string;
  /** `StateMachineName` as CloudFormation resolves it (or the logical id when none is set). */
  readonly name: string;
  readonly definition: AslDefinition;
  /** The Lambda functions of the template: ARN → `Timeout` in ms (CloudFormation's default 3 s). */
  readonly functionTimeoutsMs: Record<string, number>;
}

/**
 * Resolves the CloudFormation intrinsics CDK writes into a state machine (`Ref`, `Fn::GetAtt`,
 * `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub` without a variable map), as CloudFormation would
 * for `deployment`: pseudo parameters, Lambda ARNs and names, other resources by physical id.
 */
export function resolveIntrinsics(value: any, template: TemplateJson, deployment: TemplateDeployment): any {
  const physical = (id: string) => deployment.physicalIds?.[id] ?? id;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackId': deployment.stackId,
    'AWS::StackName': deployment.stackId.split('/')[1] ?? deployment.stackId,
  };
  const ref = (id: string): string => {
    if (id in pseudo) return pseudo[id];
    const resource = template.Resources[id];
    if (!resource) throw new Error(`the template has no resource ${id} to Ref`);
    // A state machine's Ref is its ARN, named by StateMachineName when it has one.
    if (resource.Type === 'AWS::StepFunctions::StateMachine') {
      const name = resource.Properties?.StateMachineName === undefined ? physical(id) : String(resolve(resource.Properties.StateMachineName));
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
    }
    return physical(id);
  };
  const getAtt = (id: string, attribute: string): string => {
    const resource = template.Resources[id];
    if (!resource) throw new Error(`the template has no resource ${id} for Fn::GetAtt`);
    if (resource.Type === 'AWS::Lambda::Function' && attribute === 'Arn') return functionArn(physical(id));
    if (resource.Type === 'AWS::IAM::Role' && attribute === 'Arn') return `arn:aws:iam::${ACCOUNT}:role/${physical(id)}`;
    if (resource.Type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:aws:s3:::${physical(id)}`;
    throw new Error(`the harness cannot resolve Fn::GetAtt ${id}.${attribute} (${resource.Type})`);
  };
  const resolve = (v: any): any => {
    if (Array.isArray(v)) return v.map(resolve);
    if (typeof v !== 'object' || v === null) return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = v[fn];
      if (fn === 'Ref') return ref(arg);
      if (fn === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return getAtt(id, attribute);
      }
      if (fn === 'Fn::Join') return (resolve(arg[1]) as unknown[]).map(String).join(arg[0]);
      if (fn === 'Fn::Select') {
        const list = resolve(arg[1]) as unknown[];
        const index = Number(resolve(arg[0]));
        if (!(index in list)) throw new Error(`Fn::Select index ${index} out of ${JSON.stringify(list)}`);
        return list[index];
      }
      if (fn === 'Fn::Split') return String(resolve(arg[1])).split(arg[0]);
      if (fn === 'Fn::Sub') {
        if (typeof arg !== 'string') throw new Error('the harness resolves Fn::Sub only without a variable map');
        return arg.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          const [id, attribute] = name.split('.');
          return attribute ? getAtt(id, attribute) : ref(id);
        });
      }
      if (fn.startsWith('Fn::')) throw new Error(`the harness cannot resolve ${fn}`);
    }
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, resolve(inner)]));
  };
  return resolve(value);
}

/** The placeholder ARN of a function: the name CloudFormation would give it is `name`. */
export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

/**
 * The one AWS::StepFunctions::StateMachine of a synthesized template, with its DefinitionString
 * (and DefinitionSubstitutions) resolved as CloudFormation would for `deployment`.
 */
export function stateMachineFromTemplate(template: TemplateJson, deployment: TemplateDeployment): TemplateStateMachine {
  const machines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one AWS::StepFunctions::StateMachine in the template, found ${machines.length}`);
  const [logicalId, resource] = machines[0];
  const properties = resource.Properties ?? {};
  if (properties.Definition !== undefined || properties.DefinitionS3Location !== undefined) {
    throw new Error('the harness reads DefinitionString only (CDK writes it)');
  }
  let text = String(resolveIntrinsics(properties.DefinitionString, template, deployment));
  const substitutions = resolveIntrinsics(properties.DefinitionSubstitutions ?? {}, template, deployment) as Record<string, unknown>;
  text = text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole));
  const name = properties.StateMachineName === undefined ? logicalId : String(resolveIntrinsics(properties.StateMachineName, template, deployment));
  const functionTimeoutsMs: Record<string, number> = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const arn = functionArn(deployment.physicalIds?.[id] ?? id);
    functionTimeoutsMs[arn] = Number(r.Properties?.Timeout ?? 3) * 1000;
  }
  return { logicalId, name, definition: JSON.parse(text) as AslDefinition, functionTimeoutsMs };
}

// ---------------------------------------------------------------------------------------------
// Reading a definition
// ---------------------------------------------------------------------------------------------

/** How a Lambda Task state invokes its function. */
export interface LambdaTask {
  readonly stateName: string;
  /** `direct`: Resource is the function ARN (payloadResponseOnly); `invoke`: `arn:aws:states:::lambda:invoke`. */
  readonly integration: 'direct' | 'invoke';
  /** The function ARN (for `invoke`, from Parameters.FunctionName when it is a literal). */
  readonly functionArn: string;
  /** Whether the state runs in the ItemProcessor of a DISTRIBUTED Map. */
  readonly inDistributedMap: boolean;
}

const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/;

/** Every state of a definition, nested Map and Parallel states included, with whether it runs in a distributed child. */
export function allStates(definition: AslDefinition): Array<{ name: string; state: AslState; inDistributedMap: boolean }> {
  const found: Array<{ name: string; state: AslState; inDistributedMap: boolean }> = [];
  const walk = (d: { States: Record<string, AslState> }, distributed: boolean) => {
    for (const [name, state] of Object.entries(d.States)) {
      found.push({ name, state, inDistributedMap: distributed });
      const processor = state.ItemProcessor ?? state.Iterator;
      if (state.Type === 'Map' && processor) walk(processor, distributed || processor.ProcessorConfig?.Mode === 'DISTRIBUTED');
      if (state.Type === 'Parallel') for (const branch of state.Branches ?? []) walk(branch, distributed);
    }
  };
  walk(definition, false);
  return found;
}

/** The Lambda Task states of a definition; throws for any Task or Map feature the harness cannot run faithfully. */
export function lambdaTasks(definition: AslDefinition): LambdaTask[] {
  const names = new Set<string>();
  const tasks: LambdaTask[] = [];
  for (const { name, state, inDistributedMap } of allStates(definition)) {
    // Bindings are keyed by state name, so names must be unique over the whole machine (ASL requires it too).
    if (names.has(name)) throw new Error(`state name ${name} appears twice in the definition`);
    names.add(name);
    if (state.QueryLanguage === 'JSONata' || definition.QueryLanguage === 'JSONata') {
      throw new Error('aws-local-stepfunctions 3.x does not run JSONata states');
    }
    if (state.Type === 'Map') {
      for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter']) {
        if (state[field] !== undefined) throw new Error(`Map state ${name} uses ${field}, which aws-local-stepfunctions does not implement`);
      }
      for (const field of ['ToleratedFailurePercentage', 'ToleratedFailureCount']) {
        if (state[field]) throw new Error(`Map state ${name} tolerates failures (${field}), which aws-local-stepfunctions does not implement`);
      }
    }
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    if (LAMBDA_ARN.test(resource)) {
      tasks.push({ stateName: name, integration: 'direct', functionArn: resource, inDistributedMap });
    } else if (/^arn:aws[\w-]*:states:::lambda:invoke$/.test(resource)) {
      const fn = state.Parameters?.FunctionName;
      if (typeof fn !== 'string') throw new Error(`Task ${name}: the harness needs a literal Parameters.FunctionName`);
      tasks.push({ stateName: name, integration: 'invoke', functionArn: fn, inDistributedMap });
    } else {
      throw new Error(`Task ${name}: the harness runs Lambda tasks only, not ${resource}`);
    }
  }
  return tasks;
}

/**
 * A deep copy of the definition that aws-local-stepfunctions runs as Step Functions would:
 * - the harness's Task timeout on Tasks that have none (see the file comment);
 * - `ResultPath: "$"` (on a state or a Catch) removed: aws-local-stepfunctions 3.0.0 writes the result
 *   to a field named "$" of the input instead of replacing the input with it, as AWS does for "$"
 *   (and for an absent ResultPath, whose default is "$": removing it is exact).
 */
function forInterpreter(definition: AslDefinition): AslDefinition {
  const copy = JSON.parse(JSON.stringify(definition)) as AslDefinition;
  for (const { state } of allStates(copy)) {
    if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
      state.TimeoutSeconds = DEFAULT_TASK_TIMEOUT_SECONDS;
    }
    if (state.ResultPath === '$') delete state.ResultPath;
    for (const catcher of state.Catch ?? []) if (catcher.ResultPath === '$') delete catcher.ResultPath;
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Distributed Map failures, as AWS reports them
// ---------------------------------------------------------------------------------------------

/** ItemProcessor objects of DISTRIBUTED Maps (the very objects aws-local-stepfunctions runs as child machines). */
const distributedProcessors = new WeakSet<object>();
let mapRunFailurePatched = false;

/**
 * aws-local-stepfunctions fails a Map with the failed child's own error; AWS fails a Distributed
 * Map Run with `States.ExceedToleratedFailureThreshold`. Wraps `StateMachine.run` once so that a
 * child machine of a DISTRIBUTED Map fails the Map that way (the library builds child machines
 * from the ItemProcessor object itself, which identifies them).
 */
function patchDistributedMapFailures(): void {
  if (mapRunFailurePatched) return;
  mapRunFailurePatched = true;
  const run = StateMachine.prototype.run;
  StateMachine.prototype.run = function patchedRun(this: StateMachine, ...args: Parameters<StateMachine['run']>) {
    const execution = run.apply(this, args);
    const definition = (this as unknown as { definition: object }).definition;
    if (!distributedProcessors.has(definition)) return execution;
    const result = execution.result.catch((err: unknown) => {
      if (!(err instanceof ExecutionError)) throw err;
      const childError = err.cause as Error;
      const mapRunError = new Error(
        `The specified tolerated failure threshold was exceeded (a child execution failed: ${childError.name}: ${childError.message})`,
      );
      mapRunError.name = 'States.ExceedToleratedFailureThreshold';
      throw new ExecutionError(mapRunError as never);
    });
    return { ...execution, result };
  };
}

// ---------------------------------------------------------------------------------------------
// Executions
// ---------------------------------------------------------------------------------------------

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One event of an execution's history, as aws-local-stepfunctions logs it. */
export type HistoryEvent = { type: string; timestamp: number; [field: string]: any };

/** One Lambda invocation a Task state made. */
export interface TaskInvocation {
  readonly executionArn: string;
  readonly stateName: string;
  readonly functionArn: string;
  /** The event the function received. */
  readonly event: any;
  /** Lambda time the invocation was given. */
  readonly budgetMs: number;
  readonly startedAt: number;
  endedAt?: number;
  /** What the function returned. */
  result?: any;
  /** `Error` of the failed task (errorType, or Sandbox.Timedout). */
  error?: string;
  /** The function ran past its Lambda time. */
  overran?: boolean;
}

/** An execution of the local Step Functions. */
export interface LocalExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  /** The input, as the JSON text StartExecution got. */
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  /** JSON text, when SUCCEEDED. */
  output?: string;
  error?: string;
  cause?: string;
  /** The interpreter's event log, in order (nested Map events included, with `index`). */
  readonly events: HistoryEvent[];
  readonly invocations: TaskInvocation[];
  /** Settles when the execution has closed (never rejects). */
  readonly closed: Promise<LocalExecution>;
}

/** One iteration of a Map run: a child's input and how it ended. */
export interface MapIteration {
  readonly index: number;
  readonly input: any;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  /** The child's final output (for the workflow: the range's counts). */
  readonly output?: any;
  readonly error?: string;
  readonly cause?: unknown;
}

/**
 * The runs of the Map state `mapStateName` in an execution, in order, each as its iterations
 * by index. A Map state entered twice (a second pass) gives two runs.
 */
export function mapRuns(execution: LocalExecution, mapStateName: string): MapIteration[][] {
  // Each run of a Map state has its own raw-input object (aws-local-stepfunctions clones the
  // input per state execution), which every iteration event of that run carries.
  const runs = new Map<object, Map<number, MapIteration>>();
  for (const event of execution.events) {
    if (!event.type.startsWith('MapIteration') || event.parentState?.name !== mapStateName) continue;
    const key = event.parentState.input as object;
    const run = runs.get(key) ?? new Map<number, MapIteration>();
    runs.set(key, run);
    const before = run.get(event.index);
    if (event.type === 'MapIterationStarted') run.set(event.index, { index: event.index, input: event.input, status: 'RUNNING' });
    if (event.type === 'MapIterationSucceeded') run.set(event.index, { ...before!, status: 'SUCCEEDED', output: event.output });
    if (event.type === 'MapIterationFailed') run.set(event.index, { ...before!, status: 'FAILED', error: event.Error, cause: event.Cause });
  }
  return [...runs.values()].map((run) => [...run.values()].sort((a, b) => a.index - b.index));
}

/** An error of the Step Functions API. */
export class StepFunctionsApiError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly httpStatus = 400,
  ) {
    super(message);
    this.name = code;
  }
}

interface RegisteredMachine {
  readonly arn: string;
  readonly name: string;
  readonly definition: AslDefinition;
  readonly tasks: Map<string, LambdaTask>;
  readonly functionTimeoutsMs: Record<string, number>;
}

/** What a test tunes per invocation. */
export interface InvocationRequest {
  readonly stateName: string;
  readonly event: any;
}

/** Options of the local Step Functions. */
export interface LocalStepFunctionsOptions {
  /**
   * Loads a fresh instance of the bundled handler: one per Lambda sandbox (see the file comment).
   * Under jest: `() => jest.isolateModules(() => ...)` around `require(<asset>/index.js).handler`.
   */
  readonly loadHandler: () => LambdaHandler;
}

/** A local Step Functions: state machines, executions, and the JSON API over HTTP. */
export class LocalStepFunctions {
  public endpoint = '';
  /**
   * Lambda time given to each invocation, in ms: a number, or a function of the invocation.
   * Default (undefined): the function's `Timeout` from the template, else 60 s.
   */
  public lambdaTimeMs: number | ((request: InvocationRequest) => number) | undefined;
  /** Fail a task whose function runs past its Lambda time with Sandbox.Timedout (default true). */
  public enforceLambdaTime = true;
  /** Wait this long before each Retry instead of the definition's intervals (undefined: as defined). */
  public retryIntervalMs: number | undefined;
  /** Called before each Lambda invocation starts (after the sandbox is chosen). */
  public beforeInvocation: ((request: InvocationRequest) => void | Promise<void>) | undefined;
  /** Every execution started, in order. */
  public readonly executions: LocalExecution[] = [];
  /** Every StartExecution request received (over HTTP or direct), accepted or not. */
  public readonly startRequests: Array<{ stateMachineArn: string; name?: string; input?: string; outcome: string }> = [];
  /** Invocations that ran past their Lambda time. */
  public readonly overruns: TaskInvocation[] = [];

  private readonly machines = new Map<string, RegisteredMachine>();
  private readonly byArn = new Map<string, LocalExecution>();
  private readonly aborts = new Map<string, () => void>();
  private readonly idleSandboxes: LambdaHandler[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private sandboxesCreated = 0;
  private readonly server: http.Server;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    patchDistributedMapFailures();
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const operation = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
        let body: Record<string, any>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        } catch {
          this.reply(res, new StepFunctionsApiError('SerializationException', 'the request body is not JSON'));
          return;
        }
        try {
          this.reply(res, this.dispatch(operation, body));
        } catch (err) {
          this.reply(res, err instanceof StepFunctionsApiError ? err : new StepFunctionsApiError('InternalFailure', String(err), 500));
        }
      });
    });
  }

  /** How many Lambda sandboxes (fresh module instances) were created so far. */
  get sandboxes(): number {
    return this.sandboxesCreated;
  }

  async start(): Promise<void> {
    this.endpoint = await listenOnLoopback(this.server);
  }

  /** Stops the server after every execution and invocation settled. */
  async stop(): Promise<void> {
    await this.idle();
    await closeServer(this.server);
  }

  /**
   * Registers a state machine (CreateStateMachine's job) and returns its ARN. Refuses, with a clear
   * error, a definition the harness cannot run faithfully; the interpreter validates the rest.
   */
  createStateMachine(machine: { name: string; definition: AslDefinition; functionTimeoutsMs?: Record<string, number> }): string {
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${machine.name}`;
    const tasks = new Map(lambdaTasks(machine.definition).map((t) => [t.stateName, t]));
    const definition = forInterpreter(machine.definition);
    // Validate now (asl-validator, inside the interpreter), so that a broken definition fails the test at once.
    new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    this.machines.set(arn, { arn, name: machine.name, definition, tasks, functionTimeoutsMs: machine.functionTimeoutsMs ?? {} });
    return arn;
  }

  /** StartExecution. */
  startExecution(request: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: Date } {
    const record = (outcome: string) => this.startRequests.push({ ...request, outcome });
    try {
      const started = this.doStart(request);
      record(started.executionArn);
      return started;
    } catch (err) {
      record((err as Error).name);
      throw err;
    }
  }

  /** DescribeExecution. */
  describeExecution(executionArn: string): LocalExecution {
    const execution = this.byArn.get(executionArn);
    if (!execution) throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return execution;
  }

  /** StopExecution: the execution ends ABORTED (a running Lambda invocation finishes in the background). */
  stopExecution(executionArn: string, error?: string, cause?: string): { stopDate: Date } {
    const execution = this.describeExecution(executionArn);
    if (execution.status === 'RUNNING') {
      execution.error = error;
      execution.cause = cause;
      this.aborts.get(executionArn)?.();
    }
    return { stopDate: execution.stopDate ?? new Date() };
  }

  /** Resolves with the execution once it closed; rejects after `timeoutMs`. */
  async waitFor(executionArn: string, timeoutMs = 120_000): Promise<LocalExecution> {
    const execution = this.describeExecution(executionArn);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`execution ${executionArn} still ${execution.status} after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([execution.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until every execution closed and every Lambda invocation (orphaned ones included) ended. */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.executions.filter((e) => e.status === 'RUNNING').map((e) => e.closed), ...this.inFlight];
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
    }
  }

  private doStart(request: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: Date } {
    const machine = this.machines.get(request.stateMachineArn);
    if (!machine) throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${request.stateMachineArn}'`);
    const name = request.name ?? randomUUID();
    checkExecutionName(name);
    const input = request.input ?? '{}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new StepFunctionsApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: the input is not valid JSON');
    }
    if (Buffer.byteLength(input, 'utf8') > PAYLOAD_LIMIT_BYTES) {
      throw new StepFunctionsApiError('InvalidExecutionInput', `the input exceeds ${PAYLOAD_LIMIT_BYTES} bytes`);
    }
    const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine.name}:${name}`;
    const existing = this.byArn.get(executionArn);
    if (existing) {
      // AWS: "If StartExecution is called with the same name and input as a running execution, the call
      // succeeds and return the same response as the original request. If the execution is closed or if
      // the input is different, it returns a 400 ExecutionAlreadyExists error."
      if (existing.status === 'RUNNING' && existing.input === input) return { executionArn, startDate: existing.startDate };
      throw new StepFunctionsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    return this.run(machine, executionArn, name, input, parsed);
  }

  private run(machine: RegisteredMachine, executionArn: string, name: string, input: string, parsed: unknown) {
    const startDate = new Date();
    let close: (e: LocalExecution) => void = () => undefined;
    const closed = new Promise<LocalExecution>((resolve) => (close = resolve));
    const execution: LocalExecution = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input,
      startDate,
      status: 'RUNNING',
      events: [],
      invocations: [],
      closed,
    };
    this.executions.push(execution);
    this.byArn.set(executionArn, execution);

    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const task of machine.tasks.values()) handlers[task.stateName] = (taskInput) => this.invoke(execution, machine, task, taskInput);
    const retryIntervalOverrides: Record<string, number> = {};
    if (this.retryIntervalMs !== undefined) {
      for (const { name: stateName, state } of allStates(machine.definition)) if (state.Retry) retryIntervalOverrides[stateName] = this.retryIntervalMs;
    }
    // The same definition object every run: the interpreter builds Map children from its ItemProcessor objects.
    for (const { state } of allStates(machine.definition)) {
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') distributedProcessors.add(state.ItemProcessor);
    }
    const interpreter = new StateMachine(machine.definition as never, { validationOptions: { noValidate: true } });
    let dataLimit: string | undefined;
    const running = interpreter.run(parsed as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: `arn:aws:iam::${ACCOUNT}:role/local`, RedriveCount: 0 },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    this.aborts.set(executionArn, running.abort);
    const drained = (async () => {
      for await (const event of running.eventLogs) {
        execution.events.push(event as HistoryEvent);
        // Step Functions checks every state's output against the payload limit.
        const output = (event as HistoryEvent).type === 'StateExited' ? (event as HistoryEvent).state?.output : undefined;
        if (output !== undefined && dataLimit === undefined && jsonBytes(output) > PAYLOAD_LIMIT_BYTES) {
          dataLimit = `The state/task '${(event as HistoryEvent).state.name}' returned a result with a size exceeding the maximum number of bytes service limit.`;
          running.abort();
        }
      }
    })();
    // The execution closes once its history is complete too (the interpreter ends the event log right
    // after the execution's last event; the wait is bounded in case it does not).
    const historyComplete = () => Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    const end = (outcome: { status: ExecutionStatus; output?: unknown; error?: string; cause?: string }) =>
      void historyComplete().then(() => this.close(execution, close, outcome));
    running.result.then(
      (output) => end(dataLimit ? fail('States.DataLimitExceeded', dataLimit) : { status: 'SUCCEEDED', output }),
      (err: unknown) => {
        if (dataLimit) return end(fail('States.DataLimitExceeded', dataLimit));
        if (err instanceof ExecutionTimeoutError) return end(fail('States.Timeout', undefined, 'TIMED_OUT'));
        if (err instanceof ExecutionAbortedError) return end({ status: 'ABORTED', error: execution.error, cause: execution.cause });
        if (err instanceof ExecutionError) {
          const cause = err.cause as Error;
          return end(fail(cause.name, cause.message));
        }
        return end(fail('States.Runtime', String(err)));
      },
    );
    return { executionArn, startDate };
  }

  private close(
    execution: LocalExecution,
    resolve: (e: LocalExecution) => void,
    end: { status: ExecutionStatus; output?: unknown; error?: string; cause?: string },
  ): void {
    execution.status = end.status;
    execution.stopDate = new Date();
    if (end.status === 'SUCCEEDED') execution.output = JSON.stringify(end.output ?? null);
    execution.error = end.error;
    execution.cause = end.cause;
    this.aborts.delete(execution.executionArn);
    resolve(execution);
  }

  /** Runs one Lambda Task the way Lambda and Step Functions would (see the file comment). */
  private async invoke(execution: LocalExecution, machine: RegisteredMachine, task: LambdaTask, taskInput: unknown): Promise<unknown> {
    const payload = task.integration === 'invoke' ? (taskInput as { Payload?: unknown }).Payload ?? {} : taskInput;
    if (jsonBytes(payload) > PAYLOAD_LIMIT_BYTES) throw dataLimitError(`the input of ${task.stateName} exceeds ${PAYLOAD_LIMIT_BYTES} bytes`);
    const event = JSON.parse(JSON.stringify(payload ?? null));
    const request: InvocationRequest = { stateName: task.stateName, event };
    const budgetMs =
      typeof this.lambdaTimeMs === 'function'
        ? this.lambdaTimeMs(request)
        : (this.lambdaTimeMs ?? machine.functionTimeoutsMs[task.functionArn] ?? 60_000);
    const handler = this.idleSandboxes.pop() ?? this.newSandbox();
    await this.beforeInvocation?.(request);
    const invocation: TaskInvocation = {
      executionArn: execution.executionArn,
      stateName: task.stateName,
      functionArn: task.functionArn,
      event,
      budgetMs,
      startedAt: Date.now(),
    };
    execution.invocations.push(invocation);
    const context = lambdaContext(task.functionArn, budgetMs);
    const run = Promise.resolve()
      .then(() => handler(JSON.parse(JSON.stringify(event)), context))
      .then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    this.track(run);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (this.enforceLambdaTime) timer = setTimeout(() => resolve('timeout'), budgetMs);
    });
    const outcome = await Promise.race([run, timedOut]);
    clearTimeout(timer);
    invocation.endedAt = Date.now();
    if (outcome === 'timeout') {
      // Lambda ends the sandbox: it is not reused (the orphaned run still counts for idle()).
      invocation.overran = true;
      invocation.error = 'Sandbox.Timedout';
      this.overruns.push(invocation);
      throw lambdaError('Sandbox.Timedout', `Task timed out after ${(budgetMs / 1000).toFixed(2)} seconds`);
    }
    this.idleSandboxes.push(handler);
    if (!outcome.ok) {
      const err = outcome.error as Error | undefined;
      const errorType = err?.name || 'Error';
      invocation.error = errorType;
      throw lambdaError(errorType, err?.message ?? String(outcome.error), String(err?.stack ?? '').split('\n').slice(1));
    }
    const text = JSON.stringify(outcome.result ?? null);
    if (Buffer.byteLength(text, 'utf8') > PAYLOAD_LIMIT_BYTES) throw dataLimitError(`the result of ${task.stateName} exceeds ${PAYLOAD_LIMIT_BYTES} bytes`);
    const result = JSON.parse(text);
    invocation.result = result;
    if (task.integration === 'direct') return result;
    return {
      ExecutedVersion: '$LATEST',
      Payload: result,
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: context.awsRequestId },
      StatusCode: 200,
    };
  }

  private newSandbox(): LambdaHandler {
    this.sandboxesCreated++;
    return this.options.loadHandler();
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private dispatch(operation: string, body: Record<string, any>): Record<string, unknown> {
    switch (operation) {
      case 'StartExecution': {
        const { executionArn, startDate } = this.startExecution({ stateMachineArn: body.stateMachineArn, name: body.name, input: body.input });
        return { executionArn, startDate: startDate.getTime() / 1000 };
      }
      case 'DescribeExecution': {
        const e = this.describeExecution(body.executionArn);
        return {
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: e.startDate.getTime() / 1000,
          ...(e.stopDate && { stopDate: e.stopDate.getTime() / 1000 }),
          input: e.input,
          ...(e.output !== undefined && { output: e.output }),
          ...(e.error !== undefined && { error: e.error }),
          ...(e.cause !== undefined && { cause: e.cause }),
        };
      }
      case 'StopExecution': {
        const { stopDate } = this.stopExecution(body.executionArn, body.error, body.cause);
        return { stopDate: stopDate.getTime() / 1000 };
      }
      default:
        throw new StepFunctionsApiError('UnknownOperationException', `the local Step Functions does not implement '${operation}'`);
    }
  }

  private reply(res: http.ServerResponse, answer: Record<string, unknown> | StepFunctionsApiError): void {
    if (answer instanceof StepFunctionsApiError) {
      res.writeHead(answer.httpStatus, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': answer.code });
      res.end(JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${answer.code}`, message: answer.message }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(answer));
  }
}

/** AWS's rules for execution names (StartExecution `name`). */
export function checkExecutionName(name: string): void {
  const forbidden = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
  if (name.length < 1 || name.length > 80 || forbidden.test(name)) {
    throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${name}'`);
  }
}

/** Lambda's context object for one invocation of `functionArn` that ends `budgetMs` from now. */
function lambdaContext(functionArn: string, budgetMs: number): LambdaContext {
  const end = Date.now() + budgetMs;
  const functionName = functionArn.split(':')[6];
  return {
    functionName,
    invokedFunctionArn: functionArn,
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2025/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
  };
}

function fail(error: string, cause?: string, status: ExecutionStatus = 'FAILED') {
  return { status, error, cause };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** A task error as Lambda reports an unhandled function error: Error = errorType, Cause = the error JSON. */
function lambdaError(errorType: string, errorMessage: string, trace: string[] = []): Error {
  const err = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  err.name = errorType;
  return err;
}

/** States.DataLimitExceeded, which States.ALL does not catch (the interpreter honours `isCatchable`). */
function dataLimitError(message: string): Error {
  return Object.assign(new Error(message), { name: 'States.DataLimitExceeded', isCatchable: false, isRetryable: false });
}

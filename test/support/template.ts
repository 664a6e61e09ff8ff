import { Template } from 'aws-cdk-lib/assertions';

/** Every AWS::IAM::Policy: logical id, document and roles, sorted by id. */
export function policyDocuments(template: Template): { name: string; document: any; roles: unknown }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .map(([name, r]) => ({ name, document: r.Properties.PolicyDocument, roles: r.Properties.Roles }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The one AWS::IAM::Policy whose logical id matches `name`. */
export function policyNamed(template: Template, name: RegExp): { name: string; document: any } {
  const found = policyDocuments(template).filter((p) => name.test(p.name));
  expect(found).toHaveLength(1);
  return found[0];
}

/** Evaluates the `Fn::Join` of strings and `{ Ref }` that CloudFormation would resolve. */
export function resolveJoin(value: any, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  if (value.Ref !== undefined) {
    if (!(value.Ref in refs)) throw new Error(`no value for Ref ${value.Ref}`);
    return refs[value.Ref];
  }
  if (value['Fn::Join']) {
    const [delimiter, parts] = value['Fn::Join'];
    return parts.map((p: unknown) => resolveJoin(p, refs)).join(delimiter);
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

/** Replaces `{ Ref }` and `Fn::Join` anywhere in a value, as CloudFormation resolves them. */
export function resolveDeep(value: any, refs: Record<string, string>): any {
  if (Array.isArray(value)) return value.map((v) => resolveDeep(v, refs));
  if (typeof value !== 'object' || value === null) return value;
  if (value.Ref !== undefined || value['Fn::Join'] !== undefined) return resolveJoin(value, refs);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, refs)]));
}

/**
 * The retention runs the stack configures, one per schedule rule: each rule's
 * input names a purger ({ kind, v: 2, purger }), and that Custom::VersionPurger's
 * metadata holds the run, resolved with `refs` as CloudFormation would.
 */
export function configuredRuns(template: Template, refs: Record<string, string>): any[] {
  const resources = template.toJSON().Resources as Record<string, any>;
  return scheduleRules(template).map((r) => {
    const input = JSON.parse(r.Properties.Targets[0].Input);
    expect(Object.keys(input).sort()).toEqual(['kind', 'purger', 'v']);
    const purger = resources[input.purger];
    expect(purger?.Type).toBe('Custom::VersionPurger');
    return resolveDeep(purger.Metadata['cdk-version-purger:retention'], refs);
  });
}

/**
 * The stack's retention schedules: the EventBridge rules with a schedule (the
 * other rule, WorkflowClosed, matches the workflow's status changes).
 */
export function scheduleRules(template: Template): any[] {
  return Object.values(template.findResources('AWS::Events::Rule')).filter((r) => r.Properties.ScheduleExpression !== undefined);
}

/** The statements of the function's StartExecutionPolicy: start its own workflow, describe its own executions. */
export const OWN_WORKFLOW_STATEMENTS = [
  { Effect: 'Allow', Action: 'states:StartExecution', Resource: expect.objectContaining({ 'Fn::Join': expect.anything() }) },
  {
    Effect: 'Allow',
    Action: 'states:DescribeExecution',
    Resource: {
      'Fn::Join': ['', expect.arrayContaining([':execution:VersionPurger-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }, ':*'])],
    },
  },
];

/** The statement that lets the handler ask CloudFormation about its own stack, and nothing else. */
export const READ_OWN_STACK = {
  Effect: 'Allow',
  Action: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackEvents'],
  Resource: { Ref: 'AWS::StackId' },
};

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

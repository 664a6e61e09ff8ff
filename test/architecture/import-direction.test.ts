/**
 * Imports point downward only: handler → runtime → teardown / retention →
 * workflow (the Step Functions contract, types and constants) → engine. The engine imports nothing from the other domains, teardown and
 * retention nothing from each other. lambda/resource-contract.ts holds plain
 * constants shared by everything, the construct included.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const LAMBDA = path.join(__dirname, '..', '..', 'lambda');

/** What each domain may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  engine: [],
  workflow: ['engine'],
  retention: ['engine', 'workflow', 'resource-contract'],
  teardown: ['engine', 'workflow', 'resource-contract'],
  runtime: ['engine', 'retention', 'teardown', 'workflow', 'resource-contract'],
  handler: ['engine', 'retention', 'teardown', 'runtime', 'workflow', 'resource-contract'],
  'resource-contract': [],
};

/** The domain of a file under lambda/: its first folder, or its own name at the top. */
function domainOf(file: string): string {
  const [first, ...rest] = path.relative(LAMBDA, file).split(path.sep);
  return rest.length > 0 ? first : first.replace(/\.ts$/, '');
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports of a file (value and type imports alike), resolved to files under lambda/. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => path.resolve(path.dirname(file), m[1]));
}

test('every import inside lambda/ points downward, and nothing there imports CDK', () => {
  // GIVEN
  const files = sources(LAMBDA);
  expect(files.length).toBeGreaterThan(40);

  // WHEN
  const upward: string[] = [];
  for (const file of files) {
    const from = domainOf(file);
    for (const target of importsOf(file)) {
      if (!target.startsWith(LAMBDA + path.sep)) {
        upward.push(`${path.relative(LAMBDA, file)} imports ${target} outside lambda/`);
        continue;
      }
      const to = domainOf(target);
      if (to !== from && !ALLOWED[from].includes(to)) upward.push(`${path.relative(LAMBDA, file)} (${from}) imports ${path.relative(LAMBDA, target)} (${to})`);
    }
    if (/from '(aws-cdk-lib|constructs)/.test(fs.readFileSync(file, 'utf8'))) upward.push(`${path.relative(LAMBDA, file)} imports CDK`);
  }

  // THEN
  expect(upward).toEqual([]);
});

test('at most three files stay directly in lambda/', () => {
  const top = fs.readdirSync(LAMBDA).filter((f) => f.endsWith('.ts'));
  expect(top.length).toBeLessThanOrEqual(3);
});

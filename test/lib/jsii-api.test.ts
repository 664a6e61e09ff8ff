import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lib from '../../lib';
import { RETENTION_METRIC } from '../../lambda/retention/contract';
import { FENCE_STATEMENT_SID, PURGE_TAG_KEY, RESOURCE_TYPE } from '../../lambda/resource-contract';

const ROOT = path.join(__dirname, '..', '..');

/** The jsii assembly `npm run build` wrote (npm test builds first). */
function readAssembly(): { types: Record<string, { kind: string; locationInModule?: { filename: string } }> } {
  return JSON.parse(fs.readFileSync(path.join(ROOT, '.jsii'), 'utf8'));
}

/** Relative imports of a TypeScript source, as written. */
function relativeImports(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  return [...source.matchAll(/from '(\.[^']+)'/g)].map((m) => m[1]);
}

describe('jsii API', () => {
  test('RetentionMetric names exactly the metrics the handler emits', () => {
    // GIVEN / WHEN
    const enumValues = Object.values(lib.RetentionMetric).sort();

    // THEN
    expect(enumValues).toEqual(Object.values(RETENTION_METRIC).sort());
  });

  test('the constants are static members of VersionPurger with the handler\'s values', () => {
    // GIVEN / WHEN / THEN
    expect(lib.VersionPurger.PURGE_TAG_KEY).toBe(PURGE_TAG_KEY);
    expect(lib.VersionPurger.FENCE_STATEMENT_SID).toBe(FENCE_STATEMENT_SID);
    expect(lib.VersionPurger.RESOURCE_TYPE).toBe(RESOURCE_TYPE);
    expect(lib.VersionPurger.DEFAULT_SERVICE_TIMEOUT.toSeconds()).toBe(3600);
    expect(lib.VersionPurger.DEFAULT_RUNTIME.name).toBe('nodejs24.x');
  });

  test('the assembly holds the construct, its structs and the metric enum, all declared in lib/', () => {
    // GIVEN
    const types = readAssembly().types;

    // WHEN
    const summary = Object.entries(types).map(([fqn, type]) => [fqn, type.kind]);

    // THEN
    expect(summary.sort()).toEqual([
      ['cdk-version-purger.DryRunReportLocation', 'interface'],
      ['cdk-version-purger.RetentionMetric', 'enum'],
      ['cdk-version-purger.RetentionOptions', 'interface'],
      ['cdk-version-purger.VersionPurger', 'class'],
      ['cdk-version-purger.VersionPurgerProps', 'interface'],
    ]);
    for (const type of Object.values(types)) expect(type.locationInModule?.filename).toMatch(/^lib\//);
  });

  test('lib/ reaches the handler\'s code only through lib/private/handler-contract.ts', () => {
    // GIVEN
    const libFiles = fs.readdirSync(path.join(ROOT, 'lib'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

    // WHEN
    const offenders = libFiles.filter(
      (f) => f !== path.join('private', 'handler-contract.ts') && relativeImports(path.join(ROOT, 'lib', f)).some((i) => i.includes('lambda/')),
    );

    // THEN
    expect(offenders).toEqual([]);
  });

  test('the handler modules lib/ imports at runtime are plain constants and pure functions', () => {
    // GIVEN: the modules handler-contract.ts re-exports values from
    const modules = ['lambda/resource-contract.ts', 'lambda/retention/contract.ts', 'lambda/engine/key-filter.ts', 'lambda/engine/retention-policy.ts'];

    // WHEN: their runtime imports (type-only imports vanish from the emitted JavaScript)
    const runtimeImports = modules.flatMap((m) =>
      [...fs.readFileSync(path.join(ROOT, m), 'utf8').matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map((i) => `${m} -> ${i[1]}`),
    );

    // THEN: nothing but picomatch (bundled) and each other
    expect(runtimeImports).toEqual(['lambda/engine/key-filter.ts -> picomatch', 'lambda/engine/retention-policy.ts -> ./key-filter']);
  });
});

/**
 * The bindings jsii-pacmak generates from the assembly (.jsii, written by
 * `npm run build`) for every target in package.json. Code only: building
 * the wheel, jar, nupkg and Go module needs registries and toolchains that
 * tests do not reach (see README.md, "Install").
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
let out: string;

/** Keyword-only parameters of a Python class's __init__, read with Python's own parser. */
function pythonInitParameters(file: string, className: string): string[] {
  const script = [
    'import ast, json, sys',
    'tree = ast.parse(open(sys.argv[1]).read())',
    'cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == sys.argv[2])',
    "init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == '__init__')",
    'print(json.dumps([a.arg for a in init.args.kwonlyargs]))',
  ].join('\n');
  const result = spawnSync('python3', ['-c', script, file, className], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as string[];
}

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'pacmak-'));
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'jsii-pacmak'), ['--code-only', '--outdir', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    // pacmak packs this package with `npm pack`: npm test has just built it, so skip the prepare build.
    env: { ...process.env, npm_config_ignore_scripts: 'true', JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
  });
  expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
}, 300_000);

describe('generated Python package', () => {
  const pythonModule = () => path.join(out, 'python', 'src', 'cdk_version_purger', '__init__.py');

  test('is distributed as cdk-version-purger and imported as cdk_version_purger', () => {
    // GIVEN / WHEN
    const setup = fs.readFileSync(path.join(out, 'python', 'setup.py'), 'utf8');

    // THEN
    expect(setup).toMatch(/"name": "cdk-version-purger"/);
    expect(fs.existsSync(pythonModule())).toBe(true);
  });

  test('VersionPurger takes scope, id and the props as snake_case keywords', () => {
    // GIVEN / WHEN
    const parameters = pythonInitParameters(pythonModule(), 'VersionPurger');

    // THEN
    expect(parameters).toEqual([
      'bucket',
      'bypass_governance_retention',
      'fence_writes',
      'log_retention',
      'max_concurrency',
      'memory_size',
      'purge_on_delete',
      'retention',
      'runtime',
      'service_timeout',
      'timeout',
    ]);
    expect(fs.readFileSync(pythonModule(), 'utf8')).toMatch(/class VersionPurger\(\s*_constructs_\w+\.Construct,/);
  });

  test('the structs and the metric enum are there, with Python names', () => {
    // GIVEN
    const source = fs.readFileSync(pythonModule(), 'utf8');

    // WHEN
    const retention = pythonInitParameters(pythonModule(), 'RetentionOptions');

    // THEN
    expect(retention).toEqual(expect.arrayContaining(['schedule', 'noncurrent_versions_older_than', 'keep_noncurrent_versions', 'dry_run_report_location']));
    expect(pythonInitParameters(pythonModule(), 'DryRunReportLocation')).toEqual(['bucket', 'prefix']);
    expect(source).toMatch(/class RetentionMetric\(enum\.Enum\):[\s\S]*VERSIONS_DELETED = "VERSIONS_DELETED"/);
  });
});

describe('other targets', () => {
  test('Java, .NET and Go sources are generated under the names package.json declares', () => {
    // GIVEN / WHEN / THEN
    expect(fs.existsSync(path.join(out, 'java', 'src', 'main', 'java', 'io', 'github', 'cdkversionpurger', 'VersionPurger.java'))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'java', 'pom.xml'), 'utf8')).toMatch(/<artifactId>cdk-version-purger<\/artifactId>/);
    expect(fs.existsSync(path.join(out, 'dotnet', 'CdkVersionPurger', 'CdkVersionPurger', 'VersionPurger.cs'))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'go', 'cdkversionpurger', 'go.mod'), 'utf8')).toMatch(
      /^module github\.com\/cdk-version-purger\/cdk-version-purger-go\/cdkversionpurger/,
    );
  });
});

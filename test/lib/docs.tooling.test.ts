import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// These tests read the jsii assembly (.jsii) that `npm run build` writes;
// npm test builds first.
const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
// jsii tools print a large banner on Node 20 (end of life); the project's
// development runtime is Node 20, so it is silenced for this major only.
const ENV = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

function run(tool: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(path.join(BIN, tool), args, { cwd: ROOT, env: ENV, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('API.md', () => {
  test('is what jsii-docgen writes for the current API (run "npm run docgen" after changing lib/)', () => {
    // GIVEN
    const fresh = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'docgen-')), 'API.md');

    // WHEN
    const { status, output } = run('jsii-docgen', ['-o', fresh]);

    // THEN
    expect({ status, output }).toMatchObject({ status: 0 });
    expect(fs.readFileSync(path.join(ROOT, 'API.md'), 'utf8')).toBe(fs.readFileSync(fresh, 'utf8'));
  });
});

describe('README examples', () => {
  test('every TypeScript example in the README and in the TSDoc compiles with jsii-rosetta (strict)', () => {
    // GIVEN: no translations cached from an earlier run
    const tablet = path.join(ROOT, '.jsii.tabl.json');
    fs.rmSync(tablet, { force: true });
    const readmeExamples = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').match(/^```ts\b/gm) ?? [];

    // WHEN
    const { status, output } = run('jsii-rosetta', ['extract', '--strict']);

    // THEN: rosetta compiled each one (the README's, plus the @example of VersionPurger) and translated it to Python
    expect({ status, output }).toMatchObject({ status: 0 });
    const snippets = Object.values(JSON.parse(fs.readFileSync(tablet, 'utf8')).snippets) as Array<{
      didCompile: boolean;
      translations: Record<string, { source: string }>;
    }>;
    expect(readmeExamples.length).toBeGreaterThanOrEqual(3);
    expect(snippets).toHaveLength(readmeExamples.length + 1);
    for (const snippet of snippets) {
      expect(snippet.didCompile).toBe(true);
      expect(snippet.translations.python.source).toContain('from cdk_version_purger import');
    }
  });
});

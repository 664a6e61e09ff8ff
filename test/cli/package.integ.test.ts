/**
 * The package as a user gets it: `npm pack`, then `npm install` of the
 * tarball into an empty directory, offline. The CLI needs nothing but the
 * package; the construct library needs its CDK peers, which are linked from
 * this repository instead of installed (they are large, and tests stay offline).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { TEST_CREDENTIALS } from '../support/cli';
import { createBucket, fill, listAll, testClient, testEndpoint, uniqueBucketName } from '../support/s3';

const ROOT = join(__dirname, '..', '..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

let app: string;
let installed: string;
let shipped: string[];
let setup: S3Client;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const out = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  if (out.error) throw out.error;
  return out;
}

beforeAll(() => {
  setup = testClient();
  // `npm test` has just built dist/ and assets/; --ignore-scripts skips the prepare build.
  const packDir = mkdtempSync(join(tmpdir(), 'vp-pack-'));
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], ROOT);
  expect(pack.status).toBe(0);
  const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  shipped = packed.files.map((f) => f.path).sort();

  app = mkdtempSync(join(tmpdir(), 'vp-app-'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true }));
  // --legacy-peer-deps: the CDK peers are not fetched (linked below); --offline: nothing comes from a registry.
  const install = run('npm', ['install', join(packDir, packed.filename), '--legacy-peer-deps', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  expect(install.stderr).not.toMatch(/npm error/);
  expect(install.status).toBe(0);
  installed = join(app, 'node_modules', PACKAGE.name);
}, 180_000);

/** The installed binary, run the way npm links it. */
function versionPurger(...args: string[]): SpawnSyncReturns<string> {
  const env = { PATH: process.env.PATH, HOME: app, ...TEST_CREDENTIALS };
  return run(join(app, 'node_modules', '.bin', 'version-purger'), args, app, env);
}

describe('the installed CLI, with no CDK peer installed', () => {
  test('version-purger --help and --version work', () => {
    const help = versionPurger('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: version-purger/);
    const version = versionPurger('--version');
    expect(version.status).toBe(0);
    expect(version.stdout).toBe(`${PACKAGE.version}\n`);
  });

  test('version-purger purges a bucket on the local S3', async () => {
    // GIVEN
    const bucket = await createBucket(setup, uniqueBucketName('installed'));
    await fill(setup, bucket, ['a', 'b/c'], 2);
    // WHEN
    const purge = versionPurger('purge', '--bucket', bucket, '--endpoint', testEndpoint(), '--json');
    // THEN
    expect(purge.stderr).toBe('');
    expect(purge.status).toBe(0);
    expect(JSON.parse(purge.stdout)).toMatchObject({ bucket, deleted: 4, failed: 0, resumeToken: null });
    expect(await listAll(setup, bucket)).toEqual([]);
  });
});

describe('the installed package with its CDK peers', () => {
  beforeAll(() => {
    for (const peer of ['aws-cdk-lib', 'constructs']) symlinkSync(join(ROOT, 'node_modules', peer), join(app, 'node_modules', peer));
  });

  test('ships the CLI bundle, the handler bundle, the library and LICENSE, and no module that cannot load', () => {
    expect(shipped).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/bin/cli.js', 'assets/handler/index.js', 'dist/lib/index.js', 'dist/lib/index.d.ts']));
    expect(shipped.filter((f) => f.startsWith('dist/bin/'))).toEqual(['dist/bin/cli.js']);
    expect(shipped).not.toContain('dist/lambda/handler.js');
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  test('ships the jsii assembly that Construct Hub and the other CDK languages read', () => {
    expect(shipped).toContain('.jsii');
    const assembly = JSON.parse(readFileSync(join(installed, '.jsii'), 'utf8')) as { name: string; version: string; types: object; bundled: object };
    expect(assembly).toMatchObject({ name: PACKAGE.name, version: PACKAGE.version, bundled: { picomatch: expect.any(String) } });
    expect(Object.keys(assembly.types)).toContain(`${PACKAGE.name}.VersionPurger`);
  });

  test('every JavaScript file it ships loads, with only the CDK peers added', () => {
    const js = shipped.filter((f) => f.endsWith('.js'));
    const check = `for (const f of ${JSON.stringify(js)}) require(require('path').join(${JSON.stringify(installed)}, f));`;
    const loaded = run(process.execPath, ['-e', check], app);
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
  });

  test('a CDK app synthesizes a VersionPurger from the installed package, with its handler asset', () => {
    const script = `
      const { App, Stack, RemovalPolicy } = require('aws-cdk-lib');
      const s3 = require('aws-cdk-lib/aws-s3');
      const { VersionPurger } = require('${PACKAGE.name}');
      const app = new App({ outdir: ${JSON.stringify(join(app, 'cdk.out'))} });
      const stack = new Stack(app, 'Fresh');
      new VersionPurger(stack, 'Purger', { bucket: new s3.Bucket(stack, 'Bucket', { versioned: true, removalPolicy: RemovalPolicy.DESTROY }) });
      const template = app.synth().getStackByName('Fresh').template;
      console.log(JSON.stringify(Object.values(template.Resources).map((r) => r.Type)));`;
    const synth = run(process.execPath, ['-e', script], app);
    expect(synth.stderr).toBe('');
    expect(JSON.parse(synth.stdout)).toEqual(expect.arrayContaining(['AWS::Lambda::Function', 'Custom::VersionPurger']));
  }, 120_000);
});
